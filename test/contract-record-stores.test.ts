// The contract record store's contract on SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type SqliteDatabase } from '../src/stores/sqlite/database.js';
import { createSqliteContractRecordStore } from '../src/stores/sqlite/contract-record-store.js';
import { openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { createPostgresContractRecordStore } from '../src/stores/postgres/contract-record-store.js';
import { createTestSchema } from './helpers/services.js';
import { runContractRecordStoreContract } from './contract-record-store-contract.js';

runContractRecordStoreContract('SQLite', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-contract-records-'));
  const path = join(directory, 'covenant.db');
  const databases: SqliteDatabase[] = [openDatabase(path)];
  return {
    store: createSqliteContractRecordStore(databases[0]!),
    async reopen() {
      const database = openDatabase(path);
      databases.push(database);
      return createSqliteContractRecordStore(database);
    },
    async cleanup() {
      for (const database of databases) database.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

runContractRecordStoreContract('PostgreSQL', async () => {
  const schema = createTestSchema();
  const databases: PostgresDatabase[] = [await openPostgres({ url: schema.url, schema: schema.schema })];
  return {
    store: await createPostgresContractRecordStore(databases[0]!),
    async reopen() {
      const database = await openPostgres({ url: schema.url, schema: schema.schema });
      databases.push(database);
      return createPostgresContractRecordStore(database);
    },
    async cleanup() {
      for (const database of databases) await database.close();
      await schema.drop();
    },
  };
});
