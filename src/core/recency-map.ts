// A map bounded by a capacity that drops its least recently used entry first, every operation O(1) at any size.

interface Entry<K, V> {
  key: K;
  value: V;
  /** The entry used just before this one (towards the oldest), and just after it (towards the newest). */
  older: Entry<K, V> | undefined;
  newer: Entry<K, V> | undefined;
}

/**
 * Entries in order of last use, kept in a list beside the Map instead of in the Map's own insertion order: moving an
 * entry to the newest end with Map delete + set leaves a deleted slot behind until V8 rehashes the table, and finding
 * the oldest entry with `keys().next()` steps over every such slot, so a full map used as a cache slows with its size.
 * @example
 * const recent = new RecencyMap<string, number>(2);
 * recent.set('a', 1); recent.set('b', 2); recent.get('a'); recent.set('c', 3); // drops 'b', the least recently used
 */
export class RecencyMap<K, V> {
  readonly #entries = new Map<K, Entry<K, V>>();
  #oldest: Entry<K, V> | undefined;
  #newest: Entry<K, V> | undefined;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`A RecencyMap holds at least one entry, not ${capacity}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value, marking its entry the most recently used. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#moveToNewest(entry);
    return entry.value;
  }

  /** The value, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Set the value as the most recently used; a new key past the capacity drops the least recently used entry. */
  set(key: K, value: V): void {
    const known = this.#entries.get(key);
    if (known !== undefined) {
      known.value = value;
      this.#moveToNewest(known);
      return;
    }
    const dropped = this.#entries.size >= this.capacity ? this.#oldest : undefined;
    let entry: Entry<K, V>;
    if (dropped !== undefined) {
      // The dropped entry becomes the new one: a full map under churn (an end user's counter each) allocates nothing.
      this.#unlink(dropped);
      this.#entries.delete(dropped.key);
      entry = dropped;
      entry.key = key;
      entry.value = value;
      entry.older = this.#newest;
    } else {
      entry = { key, value, older: this.#newest, newer: undefined };
    }
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
    this.#entries.set(key, entry);
  }

  delete(key: K): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#unlink(entry);
    this.#entries.delete(key);
    return true;
  }

  /** The least recently used entry, or undefined when empty; read it before the next set, which may reuse it. */
  oldest(): { readonly key: K; readonly value: V } | undefined {
    return this.#oldest;
  }

  clear(): void {
    this.#entries.clear();
    this.#oldest = undefined;
    this.#newest = undefined;
  }

  #moveToNewest(entry: Entry<K, V>): void {
    if (entry === this.#newest) return;
    this.#unlink(entry);
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest === undefined) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: Entry<K, V>): void {
    if (entry.older === undefined) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
}
