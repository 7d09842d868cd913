// Cost attribution tags: parsed from the x-covenant-tags header and a body's metadata, bounded by the configured policy.
import { CovenantError } from './errors.js';

/** What the config allows: declared keys only, bounded values and count (an open tag space would grow without limit). */
export interface TagPolicy {
  keys: ReadonlySet<string>;
  maxValueLength: number;
  maxCount: number;
}

/** A request's tags, keys sorted (the ledger entry and every report see them in one order). */
export type Tags = Readonly<Record<string, string>>;

export const tagsHeader = 'x-covenant-tags';

function invalid(message: string, tag: string): CovenantError {
  return new CovenantError('invalid_request', message, { param: `tags.${tag}` });
}

/** What is wrong with one tag, if anything. */
function valueProblem(policy: TagPolicy, key: string, value: string): CovenantError | undefined {
  if (!policy.keys.has(key)) {
    const allowed = policy.keys.size === 0 ? 'no tags are configured' : `allowed: ${[...policy.keys].join(', ')}`;
    return invalid(`Unknown tag "${key}" (${allowed}).`, key);
  }
  if (value.length === 0) return invalid(`Tag "${key}" has an empty value.`, key);
  if (value.length > policy.maxValueLength) return invalid(`Tag "${key}" is longer than ${policy.maxValueLength} characters.`, key);
  return undefined;
}

/**
 * The tags of one request: the header's `key=value` pairs (comma-separated), plus the declared keys found in the body's
 * `metadata` (string values; other metadata is the provider's and left alone). The header wins where both name a key.
 * Returns null when there are none; throws invalid_request naming the offending tag.
 * @example parseTags('team=search,feature=autocomplete', undefined, policy) // { feature: 'autocomplete', team: 'search' }
 */
export function parseTags(header: string | undefined, metadata: unknown, policy: TagPolicy): Tags | null {
  // The common case costs one comparison: no header and no tag keys to look for in metadata.
  if (header === undefined && (policy.keys.size === 0 || metadata === undefined || metadata === null)) return null;
  return collect(header, metadata, policy, (error) => {
    throw error;
  });
}

/**
 * The tags of a request refused anyway (perhaps for a bad tag), for its ledger entry: the valid ones only, at most
 * `maxCount`, so a refusal records what it can without letting an unbounded tag into the ledger.
 */
export function parseTagsLeniently(header: string | undefined, metadata: unknown, policy: TagPolicy): Tags | null {
  if (header === undefined && (policy.keys.size === 0 || metadata === undefined || metadata === null)) return null;
  return collect(header, metadata, policy, () => undefined);
}

/** Gather the tags; `problem` throws (strict) or returns to skip the tag (lenient). */
function collect(header: string | undefined, metadata: unknown, policy: TagPolicy, problem: (error: CovenantError) => void): Tags | null {
  const found = new Map<string, string>();
  const add = (key: string, value: unknown, where: string) => {
    if (typeof value !== 'string') return problem(invalid(`Tag "${key}" in ${where} must be a string.`, key));
    const error = valueProblem(policy, key, value);
    if (error) return problem(error);
    found.set(key, value);
  };
  if (typeof metadata === 'object' && metadata !== null && policy.keys.size > 0) {
    for (const key of policy.keys) {
      const value = (metadata as Record<string, unknown>)[key];
      if (value !== undefined && value !== null) add(key, value, 'metadata');
    }
  }
  if (header !== undefined) {
    for (const pair of header.split(',')) {
      if (pair.trim() === '') continue;
      const equals = pair.indexOf('=');
      if (equals < 0) {
        problem(new CovenantError('invalid_request', `${tagsHeader} takes key=value pairs separated by commas; "${pair.trim()}" has no "=".`, { param: tagsHeader }));
        continue;
      }
      add(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim(), tagsHeader);
    }
  }
  if (found.size === 0) return null;
  let entries = [...found].sort(([first], [second]) => (first < second ? -1 : first > second ? 1 : 0));
  if (entries.length > policy.maxCount) {
    problem(new CovenantError('invalid_request', `A request carries at most ${policy.maxCount} tags; this one has ${entries.length}.`, { param: tagsHeader }));
    entries = entries.slice(0, policy.maxCount);
  }
  return Object.fromEntries(entries);
}
