// Durable budget records in PostgreSQL behind the Redis counters: reservations (written ahead), settled spend, settlements.
//
// PostgreSQL is the source of truth; Redis holds the hot copy that makes the atomic check. Every reservation is
// committed here before Redis grants it, and every settle is committed here before Redis applies it, so a Redis
// rebuilt from these tables never under-counts (see stores/redis/budget-store.ts for the protocol).
import { batched } from './batch.js';
import { migratePostgres, withAdvisoryLock, withAdvisoryTryLock, type PostgresDatabase, type PostgresMigration } from './database.js';

export const budgetRecordMigrations: readonly PostgresMigration[] = [
  {
    id: 'budgets-001-durable',
    sql: `
      -- Settled spend per counter (core/budget-math.ts counterKeyFor), in micro-dollars or tokens.
      CREATE TABLE budget_spend (
        counter_key TEXT PRIMARY KEY,
        spent BIGINT NOT NULL DEFAULT 0
      );
      -- Reservations not yet settled: items is [[counterKey, amount], …]; created_at is epoch ms.
      CREATE TABLE budget_reservations (
        id TEXT PRIMARY KEY,
        items JSONB NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX budget_reservations_created ON budget_reservations (created_at);
      -- What each settle (or release: zeros) added, by counter: a retried settle re-applies these to Redis, never twice.
      CREATE TABLE budget_settlements (
        id TEXT PRIMARY KEY,
        amounts JSONB NOT NULL,
        settled_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX budget_settlements_time ON budget_settlements (settled_at);
    `,
  },
  {
    // Window pruning reads only the windows that are over, oldest first: the key's window and scope
    // (core/budget-math.ts parseCounterKey: the window after the last '|', the scope before the one ahead of it), in
    // byte order as JavaScript and SQLite compare them, and an index on both.
    id: 'budgets-002-window-scope-index',
    sql: `
      ALTER TABLE budget_spend
        ADD COLUMN window_key TEXT COLLATE "C" GENERATED ALWAYS AS (substring(counter_key FROM '[^|]*$')) STORED,
        ADD COLUMN scope TEXT COLLATE "C" GENERATED ALWAYS AS (substring(counter_key FROM '^(.*)\\|[^|]*\\|[^|]*$')) STORED;
      CREATE INDEX budget_spend_window_scope ON budget_spend (window_key, scope);
    `,
  },
];

// Every distinct window key, each with one of its counter keys (which names the period): one index seek per window
// (a loose index scan), however many counters each holds.
const windowsSql = `
  WITH RECURSIVE windows (window_key, counter_key) AS (
    (SELECT window_key, counter_key FROM budget_spend ORDER BY window_key LIMIT 1)
    UNION ALL
    SELECT next.window_key, next.counter_key FROM windows CROSS JOIN LATERAL (
      SELECT window_key, counter_key FROM budget_spend WHERE budget_spend.window_key > windows.window_key ORDER BY window_key LIMIT 1
    ) AS next
  )
  SELECT window_key, counter_key FROM windows`;

export type ReservationItems = [counterKey: string, amount: number][];

export interface DurableReservation {
  id: string;
  createdAt: number;
  items: ReservationItems;
}

export interface FinishOutcome {
  /** True when this call moved the reservation into spend; false when it was already settled or never existed. */
  applied: boolean;
  /** Amounts added to spend by counter, by this call or the earlier settle; null when the id is unknown. */
  amounts: Record<string, number> | null;
}

export interface BudgetSnapshot {
  spent: Map<string, number>;
  reservations: DurableReservation[];
}

const insertReservationsSql = `
  INSERT INTO budget_reservations (id, items, created_at)
  SELECT * FROM unnest($1::text[], $2::jsonb[], $3::bigint[])
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

// One statement settles a whole batch: the reservation rows go, their amounts join spend (counters locked in key
// order, so concurrent batches cannot deadlock on them), and each settlement is recorded. A NULL actual is a release.
const finishSql = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::jsonb[]) AS input (id, actual)
  ),
  deleted AS (
    DELETE FROM budget_reservations AS reservation USING input
    WHERE reservation.id = input.id
    RETURNING reservation.id, reservation.items, input.actual
  ),
  amounts AS (
    SELECT deleted.id, item->>0 AS counter_key,
      CASE WHEN deleted.actual IS NULL THEN 0
           ELSE COALESCE((deleted.actual->>(position - 1)::int)::bigint, (item->>1)::bigint) END AS amount
    FROM deleted CROSS JOIN LATERAL jsonb_array_elements(deleted.items) WITH ORDINALITY AS element (item, position)
  ),
  spend AS (
    INSERT INTO budget_spend (counter_key, spent)
    SELECT counter_key, SUM(amount)::bigint FROM amounts GROUP BY counter_key ORDER BY counter_key
    ON CONFLICT (counter_key) DO UPDATE SET spent = budget_spend.spent + excluded.spent
  ),
  settled AS (
    INSERT INTO budget_settlements (id, amounts)
    SELECT id, jsonb_object_agg(counter_key, amount) FROM amounts GROUP BY id
    ON CONFLICT (id) DO UPDATE SET amounts = excluded.amounts, settled_at = now()
    RETURNING id, amounts
  )
  SELECT id, amounts, true AS applied FROM settled
  UNION ALL
  SELECT previous.id, previous.amounts, false AS applied
  FROM budget_settlements AS previous JOIN input USING (id)
  WHERE NOT EXISTS (SELECT 1 FROM deleted WHERE deleted.id = previous.id)`;

/** Serialization failures and deadlocks: PostgreSQL rolled the statement back, so running it again is safe. */
const retryableCodes = new Set(['40001', '40P01']);

async function retrying<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !retryableCodes.has((error as { code?: string }).code ?? '')) throw error;
    }
  }
}

export class PostgresBudgetRecords {
  /** Insert a reservation; false when the id is already held (ids are never reused). */
  readonly insertReservation: (reservation: DurableReservation) => Promise<boolean>;
  /** Settle (`actual` holds the items' amounts in their order, null or missing at their reservation) or release (`actual` null). */
  readonly finish: (call: { id: string; actual: readonly (number | null)[] | null }) => Promise<FinishOutcome>;

  private constructor(private readonly database: PostgresDatabase) {
    this.insertReservation = batched(async (reservations: DurableReservation[]) => {
      const result = await database.pool.query<{ id: string }>(insertReservationsSql, [
        reservations.map((reservation) => reservation.id),
        reservations.map((reservation) => JSON.stringify(reservation.items)),
        reservations.map((reservation) => reservation.createdAt),
      ]);
      const inserted = new Set(result.rows.map((row) => row.id));
      // Two calls with one id in the same batch: only the first holds it.
      return reservations.map((reservation) => inserted.delete(reservation.id));
    }, { concurrency: 4 });
    this.finish = batched(async (calls: { id: string; actual: readonly (number | null)[] | null }[]) => {
      const first = new Map<string, number>();
      calls.forEach((call, index) => {
        if (!first.has(call.id)) first.set(call.id, index);
      });
      const unique = [...first.values()].map((index) => calls[index]);
      const result = await retrying(() =>
        database.pool.query<{ id: string; amounts: Record<string, number>; applied: boolean }>(finishSql, [
          unique.map((call) => call.id),
          unique.map((call) => (call.actual === null ? null : JSON.stringify(call.actual))),
        ]),
      );
      const byId = new Map(result.rows.map((row) => [row.id, row]));
      return calls.map((call, index) => {
        const row = byId.get(call.id);
        if (row === undefined) return { applied: false, amounts: null };
        // A duplicate call in the same batch did not apply it: the first one did.
        return { applied: row.applied && first.get(call.id) === index, amounts: row.amounts };
      });
    }, { concurrency: 1 }); // every settle updates the same hot rows (the org's counters): one statement at a time
  }

  /** Apply the migrations (once across replicas) and return the records. */
  static async open(database: PostgresDatabase): Promise<PostgresBudgetRecords> {
    await migratePostgres(database, budgetRecordMigrations);
    return new PostgresBudgetRecords(database);
  }

  /** Forget a reservation that Redis refused (or could not be asked about). */
  async deleteReservation(id: string): Promise<void> {
    await this.database.pool.query('DELETE FROM budget_reservations WHERE id = $1', [id]);
  }

  async orphanIds(createdBefore: number): Promise<string[]> {
    const result = await this.database.pool.query<{ id: string }>(
      'SELECT id FROM budget_reservations WHERE created_at < $1 ORDER BY created_at, id', [createdBefore]);
    return result.rows.map((row) => row.id);
  }

  /** For ids Redis still holds: which are still reserved here, and what the settled ones added. */
  async lookup(ids: readonly string[]): Promise<{ reserved: Set<string>; settled: Map<string, Record<string, number>> }> {
    const [reserved, settled] = await Promise.all([
      this.database.pool.query<{ id: string }>('SELECT id FROM budget_reservations WHERE id = ANY($1)', [ids]),
      this.database.pool.query<{ id: string; amounts: Record<string, number> }>('SELECT id, amounts FROM budget_settlements WHERE id = ANY($1)', [ids]),
    ]);
    return { reserved: new Set(reserved.rows.map((row) => row.id)), settled: new Map(settled.rows.map((row) => [row.id, row.amounts])) };
  }

  /** Spend and open reservations as of one instant (one REPEATABLE READ transaction): what Redis is rebuilt from. */
  async snapshot(): Promise<BudgetSnapshot> {
    const client = await this.database.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const spent = await client.query<{ counter_key: string; spent: number }>('SELECT counter_key, spent FROM budget_spend');
      const reservations = await client.query<{ id: string; items: ReservationItems; created_at: number }>(
        'SELECT id, items, created_at FROM budget_reservations');
      await client.query('COMMIT');
      return {
        spent: new Map(spent.rows.map((row) => [row.counter_key, row.spent])),
        reservations: reservations.rows.map((row) => ({ id: row.id, createdAt: row.created_at, items: row.items })),
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Run `work` while no other replica rebuilds the same Redis prefix. */
  withRebuildLock<T>(prefix: string, work: () => Promise<T>): Promise<T> {
    return withAdvisoryLock(this.database.pool, `covenant:budget-rebuild:${this.database.schema}:${prefix}`, () => work());
  }

  /** Run `work` unless another replica runs work of the same name on this schema now (then undefined). */
  exclusively<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    return withAdvisoryTryLock(this.database.pool, `covenant:${name}:${this.database.schema}`, work);
  }

  /** Every window that has counters, in key order, each with one of its counter keys. */
  async windows(): Promise<{ windowKey: string; counterKey: string }[]> {
    const result = await this.database.pool.query<{ window_key: string; counter_key: string }>(windowsSql);
    return result.rows.map((row) => ({ windowKey: row.window_key, counterKey: row.counter_key }));
  }

  /** Up to `limit` counter keys of one window in (scope, counter key) order, after `after`'s when given (the previous page's last). */
  async windowCounters(windowKey: string, limit: number, after?: { scope: string; counterKey: string }): Promise<{ scope: string; counterKey: string }[]> {
    const result = await this.database.pool.query<{ scope: string; counter_key: string }>(
      `SELECT scope, counter_key FROM budget_spend WHERE window_key = $1 AND (scope, counter_key COLLATE "C") > ($2, $3)
       ORDER BY scope, counter_key COLLATE "C" LIMIT $4`,
      [windowKey, after?.scope ?? '', after?.counterKey ?? '', limit]);
    return result.rows.map((row) => ({ scope: row.scope, counterKey: row.counter_key }));
  }

  /** Delete the spend rows of pruned counters, each only while it still holds the spend given with it. */
  async deleteSpend(counters: readonly [counterKey: string, spent: number][]): Promise<number> {
    if (counters.length === 0) return 0;
    const result = await this.database.pool.query(
      `DELETE FROM budget_spend AS spend USING unnest($1::text[], $2::bigint[]) AS pruned (counter_key, spent)
       WHERE spend.counter_key = pruned.counter_key AND spend.spent = pruned.spent`,
      [counters.map(([counterKey]) => counterKey), counters.map(([, spent]) => spent)]);
    return result.rowCount ?? 0;
  }

  /** Drop settlement records older than `olderThanMs` (a settle retried later than that re-applies nothing). */
  async pruneSettlements(olderThanMs: number): Promise<number> {
    const result = await this.database.pool.query(
      "DELETE FROM budget_settlements WHERE settled_at < now() - make_interval(secs => $1::double precision / 1000)", [olderThanMs]);
    return result.rowCount ?? 0;
  }
}
