// One call opens the PostgreSQL stores of distributed mode (keys, ledger, and the request log read from it) on a pool with migrations applied.
import type { LedgerStore } from '../../ledger/types.js';
import type { KeyStore, RequestLog } from '../records.js';
import { openPostgres, type PostgresDatabase, type PostgresPoolOptions } from './database.js';
import { openPostgresLedger, type PostgresLedgerOptions } from './ledger-store.js';
import { PostgresKeyStore, PostgresRequestLog, migrateRecords } from './records.js';

export interface PostgresStoresOptions extends PostgresPoolOptions {
  /** Open the evidence ledger too (omit for none). */
  ledger?: Omit<PostgresLedgerOptions, 'database'>;
}

export interface PostgresStores {
  /** The pool and schema, for stores that share them (createRedisBudgetStore's `postgres`). */
  database: PostgresDatabase;
  keys: KeyStore;
  /** Reads the ledger's inference entries: it needs the ledger's tables (open with `ledger` once). */
  requestLog: RequestLog;
  /** Present when `ledger` options were given. */
  ledger?: LedgerStore;
  /** Commit pending ledger appends, sign a last checkpoint, then close the pool. */
  close(): Promise<void>;
}

/**
 * Open the pool, create the schema if needed and apply migrations (once, even with many replicas starting).
 *
 * @example const stores = await createPostgresStores({ url: 'postgres://postgres@127.0.0.1:5432/test', schema: 'covenant', ledger: {} });
 */
export async function createPostgresStores(options: PostgresStoresOptions): Promise<PostgresStores> {
  const database = await openPostgres(options);
  let ledger: LedgerStore | undefined;
  try {
    await migrateRecords(database);
    if (options.ledger !== undefined) ledger = await openPostgresLedger({ ...options.ledger, database });
  } catch (error) {
    await database.close();
    throw error;
  }
  const requestLog = new PostgresRequestLog(database);
  return {
    database,
    keys: new PostgresKeyStore(database),
    requestLog,
    ledger,
    async close() {
      try {
        await ledger?.close();
      } finally {
        await database.close();
      }
    },
  };
}
