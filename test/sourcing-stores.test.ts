// The sourcing store's contract on SQLite (embedded) and PostgreSQL (distributed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { createSqliteSourcingStore } from '../src/stores/sqlite/sourcing-store.js';
import { openPostgres } from '../src/stores/postgres/database.js';
import { createPostgresSourcingStore } from '../src/stores/postgres/sourcing-store.js';
import { createTestSchema } from './helpers/services.js';
import { runSourcingStoreContract } from './sourcing-store-contract.js';

runSourcingStoreContract('SQLite', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-sourcing-'));
  const path = join(directory, 'covenant.db');
  const databases = [openDatabase(path)];
  return {
    store: createSqliteSourcingStore(databases[0]!),
    async reopen() {
      const database = openDatabase(path);
      databases.push(database);
      return createSqliteSourcingStore(database);
    },
    async cleanup() {
      for (const database of databases) database.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

runSourcingStoreContract('PostgreSQL', async () => {
  const schema = createTestSchema();
  const databases = [await openPostgres({ url: schema.url, schema: schema.schema })];
  return {
    store: await createPostgresSourcingStore(databases[0]!),
    async reopen() {
      const database = await openPostgres({ url: schema.url, schema: schema.schema });
      databases.push(database);
      return createPostgresSourcingStore(database);
    },
    async cleanup() {
      for (const database of databases) await database.close();
      await schema.drop();
    },
  };
});
