// The bounded recency map: its capacity, which entry it drops, and expiry from the oldest end, against a plain model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecencyMap } from '../src/core/recency-map.js';

/** The same map as an array, least recently used first: obviously right, slow. */
class ReferenceRecency {
  entries: [string, number][] = [];
  constructor(readonly capacity: number) {}
  get(key: string): number | undefined {
    const index = this.entries.findIndex(([each]) => each === key);
    if (index < 0) return undefined;
    const [entry] = this.entries.splice(index, 1);
    this.entries.push(entry);
    return entry[1];
  }
  peek(key: string): number | undefined {
    return this.entries.find(([each]) => each === key)?.[1];
  }
  set(key: string, value: number): void {
    const index = this.entries.findIndex(([each]) => each === key);
    if (index >= 0) this.entries.splice(index, 1);
    else if (this.entries.length >= this.capacity) this.entries.shift();
    this.entries.push([key, value]);
  }
  delete(key: string): boolean {
    const index = this.entries.findIndex(([each]) => each === key);
    if (index >= 0) this.entries.splice(index, 1);
    return index >= 0;
  }
}

describe('RecencyMap', () => {
  it('holds at most its capacity, dropping the least recently used', () => {
    const recent = new RecencyMap<string, number>(3);
    recent.set('a', 1);
    recent.set('b', 2);
    recent.set('c', 3);
    expect(recent.get('a')).toBe(1); // a is now the most recent: b is the oldest
    recent.set('d', 4);
    expect(recent.size).toBe(3);
    expect(recent.has('b')).toBe(false);
    expect([recent.peek('a'), recent.peek('c'), recent.peek('d')]).toEqual([1, 3, 4]);
    expect(recent.oldest()).toMatchObject({ key: 'c', value: 3 });
  });

  it('reads without reordering through peek, and updates a value in place as the most recent', () => {
    const recent = new RecencyMap<string, number>(2);
    recent.set('a', 1);
    recent.set('b', 2);
    expect(recent.peek('a')).toBe(1);
    recent.set('c', 3); // a was only peeked: it goes
    expect(recent.has('a')).toBe(false);
    recent.set('b', 20);
    recent.set('d', 4); // b was set again after c: c goes
    expect(recent.peek('b')).toBe(20);
    expect(recent.has('c')).toBe(false);
  });

  it('expires from the oldest end: what a caller drops by age leaves the rest in order', () => {
    const lastSeen = new RecencyMap<string, number>(100);
    for (let index = 0; index < 10; index += 1) lastSeen.set(`counter${index}`, index * 1000);
    lastSeen.get('counter0');
    lastSeen.set('counter0', 20_000); // seen again, late
    for (let oldest = lastSeen.oldest(); oldest && oldest.value < 5000; oldest = lastSeen.oldest()) lastSeen.delete(oldest.key);
    expect(lastSeen.size).toBe(6);
    expect(lastSeen.oldest()?.key).toBe('counter5');
    expect(lastSeen.peek('counter0')).toBe(20_000);
    lastSeen.clear();
    expect(lastSeen.size).toBe(0);
    expect(lastSeen.oldest()).toBeUndefined();
  });

  it('matches a plain list under any sequence of operations', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 12 }), value: fc.integer() }),
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('peek' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
    );
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(operation, { maxLength: 80 }), (capacity, operations) => {
      const recent = new RecencyMap<string, number>(capacity);
      const reference = new ReferenceRecency(capacity);
      for (const step of operations) {
        const key = `k${step.key}`;
        if (step.kind === 'set') {
          recent.set(key, step.value);
          reference.set(key, step.value);
        } else {
          expect(recent[step.kind](key)).toEqual(reference[step.kind](key));
        }
        expect(recent.size).toBe(reference.entries.length);
        expect(recent.oldest()?.key).toBe(reference.entries[0]?.[0]);
      }
      // Draining from the oldest end gives the reference's order.
      const order: string[] = [];
      for (let oldest = recent.oldest(); oldest; oldest = recent.oldest()) {
        order.push(oldest.key);
        recent.delete(oldest.key);
      }
      expect(order).toEqual(reference.entries.map(([key]) => key));
    }));
  });

  it('refuses a capacity below one', () => {
    expect(() => new RecencyMap(0)).toThrow(RangeError);
  });
});
