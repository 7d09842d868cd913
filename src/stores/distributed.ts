// Distributed stores (issue 5): PostgreSQL for durable records, alerts and the ledger; Redis for hot budget counters.
import type { ResolvedConfig } from '../config/resolve.js';
import { createPostgresAlertStore } from './postgres/alert-store.js';
import { createPostgresStores } from './postgres/index.js';
import { createRedisBudgetStore } from './redis/budget-store.js';
import type { Stores } from './index.js';

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

export async function openDistributedStores(config: ResolvedConfig, onError: (error: unknown, where: string) => void): Promise<Stores> {
  if (config.store.kind !== 'postgres') throw new Error('openDistributedStores needs store: postgres://…');
  if (!config.cache) throw new Error('store: postgres://… needs cache: redis://… for the budget counters');
  const location = parsePostgresLocation(config.store.url);
  const postgres = await createPostgresStores({
    url: location.url,
    schema: location.schema,
    synchronousCommit: location.synchronousCommit,
    onError: (error) => onError(error, 'postgres'),
    ledger: { origin: `covenant/${config.org.name}/ledger`, onError: (error) => onError(error, 'ledger checkpoint') },
  });
  try {
    const alerts = await createPostgresAlertStore(postgres.database);
    const budgets = await createRedisBudgetStore({ redisUrl: config.cache, prefix: `covenant:${location.schema}:`, postgres: postgres.database, onError });
    return {
      kind: 'postgres',
      keys: postgres.keys,
      requestLog: postgres.requestLog,
      budgets,
      alerts,
      ledger: postgres.ledger!,
      shared: true,
      async close() {
        await budgets.close();
        await postgres.close();
      },
    };
  } catch (error) {
    await postgres.close();
    throw error;
  }
}
