// The decision store's contract on SQLite (embedded) and PostgreSQL (distributed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';
import { createSqliteDecisionStore } from '../src/stores/sqlite/decision-store.js';
import { openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { createPostgresDecisionStore } from '../src/stores/postgres/decision-store.js';
import { createTestSchema } from './helpers/services.js';
import { runDecisionStoreContract } from './decision-store-contract.js';

runDecisionStoreContract('SQLite', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-decisions-'));
  const path = join(directory, 'covenant.db');
  const databases: SqliteDatabase[] = [openDatabase(path)];
  return {
    store: createSqliteDecisionStore(databases[0]!),
    async reopen() {
      const database = openDatabase(path);
      databases.push(database);
      return createSqliteDecisionStore(database);
    },
    async cleanup() {
      for (const database of databases) database.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

runDecisionStoreContract('PostgreSQL', async () => {
  const schema = createTestSchema();
  const databases: PostgresDatabase[] = [await openPostgres({ url: schema.url, schema: schema.schema })];
  return {
    store: await createPostgresDecisionStore(databases[0]!),
    async reopen() {
      const database = await openPostgres({ url: schema.url, schema: schema.schema });
      databases.push(database);
      return createPostgresDecisionStore(database);
    },
    async cleanup() {
      for (const database of databases) await database.close();
      await schema.drop();
    },
  };
});
