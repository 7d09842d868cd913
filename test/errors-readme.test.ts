// The README's error table against the error registry: every code with its HTTP status, both ways.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../src/core/errors.js';

interface DocumentedCode { status: number; when: string }

/** The rows of the table under "### Errors": code -> status and explanation; a code listed twice is an error. */
function documentedCodes(readme: string): Map<string, DocumentedCode> {
  const start = readme.indexOf('\n### Errors\n');
  if (start < 0) throw new Error('README.md has no "### Errors" section');
  const rest = readme.slice(start + 1);
  const next = rest.slice(1).search(/\n#{2,3} /);
  const section = next < 0 ? rest : rest.slice(0, next + 1);
  const codes = new Map<string, DocumentedCode>();
  for (const line of section.split('\n')) {
    const row = /^\|\s*(\d{3})\s*\|([^|]*)\|(.*)\|\s*$/.exec(line);
    if (!row) continue;
    const when = row[3]!.trim();
    for (const [, code] of row[2]!.matchAll(/`([a-z_]+)`/g)) {
      if (codes.has(code!)) throw new Error(`README.md lists ${code} twice in its error table`);
      codes.set(code!, { status: Number(row[1]), when });
    }
  }
  return codes;
}

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README error table', () => {
  const documented = documentedCodes(readme);
  const registry = Object.entries(errorCodes).map(([code, entry]) => [code, entry.status] as const);

  it('lists every code of the registry with its status', () => {
    const missing = registry.filter(([code]) => !documented.has(code)).map(([code]) => code);
    expect(missing, 'codes in src/core/errors.ts that the README does not list').toEqual([]);
    for (const [code, status] of registry) expect({ code, status: documented.get(code)?.status }).toEqual({ code, status });
  });

  it('lists no code the registry does not have, and explains each one', () => {
    const unknown = [...documented.keys()].filter((code) => !(code in errorCodes));
    expect(unknown, 'codes in the README that src/core/errors.ts does not define').toEqual([]);
    for (const [code, { when }] of documented) expect({ code, when: when.length > 0 }).toEqual({ code, when: true });
  });

  it('reads the table it claims to read', () => {
    // Guards the parser: a table it could not read would make the checks above pass on nothing.
    expect(documented.size).toBeGreaterThan(10);
    expect(documented.get('budget_exceeded')).toMatchObject({ status: 402 });
  });
});
