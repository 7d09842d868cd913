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

function checkValue(policy: TagPolicy, key: string, value: string): void {
  if (!policy.keys.has(key)) {
    const allowed = policy.keys.size === 0 ? 'no tags are configured' : `allowed: ${[...policy.keys].join(', ')}`;
    throw invalid(`Unknown tag "${key}" (${allowed}).`, key);
  }
  if (value.length === 0) throw invalid(`Tag "${key}" has an empty value.`, key);
  if (value.length > policy.maxValueLength) throw invalid(`Tag "${key}" is longer than ${policy.maxValueLength} characters.`, key);
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
  const found = new Map<string, string>();
  if (typeof metadata === 'object' && metadata !== null && policy.keys.size > 0) {
    for (const key of policy.keys) {
      const value = (metadata as Record<string, unknown>)[key];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') throw invalid(`Tag "${key}" in metadata must be a string.`, key);
      checkValue(policy, key, value);
      found.set(key, value);
    }
  }
  if (header !== undefined) {
    for (const pair of header.split(',')) {
      if (pair.trim() === '') continue;
      const equals = pair.indexOf('=');
      if (equals < 0) throw new CovenantError('invalid_request', `${tagsHeader} takes key=value pairs separated by commas; "${pair.trim()}" has no "=".`, { param: tagsHeader });
      const key = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      checkValue(policy, key, value);
      found.set(key, value);
    }
  }
  if (found.size === 0) return null;
  if (found.size > policy.maxCount) throw new CovenantError('invalid_request', `A request carries at most ${policy.maxCount} tags; this one has ${found.size}.`, { param: tagsHeader });
  return Object.fromEntries([...found].sort(([first], [second]) => (first < second ? -1 : first > second ? 1 : 0)));
}

/** The tags of a request already refused (perhaps for a bad tag): its tags when they are valid, else null. */
export function parseTagsLeniently(header: string | undefined, metadata: unknown, policy: TagPolicy): Tags | null {
  try {
    return parseTags(header, metadata, policy);
  } catch {
    return null;
  }
}
