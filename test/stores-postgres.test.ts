// PostgreSQL plumbing: migrations once across replicas starting together, schema isolation, failures and retries.
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { checkSchemaName, openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { createPostgresStores, type PostgresStores } from '../src/stores/postgres/index.js';
import { recordMigrations } from '../src/stores/postgres/records.js';
import { createTestSchema, postgresUrl, type TestSchema } from './helpers/services.js';


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
    await replicas[3].keys.insert({ id: 'key_r1', department: 'claims', name: 'r1', models: null, budgets: [], source: 'api', secretHash: 'hash-r1', createdAt: '2025-03-01T10:00:00.000Z' });
    expect((await replicas[1].keys.list()).map((key) => key.id)).toEqual(['key_r1']);
  });

  it('keeps every table inside its own schema', async () => {
    schema = createTestSchema();
    const stores: PostgresStores = await createPostgresStores({ url: schema.url, schema: schema.schema });
    opened.push(stores);
    const tables = await stores.database.pool.query<{ table_schema: string; table_name: string }>(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name IN ('api_keys', 'requests', 'schema_migrations') AND table_schema = $1 ORDER BY table_name",
      [schema.schema]);
    expect(tables.rows.map((row) => row.table_name)).toEqual(['api_keys', 'schema_migrations']);
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

});
