// Opens every store a gateway needs for the configured location: embedded SQLite, or PostgreSQL (+ Redis for budgets).
import type { AlertStore } from '../budgets/alerts.js';
import { createSqliteAlertStore } from '../budgets/sqlite-alert-store.js';
import { createSqliteBudgetStore } from '../budgets/sqlite-store.js';
import type { BudgetStore } from '../budgets/store.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { openSqliteLedger, type LedgerStore } from '../ledger/index.js';
import type { KeyStore, RequestLog } from './records.js';
import { openDatabase } from './sqlite/database.js';
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
  const database = openDatabase(config.store.path);
  const ledger = openSqliteLedger({ database, origin: `covenant/${config.org.name}/ledger`, onError: (error) => onError(error, 'ledger checkpoint') });
  const budgets = createSqliteBudgetStore(database);
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
      await requestLog.flush();
      database.close();
    },
  };
}
