// Rolling sums over a time window in fixed buckets: adding and reading cost O(1) within a bucket, O(buckets) when time moves to the next.

/**
 * Sums of a few values over the last `spanMs` milliseconds, kept in `buckets` slots of spanMs / buckets each; a slot
 * older than the span is dropped as time moves past it. Times are passed in (no clock here).
 * @example const window = new RollingSums(3_600_000, 60, 2); window.add(now, [latency, 1]); window.totals(now)
 */
export class RollingSums {
  readonly #slotMs: number;
  readonly #slots: number[][];
  readonly #slotIndex: number[];
  readonly #totals: number[];
  /** The slot expiry last ran for: within one slot there is nothing new to drop. */
  #expiredAt = Number.NEGATIVE_INFINITY;

  constructor(spanMs: number, buckets: number, width: number) {
    this.#slotMs = Math.max(1, spanMs / buckets);
    this.#slots = Array.from({ length: buckets }, () => new Array<number>(width).fill(0));
    this.#slotIndex = new Array<number>(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#totals = new Array<number>(width).fill(0);
  }

  /** Drop every slot that fell out of the window ending at `now`. */
  #expire(now: number): void {
    const current = Math.floor(now / this.#slotMs);
    if (current === this.#expiredAt) return;
    this.#expiredAt = current;
    const oldest = current - this.#slots.length + 1;
    for (let position = 0; position < this.#slots.length; position++) {
      const index = this.#slotIndex[position]!;
      if (index >= oldest || index === Number.NEGATIVE_INFINITY) continue;
      const slot = this.#slots[position]!;
      for (let field = 0; field < slot.length; field++) {
        this.#totals[field]! -= slot[field]!;
        slot[field] = 0;
      }
      this.#slotIndex[position] = Number.NEGATIVE_INFINITY;
    }
  }

  add(now: number, values: readonly number[]): void {
    this.#expire(now);
    const current = Math.floor(now / this.#slotMs);
    const position = ((current % this.#slots.length) + this.#slots.length) % this.#slots.length;
    this.#slotIndex[position] = current;
    const slot = this.#slots[position]!;
    for (let field = 0; field < values.length; field++) {
      slot[field]! += values[field]!;
      this.#totals[field]! += values[field]!;
    }
  }

  /** The slots still in the window ending at `now`, for saving: each with its slot number (time / slot length). */
  saved(now: number): { index: number; values: number[] }[] {
    this.#expire(now);
    const slots: { index: number; values: number[] }[] = [];
    this.#slotIndex.forEach((index, position) => {
      if (index !== Number.NEGATIVE_INFINITY) slots.push({ index, values: [...this.#slots[position]!] });
    });
    return slots.sort((a, b) => a.index - b.index);
  }

  /** Add saved slots (of this span and slot count) back: sums of several savers of the same slot add up. */
  restore(slots: readonly { index: number; values: readonly number[] }[]): void {
    for (const { index, values } of slots) this.add(index * this.#slotMs, values);
  }

  /** The sums over the window ending at `now`: the window's own array, valid until the next add (copy it to keep it). */
  totals(now: number): readonly number[] {
    this.#expire(now);
    return this.#totals;
  }
}

/** The relative change of observed against expected totals (|observed − expected| / expected); 0 when nothing is expected. */
export function variance(observed: number, expected: number): number {
  return expected <= 0 ? 0 : Math.abs(observed - expected) / expected;
}
