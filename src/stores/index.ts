// Opens every store a gateway needs for the configured location: embedded SQLite, or PostgreSQL (+ Redis for budgets).
import type { ResolvedConfig } from '../config/resolve.js';
import { openSqliteStores } from './sqlite/index.js';
import type { StoreErrorHandler, Stores } from './types.js';

export type { HealthCheck, Stores } from './types.js';

export async function openStores(config: ResolvedConfig, onError: StoreErrorHandler): Promise<Stores> {
  switch (config.store.kind) {
    case 'sqlite':
      return openSqliteStores({ path: config.store.path, origin: ledgerOrigin(config), onError });
    case 'postgres': {
      if (!config.cache) throw new Error('store: postgres://… needs cache: redis://… for the budget counters');
      // Loaded only when used: the embedded mode never loads pg and ioredis.
      const { openPostgresStores } = await import('./postgres/index.js');
      return openPostgresStores({ url: config.store.url, cache: config.cache, origin: ledgerOrigin(config), onError });
    }
  }
}

function ledgerOrigin(config: ResolvedConfig): string {
  return `covenant/${config.org.name}/ledger`;
}
