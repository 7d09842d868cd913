// One call opens the embedded SQLite stores (keys, request log, budgets, alerts, ledger, sessions) on one database and turn queue; the budget counters in a file of their own.
import { statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { createMemoryRateLimitStore } from '../memory/rate-limit-store.js';
import type { StoreErrorHandler, Stores } from '../types.js';
import { createSqliteAlertStore } from './alert-store.js';
import { createSqliteGovernanceAlertStore } from './governance-alert-store.js';
import { createSqliteBudgetStore } from './budget-store.js';
import { openBudgetDatabase } from './budget-database.js';
import { journalPathOf } from './budget-journal.js';
import { createSqliteDecisionStore } from './decision-store.js';
import { startCheckpointer } from './checkpointer.js';
import { openDatabase } from './database.js';
import { openSqliteLedger } from './ledger-store.js';
import { takeOwnerLock } from './owner-lock.js';
import { SqliteKeyStore, SqliteRequestLog } from './records.js';
import { createSqliteSuspensionStore } from './suspension-store.js';
import { createSqliteSourcingStore } from './sourcing-store.js';
import { createSqliteModelRegistryStore } from './model-registry-store.js';
import { createSqliteContractRecordStore } from './contract-record-store.js';
import { createSqliteConsoleSessionStore } from './console-session-store.js';
import { createMemorySessionStateStore } from '../memory/session-state.js';
import { createTurnQueue } from './turn.js';
import { isDiskFull, WriteHealth } from './write-health.js';

/** Free space on a full disk's file system from which /healthz takes it for space returned (a few turns' writes). */
const spaceToServe = 1024 * 1024;

/** Bytes an unprivileged writer may still use on the file system that holds `folder`. */
function freeBytes(folder: string): number {
  const space = statfsSync(folder);
  return space.bavail * space.bsize;
}

export interface SqliteStoresOptions {
  /** The database file, or ':memory:'. */
  path: string;
  /** The ledger's origin line, used only when the ledger is created. */
  origin: string;
  onError: StoreErrorHandler;
}

/**
 * Take the owner lock, open the database, and open every store on it.
 *
 * @example const stores = openSqliteStores({ path: 'data/covenant.db', origin: 'covenant/acme/ledger', onError });
 */
export function openSqliteStores(options: SqliteStoresOptions): Stores {
  const { path, onError } = options;
  const lock = path === ':memory:' ? undefined : takeOwnerLock(path);
  let database;
  try {
    database = openDatabase(path);
  } catch (error) {
    lock?.release();
    throw error;
  }
  // One commit per event-loop turn for all stores, and WAL checkpoints (the fsyncs) in a worker thread.
  // Writers failing on a full disk, for /healthz (requests are refused meanwhile; it says so until space returns).
  const writes = new WriteHealth();
  const turns = createTurnQueue(database, (error) => onError(error, 'sqlite batch'), (failure) => writes.record('sqlite commit', failure));
  const checkpointer = path === ':memory:' ? undefined : startCheckpointer({
    path, onError: (error) => onError(error, 'sqlite'), betterSqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'), writer: turns,
  });
  if (checkpointer) {
    database.pragma('wal_autocheckpoint = 0');
    // A WAL left larger by an earlier run (or a burst) is cut back to this when it next starts over.
    database.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  }
  const ledger = openSqliteLedger({ database, origin: options.origin, onError: (error) => onError(error, 'ledger checkpoint'), schedule: turns.schedule });
  // The counters in a file of their own: the fold thread writing them holds up no other store's commit.
  const budgetDatabase = openBudgetDatabase(database);
  const budgets = createSqliteBudgetStore(budgetDatabase, {
    onError: (error) => onError(error, 'budget journal fold'),
    journalPath: path === ':memory:' ? undefined : journalPathOf(path),
    // Retried every 250 ms while it fails: a full disk is reported once, when it starts; another failure each time.
    onJournal: (failure) => {
      if (failure === undefined) return;
      if (isDiskFull(failure) ? writes.record('budget journal', failure) : true) onError(failure, 'budget journal');
    },
  });
  // Session counters are hot and owned by this one process; only suspensions must outlive it.
  const sessions = createMemorySessionStateStore();
  const suspensions = createSqliteSuspensionStore(database);
  const ping = database.prepare('SELECT 1');
  return {
    kind: 'sqlite',
    keys: new SqliteKeyStore(database),
    requestLog: new SqliteRequestLog(database),
    budgets,
    alerts: createSqliteAlertStore(database),
    governanceAlerts: createSqliteGovernanceAlertStore(database),
    // One process owns an embedded store, so its rate limits are counted in its memory.
    rateLimits: createMemoryRateLimitStore(),
    ledger,
    sessions,
    suspensions,
    sourcing: createSqliteSourcingStore(database),
    decisions: createSqliteDecisionStore(database),
    models: createSqliteModelRegistryStore(database),
    contractRecords: createSqliteContractRecordStore(database),
    consoleSessions: createSqliteConsoleSessionStore(database),
    shared: false,
    async health() {
      try {
        ping.get();
        if (writes.full && path !== ':memory:' && freeBytes(dirname(path)) >= spaceToServe) writes.spaceReturned();
        return [writes.check()];
      } catch (error) {
        return [{ name: 'sqlite', ok: false, error: (error as Error).message }];
      }
    },
    async close() {
      await ledger.close();
      await budgets.close();
      budgetDatabase.close();
      await sessions.close();
      await checkpointer?.stop();
      database.close();
      lock?.release();
    },
  };
}
