// One call opens the stores of distributed mode: PostgreSQL for durable records and the ledger, Redis for budget and session counters.
import type { LedgerStore } from '../../ledger/types.js';
import { probeHealth } from '../health.js';
import type { KeyStore, RequestLog } from '../records.js';
import { createRedisBudgetStore } from '../redis/budget-store.js';
import { createRedisSessionStateStore } from '../redis/session-state.js';
import { createRedisRateLimitStore } from '../redis/rate-limit-store.js';
import type { StoreErrorHandler, Stores } from '../types.js';
import { createPostgresAlertStore } from './alert-store.js';
import { createPostgresGovernanceAlertStore } from './governance-alert-store.js';
import { createPostgresDecisionStore } from './decision-store.js';
import { openPostgres, type PostgresDatabase, type PostgresPoolOptions } from './database.js';
import { openPostgresLedger, type PostgresLedgerOptions } from './ledger-store.js';
import { PostgresKeyStore, PostgresRequestLog, migrateRecords } from './records.js';
import { createPostgresSuspensionStore } from './suspension-store.js';
import { createPostgresSourcingStore } from './sourcing-store.js';
import { createPostgresModelRegistryStore } from './model-registry-store.js';
import { createPostgresContractRecordStore } from './contract-record-store.js';
import { createPostgresConsoleSessionStore } from './console-session-store.js';

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

/**
 * Split Covenant's own `schema` parameter off a PostgreSQL URL: `postgres://host/db?schema=covenant`.
 * Every replica of one deployment must use the same schema (default "covenant").
 */
export function parsePostgresLocation(url: string): { url: string; schema: string; synchronousCommit: 'on' | 'off' } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'covenant';
  // `synchronous_commit=off`: commits survive a crash of Covenant (what the ledger and budgets promise) but not of
  // the PostgreSQL server itself; each write then costs a round trip instead of a disk flush.
  const synchronousCommit = parsed.searchParams.get('synchronous_commit') === 'off' ? 'off' : 'on';
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('synchronous_commit');
  return { url: parsed.toString(), schema, synchronousCommit };
}

export interface DistributedStoresOptions {
  /** The config's `store`: postgres://…, with Covenant's own `schema` and `synchronous_commit` parameters. */
  url: string;
  /** The config's `cache`: redis://… */
  cache: string;
  /** The ledger's origin line, used only by the replica that creates the ledger. */
  origin: string;
  onError: StoreErrorHandler;
}

/**
 * Open every store of distributed mode (the Stores a gateway replica runs on).
 *
 * @example const stores = await openPostgresStores({ url: 'postgres://127.0.0.1/test?schema=covenant', cache: 'redis://127.0.0.1:6379', origin, onError });
 */
export async function openPostgresStores(options: DistributedStoresOptions): Promise<Stores> {
  const { onError } = options;
  const location = parsePostgresLocation(options.url);
  const postgres = await createPostgresStores({
    url: location.url,
    schema: location.schema,
    synchronousCommit: location.synchronousCommit,
    onError: (error) => onError(error, 'postgres'),
    ledger: { origin: options.origin, onError: (error) => onError(error, 'ledger checkpoint') },
  });
  try {
    const alerts = await createPostgresAlertStore(postgres.database);
    const suspensions = await createPostgresSuspensionStore(postgres.database);
    const governanceAlerts = await createPostgresGovernanceAlertStore(postgres.database);
    const sourcing = await createPostgresSourcingStore(postgres.database);
    const decisions = await createPostgresDecisionStore(postgres.database);
    const models = await createPostgresModelRegistryStore(postgres.database);
    const contractRecords = await createPostgresContractRecordStore(postgres.database);
    const consoleSessions = await createPostgresConsoleSessionStore(postgres.database);
    const budgets = await createRedisBudgetStore({ redisUrl: options.cache, prefix: `covenant:${location.schema}:`, postgres: postgres.database, onError });
    const sessions = await createRedisSessionStateStore({ redisUrl: options.cache, prefix: `covenant:${location.schema}:`, onError });
    const rateLimits = await createRedisRateLimitStore({ redisUrl: options.cache, prefix: `covenant:${location.schema}:`, onError });
    return {
      kind: 'postgres',
      keys: postgres.keys,
      requestLog: postgres.requestLog,
      budgets,
      alerts,
      governanceAlerts,
      rateLimits,
      ledger: postgres.ledger!,
      sessions,
      suspensions,
      sourcing,
      decisions,
      models,
      contractRecords,
      consoleSessions,
      shared: true,
      health: () => Promise.all([
        probeHealth('postgres', () => postgres.database.pool.query('SELECT 1')),
        probeHealth('redis', () => budgets.ping()),
      ]),
      async close() {
        await rateLimits.close();
        await budgets.close();
        await sessions.close();
        await postgres.close();
      },
    };
  } catch (error) {
    await postgres.close();
    throw error;
  }
}
