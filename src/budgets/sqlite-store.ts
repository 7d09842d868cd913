// The embedded budget store: counters checked in memory, written to SQLite in one group-committed transaction per tick.
//
// Why: a transaction per reserve and per settle costs a WAL write each (two per request); under load the disk,
// not the check, sets the pace. Here every operation is decided synchronously against in-memory counters (so
// it is atomic within the process) and joins the batch of its event-loop tick; one transaction writes the
// batch, and each operation's promise resolves only after that commit. So a reservation is durable before
// the provider is called, and a SIGKILL loses only operations nobody was told had happened: an unacknowledged
// settle leaves its reservation on disk, which recovery counts at its worst case (never an under-count).
//
// One process owns a database file's budget tables (replicas share Redis instead, issue 5).
import { parseCounterKey } from '../core/budget-math.js';
import { migrate, type Migration, type SqliteDatabase } from '../stores/sqlite/database.js';
import type {
  BudgetStore, CounterRecord, CounterState, Reservation, ReserveResult, SettleResult, SpendFilter,
} from './store.js';

export const budgetMigrations: readonly Migration[] = [
  {
    id: 'budgets-001-counters',
    sql: `
      CREATE TABLE budget_counters (
        counter_key TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        unit TEXT NOT NULL,
        period TEXT NOT NULL,
        window_key TEXT NOT NULL,
        spent INTEGER NOT NULL DEFAULT 0,
        reserved INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE INDEX budget_counters_scope ON budget_counters (scope);
      CREATE TABLE budget_reservations (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        items TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

/** A reservation's items, stored as one JSON row: [[counterKey, amount], …]. */
type HeldItems = [string, number][];
interface Held { createdAt: number; items: HeldItems }
interface Counter { spent: number; reserved: number }
interface CounterRow { counter_key: string; scope: string; unit: CounterRecord['unit']; period: CounterRecord['period']; window_key: string; spent: number; reserved: number }

/** Counters kept in memory beyond this are dropped after a commit (they reload from the database on use). */
const cacheLimit = 100_000;

export interface SqliteBudgetStoreOptions {
  /** Defer a commit to the end of the tick (default setImmediate); tests may pass their own. */
  schedule?: (flush: () => void) => void;
}

/** A BudgetStore on an open database (openDatabase from stores/sqlite). Applies its migrations. */
export function createSqliteBudgetStore(database: SqliteDatabase, options: SqliteBudgetStoreOptions = {}): BudgetStore {
  migrate(database, budgetMigrations);
  const schedule = options.schedule ?? ((flush: () => void) => setImmediate(flush));
  const selectCounter = database.prepare<[string], Counter>('SELECT spent, reserved FROM budget_counters WHERE counter_key = ?');
  const writeCounter = database.prepare(
    `INSERT INTO budget_counters (counter_key, scope, unit, period, window_key, spent, reserved)
     VALUES (@counterKey, @scope, @unit, @period, @windowKey, @spent, @reserved)
     ON CONFLICT (counter_key) DO UPDATE SET spent = excluded.spent, reserved = excluded.reserved`);
  const insertReservation = database.prepare('INSERT INTO budget_reservations (id, created_at, items) VALUES (?, ?, ?)');
  const deleteReservation = database.prepare('DELETE FROM budget_reservations WHERE id = ?');

  const counters = new Map<string, Counter>();
  // Every unsettled reservation: this process's, and those a crashed process left (loaded now, for recovery).
  const held = new Map<string, Held>();
  for (const row of database.prepare('SELECT id, created_at, items FROM budget_reservations').all() as { id: string; created_at: number; items: string }[]) {
    held.set(row.id, { createdAt: row.created_at, items: JSON.parse(row.items) as HeldItems });
  }

  // The batch of this tick.
  const dirty = new Set<string>();
  const inserts = new Map<string, Held>();
  const deletes = new Set<string>();
  let waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  let scheduled = false;
  let failure: unknown;

  const counter = (key: string): Counter => {
    let found = counters.get(key);
    if (!found) {
      const row = selectCounter.get(key);
      found = { spent: row?.spent ?? 0, reserved: row?.reserved ?? 0 };
      counters.set(key, found);
    }
    return found;
  };
  const state = (key: string): CounterState => ({ counterKey: key, ...counter(key) });

  const commit = database.transaction(() => {
    for (const key of dirty) {
      const value = counters.get(key) as Counter;
      writeCounter.run({ ...parseCounterKey(key), counterKey: key, spent: value.spent, reserved: value.reserved });
    }
    for (const [id, reservation] of inserts) insertReservation.run(id, reservation.createdAt, JSON.stringify(reservation.items));
    for (const id of deletes) deleteReservation.run(id);
  });

  const flush = () => {
    scheduled = false;
    const batch = waiters;
    waiters = [];
    try {
      commit.immediate();
    } catch (error) {
      // Memory and disk may now disagree: refuse everything from here on (the guard fails closed).
      failure = error;
      for (const waiter of batch) waiter.reject(error);
      return;
    } finally {
      dirty.clear();
      inserts.clear();
      deletes.clear();
    }
    if (counters.size > cacheLimit) counters.clear();
    for (const waiter of batch) waiter.resolve();
  };

  /** Resolves once the operations made so far are committed. */
  const committed = (): Promise<void> => new Promise((resolve, reject) => {
    waiters.push({ resolve, reject });
    if (!scheduled) {
      scheduled = true;
      schedule(flush);
    }
  });

  const guard = () => {
    if (failure !== undefined) throw new Error(`The budget database failed earlier: ${(failure as Error).message ?? String(failure)}`);
  };

  const finish = async (id: string, spendOf: (key: string, amount: number) => number): Promise<SettleResult> => {
    guard();
    const reservation = held.get(id);
    if (!reservation) return { applied: false, counters: [] };
    held.delete(id);
    if (inserts.has(id)) inserts.delete(id); // reserved and ended within one tick: never written
    else deletes.add(id);
    for (const [key, amount] of reservation.items) {
      const value = counter(key);
      value.reserved = Math.max(0, value.reserved - amount);
      value.spent += Math.max(0, Math.ceil(spendOf(key, amount)));
      dirty.add(key);
    }
    const after = reservation.items.map(([key]) => state(key));
    await committed();
    return { applied: true, counters: after };
  };

  return {
    async read(counterKeys) {
      guard();
      const found = new Map<string, CounterState>();
      for (const key of counterKeys) {
        const value = counter(key);
        if (value.spent !== 0 || value.reserved !== 0) found.set(key, { counterKey: key, ...value });
      }
      return found;
    },
    async tryReserve(reservation: Reservation): Promise<ReserveResult> {
      guard();
      if (held.has(reservation.id)) throw new Error(`Reservation id "${reservation.id}" is already in use`);
      for (const item of reservation.items) {
        const value = counter(item.counterKey);
        if (value.spent + value.reserved + item.amount > item.limit) {
          return { ok: false, counterKey: item.counterKey, counters: reservation.items.map((each) => state(each.counterKey)) };
        }
      }
      const items: HeldItems = reservation.items.map((item) => [item.counterKey, item.amount]);
      for (const [key, amount] of items) {
        counter(key).reserved += amount;
        dirty.add(key);
      }
      const entry = { createdAt: reservation.createdAt, items };
      held.set(reservation.id, entry);
      inserts.set(reservation.id, entry);
      await committed();
      return { ok: true };
    },
    settle(id, actual) {
      return finish(id, (key, amount) => actual[key] ?? amount);
    },
    release(id) {
      return finish(id, () => 0);
    },
    async recoverOrphans(createdBefore) {
      const orphans = [...held].filter(([, reservation]) => reservation.createdAt < createdBefore).map(([id]) => id);
      await Promise.all(orphans.map((id) => finish(id, (_key, amount) => amount)));
      return orphans.length;
    },
    async spend(filter: SpendFilter = {}) {
      guard();
      if (scheduled) await committed();
      const conditions: string[] = [];
      const parameters: (string | number)[] = [];
      if (filter.scope !== undefined) { conditions.push('scope = ?'); parameters.push(filter.scope); }
      if (filter.scopePrefix !== undefined) { conditions.push('substr(scope, 1, ?) = ?'); parameters.push(filter.scopePrefix.length, filter.scopePrefix); }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      const rows = database.prepare(`SELECT * FROM budget_counters ${where} ORDER BY scope, counter_key`).all(...parameters) as CounterRow[];
      return rows.map((row) => ({
        counterKey: row.counter_key, scope: row.scope, unit: row.unit, period: row.period,
        windowKey: row.window_key, spent: row.spent, reserved: row.reserved,
      }));
    },
    async close() {
      if (scheduled) await committed();
      // The database belongs to the caller (it holds other modules' tables too): closing it is theirs.
    },
  };
}
