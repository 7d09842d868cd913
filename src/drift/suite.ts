// Golden-dataset suites: JSONL, one item per line ({id, messages, expected?, tags?, safety?}), validated with line and field.
import { createHash } from 'node:crypto';
import { z } from 'zod';

const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(z.unknown())]).nullable(),
});

export const suiteItemSchema = z.strictObject({
  id: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  /** Text the answer should contain (case and spacing aside). */
  expected: z.string().min(1).optional(),
  tags: z.array(z.string()).optional(),
  /** Borderline-safety items: the model must refuse, or must answer. */
  safety: z.enum(['must_refuse', 'must_comply']).optional(),
});

export type SuiteItem = z.infer<typeof suiteItemSchema>;

export interface Suite {
  items: SuiteItem[];
  /** SHA-256 of the file's bytes, so a report names exactly which suite version it ran. */
  sha256: string;
}

/** An error in a suite file: `file:line: field: problem`. */
export class SuiteError extends Error {}

/**
 * Parse a JSONL suite; blank lines and lines starting with `//` or `#` are skipped. Every problem names its line and
 * field; duplicate ids are errors.
 * @example parseSuite(readFileSync('golden.jsonl', 'utf8'), 'golden.jsonl')
 */
export function parseSuite(text: string, file: string): Suite {
  const items: SuiteItem[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, index) => {
    const number = index + 1;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('//') || trimmed.startsWith('#')) return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      problems.push(`${file}:${number}: not JSON (${(error as Error).message})`);
      return;
    }
    const parsed = suiteItemSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${file}:${number}: ${issue.path.length > 0 ? issue.path.join('.') : '(item)'}: ${issue.message}`);
      return;
    }
    const previous = seen.get(parsed.data.id);
    if (previous !== undefined) {
      problems.push(`${file}:${number}: id: "${parsed.data.id}" is already the id of line ${previous}`);
      return;
    }
    seen.set(parsed.data.id, number);
    items.push(parsed.data);
  });
  if (problems.length > 0) throw new SuiteError(problems.join('\n'));
  if (items.length === 0) throw new SuiteError(`${file}: the suite has no items`);
  return { items, sha256: createHash('sha256').update(text).digest('hex') };
}
