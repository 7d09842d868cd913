// Entity tags of admin records that carry a revision: the ETag a response names and the If-Match a write sends (RFC 9110 §8.8.3, §13.1.1).
import { CovenantError } from '../core/errors.js';

/** The strong ETag of a revision, quoted as RFC 9110 writes it: `entityTag(7)` is `"7"`. */
export function entityTag(revision: number): string {
  return `"${revision}"`;
}

// One element of an If-Match list: an optionally weak, quoted tag, then a comma or the end.
const listElement = /[\s,]*(W\/)?"([^"]*)"\s*(?:,|$)/y;

/**
 * The revisions an If-Match header accepts: null when there is no header or it is `*` (any current record), else
 * the revisions its strong tags name. A weak tag (`W/"7"`) or a tag that is not a revision names none, so a write
 * under it fails its precondition, as the strong comparison If-Match uses requires.
 *
 * @example ifMatchRevisions('"3", "4"') // [3, 4]
 */
export function ifMatchRevisions(header: string | string[] | undefined): number[] | null {
  // Node joins repeated If-Match headers with commas; empty list elements are allowed (RFC 9110 §5.6.1).
  const text = trimList(Array.isArray(header) ? header.join(', ') : (header ?? ''));
  if (text === '' || text === '*') return null;
  const revisions: number[] = [];
  listElement.lastIndex = 0;
  while (listElement.lastIndex < text.length) {
    const at = listElement.lastIndex;
    const element = listElement.exec(text);
    if (element === null) {
      throw new CovenantError('invalid_request', `If-Match must be * or quoted ETags such as "3" (the ETag a GET of the record gave); "${text.slice(at, at + 40)}" is not one.`);
    }
    if (element[1] === undefined && /^[1-9][0-9]{0,14}$/.test(element[2]!)) revisions.push(Number(element[2]));
  }
  return revisions;
}

/** The header without the whitespace and empty elements at either end (a loop: a regex anchored at the end backtracks on long input). */
function trimList(text: string): string {
  const filler = (character: string) => character === ',' || character.trim() === '';
  let start = 0;
  let end = text.length;
  while (start < end && filler(text[start]!)) start += 1;
  while (end > start && filler(text[end - 1]!)) end -= 1;
  return text.slice(start, end);
}
