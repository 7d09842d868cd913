// Reads the YAML config and validates it (step one), reporting each problem as file:line:column, field path and what was expected.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, type RawConfig } from './schema.js';
import { referenceProblems } from './references.js';

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(problem: ConfigProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return problem.path ? `${where}: ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

export interface LoadedConfig {
  raw: RawConfig;
  /** Path of the file, or null for the built-in demo. */
  file: string | null;
  /** SHA-256 of the file's bytes: the config version that ledger entries cite. */
  version: string;
}

/** Parse and validate YAML text; throws ConfigError listing every problem. */
export function parseConfigText(text: string, file: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(document.errors.map((error) => {
      // With prettyErrors off the parser gives offsets, not lines: the line counter turns them into positions.
      const position = lineCounter.linePos(error.pos[0]);
      let message = error.message.split('\n')[0] ?? error.message;
      // `store: sqlite::memory:` and `a: b: c`: a colon and a space (or a line end) inside a plain value starts a map.
      if (error.code === 'BLOCK_AS_IMPLICIT_KEY') message += `; a value with ": " in it or ending in ":" must be quoted, e.g. store: "sqlite::memory:"`;
      return { file, line: position.line, column: position.col, path: '', message };
    }));
  }
  let data: unknown;
  try {
    data = document.toJS() ?? {};
  } catch (error) {
    // The parser refuses to expand an alias bomb ("billion laughs"): a config problem, not a crash.
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: (error as Error).message }]);
  }
  const result = configSchema.safeParse(data);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => problemFromIssue(issue, document, lineCounter, file)));
  }
  const references = referenceProblems(result.data);
  if (references.length > 0) {
    throw new ConfigError(references.map((problem) => {
      const { line, column } = locate(document, lineCounter, problem.path, false);
      return { file, line, column, path: formatPath(problem.path), message: problem.message };
    }));
  }
  const version = createHash('sha256').update(text).digest('hex');
  return { raw: result.data, file, version };
}

export function loadConfigFile(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read the config: ${reason}` }]);
  }
  return parseConfigText(text, file);
}

export function problemFromIssue(issue: z.core.$ZodIssue, document: Document, lineCounter: LineCounter, file: string): ConfigProblem {
  let path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    // Point at the unknown key itself, not at the object holding it.
    const keys = issue.keys;
    message = `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((key) => `"${key}"`).join(', ')} (check the spelling; unknown fields are errors)`;
    if (keys.length === 1) path = [...path, keys[0]!];
  } else if (issue.code === 'invalid_type') {
    message = `expected ${issue.expected}${issue.message.includes('received') ? `, ${issue.message.split(', ').slice(1).join(', ')}` : ''}`;
  }
  const { line, column } = locate(document, lineCounter, path, issue.code === 'unrecognized_keys');
  return { file, line, column, path: formatPath(path), message };
}

/** Find the line and column of a path in the YAML document, falling back to the nearest existing parent. */
function locate(document: Document, lineCounter: LineCounter, path: (string | number)[], atKey: boolean): { line: number; column: number } {
  let node: unknown = document.contents;
  let offset = 0;
  for (let index = 0; index < path.length; index++) {
    const part = path[index]!;
    if (isMap(node)) {
      const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      const last = index === path.length - 1;
      const keyNode = pair.key as { range?: [number, number, number] } | null;
      const valueNode = pair.value as { range?: [number, number, number] } | null;
      const target = last && atKey ? keyNode : (valueNode ?? keyNode);
      offset = target?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as { range?: [number, number, number] } | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const position = lineCounter.linePos(offset);
  return { line: position.line, column: position.col };
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}
