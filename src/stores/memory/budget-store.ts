// An in-process BudgetStore (nothing survives a restart): for tests and the per-replica emergency cap.
import { parseCounterKey } from '../../core/budget-math.js';
import { windowEndedBefore } from '../../core/periods.js';
import type { BudgetStore, CounterRecord, CounterState, Reservation, ReservationItem, SettleResult } from '../../budgets/store.js';

interface HeldReservation { createdAt: number; items: { counterKey: string; amount: number }[] }

/** What decideAndReserve shows for a counter never used (read() leaves it out). */
const unused = Object.freeze({ spent: 0, reserved: 0 });

const compare = (left: string, right: string) => (left < right ? -1 : left > right ? 1 : 0);

/** Methods do all their work before their first await, so each is atomic within the process. */
export function createMemoryBudgetStore(): BudgetStore {
  const counters = new Map<string, { spent: number; reserved: number }>();
  const reservations = new Map<string, HeldReservation>();

  const state = (counterKey: string): CounterState => {
    const counter = counters.get(counterKey);
    return { counterKey, spent: counter?.spent ?? 0, reserved: counter?.reserved ?? 0 };
  };
  const counter = (counterKey: string) => {
    let found = counters.get(counterKey);
    if (!found) {
      found = { spent: 0, reserved: 0 };
      counters.set(counterKey, found);
    }
    return found;
  };
  /** Reserve every item, or nothing when one would pass its limit (then returns that item's index). */
  const apply = (id: string, createdAt: number, items: readonly ReservationItem[]): number => {
    if (reservations.has(id)) throw new Error(`Reservation id "${id}" is already in use`);
    for (let index = 0; index < items.length; index += 1) {
      const current = state(items[index].counterKey);
      if (current.spent + current.reserved + items[index].amount > items[index].limit) return index;
    }
    for (const item of items) counter(item.counterKey).reserved += item.amount;
    reservations.set(id, { createdAt, items: items.map((item) => ({ counterKey: item.counterKey, amount: item.amount })) });
    return -1;
  };
  const finish = (id: string, spendOf: (item: { counterKey: string; amount: number }, index: number) => number): SettleResult => {
    const held = reservations.get(id);
    if (!held) return { applied: false, counters: [] };
    reservations.delete(id);
    held.items.forEach((item, index) => {
      const target = counter(item.counterKey);
      target.reserved = Math.max(0, target.reserved - item.amount);
      target.spent += Math.max(0, Math.ceil(spendOf(item, index)));
    });
    return { applied: true, counters: held.items.map((item) => state(item.counterKey)) };
  };

  return {
    async read(counterKeys) {
      return new Map(counterKeys.filter((key) => counters.has(key)).map((key) => [key, state(key)]));
    },
    async tryReserve(reservation: Reservation) {
      const refused = apply(reservation.id, reservation.createdAt, reservation.items);
      if (refused < 0) return { ok: true };
      return { ok: false, counterKey: reservation.items[refused].counterKey, counters: reservation.items.map((each) => state(each.counterKey)) };
    },
    async decideAndReserve(id, createdAt, counterKeys, decide) {
      const items = decide(counterKeys.map((key) => counters.get(key) ?? unused));
      return items !== undefined && apply(id, createdAt, items) < 0;
    },
    async settle(id, actual) {
      return finish(id, (item, index) => actual[index] ?? item.amount);
    },
    async release(id) {
      return finish(id, () => 0);
    },
    async recoverOrphans(createdBefore) {
      const orphans = [...reservations].filter(([, held]) => held.createdAt < createdBefore).map(([id]) => id);
      for (const id of orphans) finish(id, (item) => item.amount);
      return orphans.length;
    },
    async spend(filter = {}) {
      const records: CounterRecord[] = [];
      for (const counterKey of [...counters.keys()].sort()) {
        const parts = parseCounterKey(counterKey);
        if (filter.scope !== undefined && parts.scope !== filter.scope) continue;
        if (filter.scopePrefix !== undefined && !parts.scope.startsWith(filter.scopePrefix)) continue;
        if (filter.windowKeys !== undefined && !filter.windowKeys.includes(parts.windowKey)) continue;
        const closed = filter.closedBefore;
        if (closed !== undefined && (state(counterKey).reserved !== 0 || !windowEndedBefore(parts.period, parts.windowKey, closed.cutoff, closed.timeZone))) continue;
        records.push({ ...state(counterKey), ...parts });
      }
      // Keys are sorted, so each sort below keeps counter-key order among equals.
      records.sort((left, right) => compare(left.scope, right.scope));
      if (filter.closedBefore !== undefined) records.sort((left, right) => compare(left.windowKey, right.windowKey));
      return filter.limit === undefined ? records : records.slice(0, filter.limit);
    },
    async pruneCounters(candidates) {
      const pruned: string[] = [];
      for (const { counterKey, spent } of candidates) {
        const found = counters.get(counterKey);
        if (found === undefined || found.reserved !== 0 || found.spent !== spent) continue;
        counters.delete(counterKey);
        pruned.push(counterKey);
      }
      return pruned;
    },
    async close() {},
  };
}
