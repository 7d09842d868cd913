// The config loader under bad input: mutated YAML, a wrong type at every field, alias bombs and deep nesting. Each is
// a ConfigError with a position (and the field's path for a wrong type), found quickly; never another exception.
// Guards: config/load.ts (parse errors, the strict schema, reference checks) and the yaml parser's alias limit.
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { demoConfigText, demoEnvironment } from '../src/config/demo.js';
import { ConfigError, parseConfigText } from '../src/config/load.js';
import { resolveConfig } from '../src/config/resolve.js';

/** Loads and resolves; returns 'ok' or the ConfigError. Anything else thrown fails the test. */
function load(text: string): 'ok' | ConfigError {
  try {
    resolveConfig(parseConfigText(text, 'covenant.yaml'), demoEnvironment);
    return 'ok';
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) {
        expect(problem.line).toBeGreaterThanOrEqual(1);
        expect(problem.message.length).toBeGreaterThan(0);
      }
      return error;
    }
    throw new Error(`not a ConfigError (${(error as Error).name}): ${(error as Error).message}\n--- config ---\n${text}`);
  }
}

describe('the config loader', () => {
  it('loads the demo config', () => {
    expect(load(demoConfigText)).toBe('ok');
  });

  it('mutated text: loaded or refused with a position', () => {
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'delete', 'replace'), character: fc.constantFrom(':', '-', ' ', '\n', '{', '}', '[', ']', '"', "'", '&', '*', '!', '#', '|', '>', '\t', '\u0000', 'x', '9') });
    fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
      let text = demoConfigText;
      for (const { at, kind, character } of edits) {
        const index = at % (text.length + 1);
        text = kind === 'insert' ? text.slice(0, index) + character + text.slice(index)
          : kind === 'delete' ? text.slice(0, index) + text.slice(index + 1)
            : text.slice(0, index) + character + text.slice(index + 1);
      }
      load(text);
    }), { numRuns: 400 });
  }, 60_000);

  it('a wrong type at any field is refused naming that field', () => {
    const document = parse(demoConfigText) as Record<string, unknown>;
    const leaves = (value: unknown, path: (string | number)[] = []): (string | number)[][] => {
      if (value === null || typeof value !== 'object') return [path];
      const entries = Array.isArray(value) ? value.map((child, index) => [index, child] as const) : Object.entries(value);
      return [...(path.length > 0 ? [path] : []), ...entries.flatMap(([key, child]) => leaves(child, [...path, key]))];
    };
    const wrong = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.boolean(), fc.constant([]), fc.constant({ x: 1 }), fc.constant('not-a-valid-value'));
    fc.assert(fc.property(fc.constantFrom(...leaves(document)), wrong, (path, value) => {
      const changed = structuredClone(document) as Record<string | number, unknown>;
      let parent = changed;
      for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
      if (JSON.stringify(parent[path.at(-1)!]) === JSON.stringify(value)) return;
      parent[path.at(-1)!] = value;
      const result = load(stringify(changed));
      if (result === 'ok') return; // some fields take that value too (a name, a number in range)
      const kind = (item: unknown) => (Array.isArray(item) ? 'array' : item === null ? 'null' : typeof item);
      // A value of the right type may break a reference elsewhere (a renamed provider): only a wrong type is checked here.
      let original: unknown = document;
      for (const part of path) original = (original as Record<string | number, unknown>)[part];
      if (kind(original) === kind(value)) return;
      // A schema or reference problem names a path; the changed field is inside it, or it names the changed field.
      const named = result.problems.map((problem) => problem.path).filter((text) => text !== '');
      const field = path.map(String).join('.');
      if (named.length > 0) expect(named.some((text) => { const dotted = text.replaceAll(/\[(\d+)\]/g, '.$1'); return field.startsWith(dotted) || dotted.startsWith(field) || dotted.includes(String(path.at(-1))); }), `${field} -> ${named.join(' | ')}`).toBe(true);
    }), { numRuns: 300 });
  }, 60_000);

  it('refuses an alias bomb and deep nesting quickly', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, index) => `${String.fromCharCode(98 + index)}: &${String.fromCharCode(98 + index)} [${Array(10).fill(`*${String.fromCharCode(97 + index)}`).join(',')}]`)].join('\n');
    let started = performance.now();
    expect(load(`${demoConfigText}\nextra:\n  ${bomb.replaceAll('\n', '\n  ')}\n`)).toBeInstanceOf(ConfigError);
    expect(performance.now() - started).toBeLessThan(2000);
    started = performance.now();
    expect(load(`${demoConfigText}\nextra: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)).toBeInstanceOf(ConfigError);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
