// Ledger entries: validation, RFC 8785 (JCS) canonical bytes, leaf hashes, and the body hash helper.
import { hash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { hashLeaf, toHex } from '../core/merkle.js';
import { LedgerEntryError } from './errors.js';
import type { LedgerEntry, LedgerEntryInput } from './types.js';

/** Hex SHA-256 of a request or response body, as the bytes were sent (strings hash as UTF-8). */
export function hashBody(body: Uint8Array | string): string {
  // One-shot: a third cheaper than createHash for request-sized bodies.
  return hash('sha256', body, 'hex');
}

// The package is CommonJS (module.exports = serialize) while its typings declare an ES default export; under NodeNext
// the default import is module.exports, the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** RFC 8785 canonical JSON by the `canonicalize` package: the definition verification uses. */
export function referenceCanonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new LedgerEntryError('entry cannot be serialised as JSON');
  return text;
}

const integerLikeKey = /^[0-9]+$/;
const circular = 'entry is circular or nested too deeply for JSON';

/**
 * One canonicalisation: a copy of a value that JSON.stringify, without a replacer (V8's fast path), writes as RFC 8785
 * text. Objects get their keys in sorted (UTF-16 code unit) order; plain objects whose keys are already sorted and
 * whose values need no change are reused, not copied. toJSON is honoured as JSON.stringify does. Strings and numbers
 * are written by JSON.stringify as ECMAScript does, like the package. V8 lists integer-like keys first whatever the
 * insertion order (and "__proto__" cannot be copied as a plain key), so such objects go to the package. It refuses
 * what JSON cannot carry faithfully, naming the key (the package would throw on non-finite numbers and write invalid
 * text for functions); the whole value is checked before the package is used.
 */
class Canonicaliser {
  /** Objects and arrays being visited, to refuse cycles. */
  private readonly ancestors: object[] = [];
  /** Set when an object has a key only the package orders correctly; the copy is then incomplete. */
  needsReference = false;

  value(value: unknown, key: string | number): unknown {
    switch (typeof value) {
      case 'string':
      case 'boolean':
      case 'undefined':
        return value;
      case 'number':
        if (!Number.isFinite(value)) throw new LedgerEntryError(`"${key}" is ${value}, which JSON cannot hold`);
        return value;
      case 'object': {
        if (value === null) return null;
        const toJson = (value as { toJSON?: unknown }).toJSON;
        // Once, as JSON.stringify does: what toJSON returns is canonicalised but not asked for its own toJSON.
        const replaced = typeof toJson === 'function' ? toJson.call(value, String(key)) : value;
        if (replaced === null || typeof replaced !== 'object') return this.value(replaced, key);
        if (this.ancestors.includes(replaced)) throw new LedgerEntryError(circular);
        this.ancestors.push(replaced);
        const copy = Array.isArray(replaced) ? this.array(replaced) : this.object(replaced as Record<string, unknown>);
        this.ancestors.pop();
        return copy;
      }
      case 'bigint': {
        // JSON.stringify asks a bigint for toJSON too (some programs define BigInt.prototype.toJSON).
        const toJson = (value as unknown as { toJSON?: unknown }).toJSON;
        if (typeof toJson === 'function') return this.value(toJson.call(value, String(key)), key);
        throw new LedgerEntryError(`"${key}" is a bigint, which JSON cannot hold`);
      }
      default:
        throw new LedgerEntryError(`"${key}" is a ${typeof value}, which JSON cannot hold`);
    }
  }

  private array(array: readonly unknown[]): unknown[] {
    let copy: unknown[] | undefined;
    for (let index = 0; index < array.length; index += 1) {
      const item = array[index];
      const canonical = this.value(item, index);
      if (copy !== undefined) copy.push(canonical);
      else if (canonical !== item) {
        copy = array.slice(0, index);
        copy.push(canonical);
      }
    }
    return copy ?? (array as unknown[]);
  }

  private object(object: Record<string, unknown>): Record<string, unknown> {
    const ownKeys = Object.keys(object);
    const prototype = Object.getPrototypeOf(object) as unknown;
    const sorted = isSorted(ownKeys);
    const keys = sorted ? ownKeys : objectKeys.sorted(ownKeys);
    // Only a plain object is written by JSON.stringify exactly as its keys and values (a Number object is not).
    let copy: Record<string, unknown> | undefined = !sorted || (prototype !== Object.prototype && prototype !== null) ? {} : undefined;
    for (let position = 0; position < keys.length; position += 1) {
      const name = keys[position];
      this.checkKey(name);
      const item = object[name];
      const canonical = this.value(item, name);
      if (copy !== undefined) copy[name] = canonical;
      else if (canonical !== item) {
        copy = {};
        for (let before = 0; before < position; before += 1) copy[keys[before]] = object[keys[before]];
        copy[name] = canonical;
      }
    }
    return copy ?? object;
  }

  /** The root of an entry: the input's fields with `seq` and `time` set, always a fresh object (the stored entry). */
  entry(input: LedgerEntryInput, seq: number, time: string): Record<string, unknown> {
    const keys = entryKeys.sorted(Object.keys(input));
    this.ancestors.push(input);
    const entry: Record<string, unknown> = {};
    for (const name of keys) {
      this.checkKey(name);
      entry[name] = name === 'seq' ? seq : name === 'time' ? time : this.value(input[name], name);
    }
    return entry;
  }

  private checkKey(name: string): void {
    const first = name.charCodeAt(0);
    if ((first >= 0x30 && first <= 0x39 && integerLikeKey.test(name)) || name === '__proto__') {
      this.needsReference = true;
    }
  }
}

/**
 * Sorted key lists of the object shapes seen last. Sorting is the costliest step of a copy, and entries of one kind
 * share their shapes (the same keys in the same order), so a list is sorted once and found again by comparing key
 * lists (property names are internalised strings: each comparison is a pointer comparison).
 */
class SortedKeysCache {
  private readonly shapes: { keys: readonly string[]; sorted: readonly string[] }[] = [];
  private next = 0;

  constructor(private readonly sort: (keys: readonly string[]) => string[]) {}

  /** The sorted list for these keys; shared, so never modified. */
  sorted(keys: readonly string[]): readonly string[] {
    for (const shape of this.shapes) if (sameKeys(shape.keys, keys)) return shape.sorted;
    const sorted = this.sort(keys);
    if (keys.length <= maxCachedKeys) {
      this.shapes[this.next] = { keys, sorted };
      this.next = (this.next + 1) % shapeCacheSize;
    }
    return sorted;
  }
}

const shapeCacheSize = 32;
const maxCachedKeys = 64;
const objectKeys = new SortedKeysCache((keys) => [...keys].sort());
/** An entry's keys: the input's, with `seq` and `time` (which the store sets). */
const entryKeys = new SortedKeysCache((keys) => [...keys.filter((name) => name !== 'seq' && name !== 'time'), 'seq', 'time'].sort());

function sameKeys(left: readonly string[], right: readonly string[]): boolean {
  if (left.length !== right.length) return false;
  for (let position = 0; position < left.length; position += 1) if (left[position] !== right[position]) return false;
  return true;
}

function isSorted(keys: readonly string[]): boolean {
  for (let position = 1; position < keys.length; position += 1) if (keys[position - 1] > keys[position]) return false;
  return true;
}

/** Turn a stack overflow (nesting too deep for JSON, in the copy or in the package) into the caller's error. */
function refusingDeepValues(error: unknown): never {
  if (error instanceof RangeError) throw new LedgerEntryError(circular);
  throw error;
}

/**
 * RFC 8785 canonical JSON of an entry: the exact bytes whose leaf hash goes into the tree. Native JSON.stringify of a
 * key-sorted copy on the hot path (it yields flat strings, fast to hash); tests check it against the package, and
 * `verifyLedger` and `verifyBundle` recompute with the package.
 * Throws LedgerEntryError for values JSON cannot carry (NaN, Infinity, bigint, functions, symbols, cycles).
 */
export function canonicalEntryJson(entry: LedgerEntry | Record<string, unknown>): string {
  const canonicaliser = new Canonicaliser();
  let text: string | undefined;
  try {
    const copy = canonicaliser.value(entry, '');
    text = canonicaliser.needsReference ? referenceCanonicalJson(entry) : JSON.stringify(copy);
  } catch (error) {
    refusingDeepValues(error);
  }
  if (text === undefined) throw new LedgerEntryError('entry cannot be serialised as JSON');
  return text;
}

/** Hex leaf hash of an entry: SHA-256(0x00 || JCS(entry)). */
export function entryLeafHash(entry: LedgerEntry | Record<string, unknown>): string {
  return toHex(hashLeaf(canonicalEntryJson(entry)));
}

const reservedOptionalStrings = ['department', 'key', 'user'] as const;

/** An entry as a store commits it, with its canonical text (the leaf's data). */
export interface PreparedEntry {
  /** The entry as stored: what JSON writes of each field (a Date field is its ISO string). */
  entry: LedgerEntry;
  /** RFC 8785 canonical JSON of `entry`. */
  json: string;
}

/**
 * Build the entry a store commits, and its canonical text, in one pass: the caller's fields plus `seq` and a
 * normalised ISO `time` (`now`, a Date or an ISO string from Date.toISOString, is used when the input has no time).
 * Throws LedgerEntryError for bad fields and for values JSON cannot carry faithfully (NaN, Infinity, bigint,
 * functions, symbols, cycles).
 */
export function prepareEntry(input: LedgerEntryInput, seq: number, now: Date | string): PreparedEntry {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new LedgerEntryError('an entry must be a JSON object');
  if (typeof input.kind !== 'string' || input.kind.length === 0) throw new LedgerEntryError('an entry needs a non-empty "kind"');
  if ('seq' in input && input.seq !== undefined) throw new LedgerEntryError('"seq" is assigned by the ledger; do not pass it');
  for (const field of reservedOptionalStrings) {
    const value = input[field];
    if (value !== undefined && value !== null && typeof value !== 'string') throw new LedgerEntryError(`"${field}" must be a string`);
  }
  // A batch shares one clock reading, passed as an ISO string so it is formatted once.
  const time = input.time === undefined && typeof now === 'string' ? now : normaliseTime(input.time ?? now);
  const canonicaliser = new Canonicaliser();
  try {
    const entry = canonicaliser.entry(input, seq, time) as LedgerEntry;
    if (!canonicaliser.needsReference) return { entry, json: JSON.stringify(entry) };
    // Keys V8 cannot keep in order: the package writes the text, and the stored entry is what the text says.
    const json = referenceCanonicalJson({ ...input, seq, time });
    return { entry: JSON.parse(json) as LedgerEntry, json };
  } catch (error) {
    return refusingDeepValues(error);
  }
}

function normaliseTime(value: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) throw new LedgerEntryError('"time" must be an ISO 8601 time or a Date');
  return date.toISOString();
}

/**
 * Parse stored entry JSON. Text that no longer parses (someone edited the database) yields a stand-in entry of kind
 * "unreadable" so listings keep working; verification works from the stored text and reports it.
 */
export function parseEntryJson(json: string, seq: number): LedgerEntry {
  try {
    return JSON.parse(json) as LedgerEntry;
  } catch {
    return { seq, time: '', kind: 'unreadable', error: 'the stored entry JSON does not parse' };
  }
}
