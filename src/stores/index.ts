// Opens every store a gateway needs for the configured location: embedded SQLite, or PostgreSQL (+ Redis for budgets).
import type { AlertStore } from '../budgets/alerts.js';
import { createSqliteAlertStore } from '../budgets/sqlite-alert-store.js';
import { createSqliteBudgetStore } from '../budgets/sqlite-store.js';
import type { BudgetStore } from '../budgets/store.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { openSqliteLedger, type LedgerStore } from '../ledger/index.js';
import type { KeyStore, RequestLog } from './records.js';
import { createRequire } from 'node:module';
import { startCheckpointer } from './sqlite/checkpointer.js';
import { openDatabase } from './sqlite/database.js';
import { takeOwnerLock } from './sqlite/owner-lock.js';
import { createTurnQueue } from './sqlite/turn.js';
import { SqliteKeyStore, SqliteRequestLog } from './sqlite/records.js';

export interface Stores {
  kind: 'sqlite' | 'postgres';
  keys: KeyStore;
  requestLog: RequestLog;
  budgets: BudgetStore;
  alerts: AlertStore;
  ledger: LedgerStore;
  /** True when several gateway processes share these stores (orphan recovery must then wait for old reservations). */
  shared: boolean;
  close(): Promise<void>;
}

export async function openStores(config: ResolvedConfig, onError: (error: unknown, where: string) => void): Promise<Stores> {
  if (config.store.kind === 'postgres') {
    const { openDistributedStores } = await import('./distributed.js');
    return openDistributedStores(config, onError);
  }
  const lock = config.store.path === ':memory:' ? undefined : takeOwnerLock(config.store.path);
  let database;
  try {
    database = openDatabase(config.store.path);
  } catch (error) {
    lock?.release();
    throw error;
  }
  // One commit per event-loop turn for all stores, and WAL checkpoints (the fsyncs) in a worker thread.
  const turns = createTurnQueue(database, (error) => onError(error, 'sqlite batch'));
  const checkpointer = config.store.path === ':memory:' ? undefined : startCheckpointer({
    path: config.store.path, onError: (error) => onError(error, 'sqlite'), betterSqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'), writer: turns,
  });
  if (checkpointer) {
    database.pragma('wal_autocheckpoint = 0');
    // A WAL left larger by an earlier run (or a burst) is cut back to this when it next starts over.
    database.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  }
  const ledger = openSqliteLedger({ database, origin: `covenant/${config.org.name}/ledger`, onError: (error) => onError(error, 'ledger checkpoint'), schedule: turns.schedule });
  const budgets = createSqliteBudgetStore(database, { onError: (error) => onError(error, 'budget journal fold') });
  const requestLog = new SqliteRequestLog(database);
  return {
    kind: 'sqlite',
    keys: new SqliteKeyStore(database),
    requestLog,
    budgets,
    alerts: createSqliteAlertStore(database),
    ledger,
    shared: false,
    async close() {
      await ledger.close();
      await budgets.close();
      await checkpointer?.stop();
      database.close();
      lock?.release();
    },
  };
}
