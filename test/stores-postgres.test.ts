// PostgreSQL plumbing: migrations once across replicas starting together, schema isolation, failures and retries.
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { checkSchemaName, openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { createPostgresStores, type PostgresStores } from '../src/stores/postgres/index.js';
import { PostgresRequestLog, recordMigrations } from '../src/stores/postgres/records.js';
import type { RequestRecord } from '../src/stores/records.js';
import { createTestSchema, postgresUrl, type TestSchema } from './helpers/services.js';

function requestRecord(id: string): RequestRecord {
  return {
    id, time: `2025-03-01T10:00:00.000Z`, keyId: null, keyName: null, department: 'claims', user: null, route: '/v1/chat/completions',
    alias: null, provider: null, upstreamModel: null, stream: false, status: 200, errorCode: null, inputTokens: 1, outputTokens: 2,
    cachedInputTokens: 0, reasoningTokens: 0, costMicros: 3, latencyMs: 4, maxTokens: null,
  };
}

describe('PostgreSQL stores', () => {
  let schema: TestSchema;
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const each of opened.splice(0)) await each.close();
    await schema?.drop();
  });

  it('applies each migration once when five replicas start at the same moment on a new schema', async () => {
    schema = createTestSchema();
    const replicas = await Promise.all(Array.from({ length: 5 }, () => createPostgresStores({ url: schema.url, schema: schema.schema, max: 2 })));
    opened.push(...replicas);
    const applied = await replicas[0].database.pool.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
    expect(applied.rows.map((row) => row.id)).toEqual(recordMigrations.map((migration) => migration.id));
    // Every replica works on the same tables.
    replicas[3].requestLog.add(requestRecord('r1'));
    await replicas[3].requestLog.flush();
    expect((await replicas[1].requestLog.recent(5)).map((record) => record.id)).toEqual(['r1']);
  });

  it('keeps every table inside its own schema', async () => {
    schema = createTestSchema();
    const stores: PostgresStores = await createPostgresStores({ url: schema.url, schema: schema.schema });
    opened.push(stores);
    const tables = await stores.database.pool.query<{ table_schema: string; table_name: string }>(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name IN ('api_keys', 'requests', 'schema_migrations') AND table_schema = $1 ORDER BY table_name",
      [schema.schema]);
    expect(tables.rows.map((row) => row.table_name)).toEqual(['api_keys', 'requests', 'schema_migrations']);
    const current = await stores.database.pool.query<{ schema: string }>('SELECT current_schema() AS schema');
    expect(current.rows[0].schema).toBe(schema.schema);
  });

  it('refuses schema names that are not plain lower-case identifiers, before touching the server', async () => {
    schema = createTestSchema();
    for (const name of ['covenant; DROP TABLE api_keys', 'Covenant', '1covenant', 'a-b', '']) {
      expect(() => checkSchemaName(name)).toThrow(/schema/);
      await expect(openPostgres({ url: postgresUrl, schema: name })).rejects.toThrow(/schema/);
    }
  });

  it('fails at start, quickly, when PostgreSQL cannot be reached', async () => {
    schema = createTestSchema();
    const started = Date.now();
    await expect(createPostgresStores({ url: 'postgres://postgres@127.0.0.1:1/test', schema: schema.schema })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps request records queued when a batch fails, and writes each exactly once on the next flush', async () => {
    schema = createTestSchema();
    const stores = await createPostgresStores({ url: schema.url, schema: schema.schema });
    opened.push(stores);
    const real = stores.database.pool;
    let failures = 1;
    // A pool whose next insert fails, as when PostgreSQL restarts between two batches.
    const flaky = {
      query: (text: string, values?: unknown[]) => {
        if (failures > 0 && text.includes('INSERT INTO requests')) {
          failures -= 1;
          return Promise.reject(new Error('connection terminated unexpectedly'));
        }
        return real.query(text, values);
      },
    } as unknown as pg.Pool;
    const log = new PostgresRequestLog({ ...stores.database, pool: flaky } as PostgresDatabase, { onError: () => undefined });
    log.add(requestRecord('a'));
    log.add(requestRecord('b'));
    await expect(log.flush()).rejects.toThrow(/terminated/);
    log.add(requestRecord('c'));
    await log.flush();
    expect((await log.recent(10)).map((record) => record.id).sort()).toEqual(['a', 'b', 'c']);
  });
});
