// Entry canonicalisation: the fast serializer must produce exactly the RFC 8785 text of the `canonicalize` package.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalEntryJson, prepareEntry, referenceCanonicalJson } from '../src/ledger/entry.js';
import { LedgerEntryError } from '../src/ledger/errors.js';

// Keys that stress ordering: integer-like, unicode beyond the BMP (UTF-16 order differs from code point order), escapes.
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('0', '1', '10', '9', '01', '-1', '1.5', '\u20ac', '\ud83d\ude00', '\ufb33', '\r', '"', 'a\u0000b', '__proto__x', '__proto__', 'toJSONx'),
);
// Values JSON.stringify does not write as their own fields: toJSON (Dates, class instances), other prototypes.
class Money {
  constructor(readonly currency: string, readonly micros: number) {}
  toJSON() {
    return { units: this.micros, currency: this.currency };
  }
}
class Point {
  constructor(readonly y: number, readonly x: number) {}
}
const special = fc.oneof(
  fc.date(),
  fc.record({ currency: fc.string({ maxLength: 3 }), micros: fc.integer() }).map(({ currency, micros }) => new Money(currency, micros)),
  fc.tuple(fc.integer(), fc.integer()).map(([y, x]) => new Point(y, x)),
  fc.integer().map((value) => new Number(value)),
);
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 1e21, 1e-7, 5e-324, 2 ** 53, 0.1 + 0.2));
const { value: jsonLike } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    number,
    fc.string({ unit: 'binary', maxLength: 8 }),
    special,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    // Keys inserted in sorted order: the fast path reuses such objects instead of copying them.
    fc.dictionary(key, tie('value'), { maxKeys: 5 }).map((object) => Object.fromEntries(Object.entries(object).sort(([left], [right]) => (left < right ? -1 : 1)))),
  ),
}));

describe('canonicalEntryJson', () => {
  it('equals the canonicalize package on arbitrary objects (RFC 8785)', () => {
    fc.assert(
      fc.property(fc.dictionary(key, jsonLike, { maxKeys: 8 }), (object) => {
        expect(canonicalEntryJson(object)).toBe(referenceCanonicalJson(object));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts keys by UTF-16 code units and writes numbers as ECMAScript does (RFC 8785 §3.2.3 example)', () => {
    const object = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    expect(canonicalEntryJson(object)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(canonicalEntryJson({ numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000001, 1e-7, -0] })).toBe('{"numbers":[333333333.3333333,1e+30,4.5,0.002,0.000001,1e-7,0]}');
  });

  it('refuses values JSON cannot carry faithfully, naming the field', () => {
    expect(() => canonicalEntryJson({ cost: Number.NaN })).toThrow(/"cost" is NaN/);
    expect(() => canonicalEntryJson({ nested: { cost: Number.POSITIVE_INFINITY } })).toThrow(/"cost" is Infinity/);
    expect(() => canonicalEntryJson({ tokens: 10n as unknown as number })).toThrow(/"tokens" is a bigint/);
    expect(() => canonicalEntryJson({ callback: () => 1 })).toThrow(/"callback" is a function/);
    expect(() => canonicalEntryJson({ list: [Symbol('s')] })).toThrow(/symbol/);
    const circular: Record<string, unknown> = { kind: 'x' };
    circular.self = circular;
    expect(() => canonicalEntryJson(circular)).toThrow(/circular/);
    expect(canonicalEntryJson({ when: new Date(Date.UTC(2025, 0, 2)), skipped: undefined })).toBe('{"when":"2025-01-02T00:00:00.000Z"}');
    // Also inside objects whose integer-like keys send the text to the package, which would throw a bare Error or
    // write invalid JSON for them.
    expect(() => canonicalEntryJson({ counts: { '1': Number.NaN } })).toThrow(/"1" is NaN/);
    expect(() => canonicalEntryJson({ counts: { '2': () => 1 } })).toThrow(/"2" is a function/);
    let deep: unknown[] = [];
    for (let depth = 0; depth < 100_000; depth += 1) deep = [deep];
    expect(() => canonicalEntryJson({ deep })).toThrow(/nested too deeply/);
  });

  it('writes an own "__proto__" key as a key, like the package', () => {
    const object = JSON.parse('{"b":1,"__proto__":{"x":2},"a":3}') as Record<string, unknown>;
    expect(canonicalEntryJson(object)).toBe('{"__proto__":{"x":2},"a":3,"b":1}');
  });

  it('is refused already by prepareEntry, which stores build on before numbering an entry', () => {
    expect(() => prepareEntry({ kind: 'budget.changed', amount: Number.NaN }, 0, '2025-01-01T00:00:00.000Z')).toThrow(LedgerEntryError);
    expect(() => prepareEntry({ kind: 'budget.changed', hook: () => 1 }, 0, '2025-01-01T00:00:00.000Z')).toThrow(LedgerEntryError);
    const { entry } = prepareEntry({ kind: 'budget.changed', amount: 5, when: new Date(0) }, 3, '2025-01-01T00:00:00.000Z');
    expect(canonicalEntryJson(entry)).toBe(referenceCanonicalJson(entry));
    expect(canonicalEntryJson(entry)).toBe('{"amount":5,"kind":"budget.changed","seq":3,"time":"2025-01-01T00:00:00.000Z","when":"1970-01-01T00:00:00.000Z"}');
    expect(entry.when).toBe('1970-01-01T00:00:00.000Z');
  });

  it('prepares the stored entry and its canonical text in one pass, for any fields', () => {
    fc.assert(
      fc.property(fc.dictionary(key, jsonLike, { maxKeys: 8 }), (fields) => {
        const input = { ...fields, kind: 'test' };
        // Fields the ledger sets or checks are tested elsewhere.
        for (const reserved of ['seq', 'time', 'department', 'key', 'user']) delete input[reserved];
        const { entry, json } = prepareEntry(input, 7, '2025-01-01T00:00:00.000Z');
        expect(json).toBe(referenceCanonicalJson({ ...input, seq: 7, time: '2025-01-01T00:00:00.000Z' }));
        // The entry holds what the text says, so stores and callers see what was hashed.
        expect(JSON.parse(JSON.stringify(entry))).toEqual(JSON.parse(json));
      }),
      { numRuns: 1000 },
    );
  });
});
