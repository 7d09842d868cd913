// If-Match parsing (RFC 9110 §13.1.1): *, lists, weak tags, repeated headers, malformed values, and bounded work on long input.
import { describe, expect, it } from 'vitest';
import { CovenantError } from '../src/core/errors.js';
import { entityTag, ifMatchRevisions } from '../src/gateway/entity-tag.js';

describe('ifMatchRevisions', () => {
  it('puts no condition for an absent or empty header, nor for *', () => {
    expect(ifMatchRevisions(undefined)).toBeNull();
    expect(ifMatchRevisions('')).toBeNull();
    expect(ifMatchRevisions(' * ')).toBeNull();
  });

  it('reads the revisions of strong tags, in lists and repeated headers, and none from weak or foreign tags', () => {
    expect(ifMatchRevisions(entityTag(7))).toEqual([7]);
    expect(ifMatchRevisions('"3" ,"4", ,')).toEqual([3, 4]);
    expect(ifMatchRevisions(['"3"', '"5"'])).toEqual([3, 5]);
    expect(ifMatchRevisions('W/"3"')).toEqual([]);
    expect(ifMatchRevisions('"abc", "0", "03", "a,b"')).toEqual([]);
  });

  it('refuses a value that is not a list of quoted tags with a 400 naming If-Match', () => {
    for (const header of ['3', '"3', '"3" "4"', '*, "3"', 'W/3']) {
      let thrown: unknown;
      try {
        ifMatchRevisions(header);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, header).toBeInstanceOf(CovenantError);
      expect((thrown as CovenantError).status).toBe(400);
      expect((thrown as CovenantError).message).toContain('If-Match');
    }
  });

  it('reads a long header: a damaged one is refused, a list of ten thousand tags is read whole', () => {
    expect(() => ifMatchRevisions(`"1"${' ,'.repeat(50_000)}x${', '.repeat(50_000)}`)).toThrow(CovenantError);
    expect(ifMatchRevisions(Array.from({ length: 10_000 }, (_, index) => `"${index + 1}"`).join(', '))).toHaveLength(10_000);
  });
});
