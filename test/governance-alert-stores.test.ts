// The governance alert store's contract on SQLite and on PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { createSqliteGovernanceAlertStore } from '../src/stores/sqlite/governance-alert-store.js';
import { openPostgres } from '../src/stores/postgres/database.js';
import { createPostgresGovernanceAlertStore } from '../src/stores/postgres/governance-alert-store.js';
import { createTestSchema } from './helpers/services.js';
import { runGovernanceAlertStoreContract } from './governance-alert-store-contract.js';

runGovernanceAlertStoreContract('SQLite', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-governance-alerts-'));
  const path = join(directory, 'covenant.db');
  const databases = [openDatabase(path)];
  return {
    store: createSqliteGovernanceAlertStore(databases[0]!),
    async reopen() {
      const database = openDatabase(path);
      databases.push(database);
      return createSqliteGovernanceAlertStore(database);
    },
    async cleanup() {
      for (const database of databases) database.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

runGovernanceAlertStoreContract('PostgreSQL', async () => {
  const schema = createTestSchema();
  const databases = [await openPostgres({ url: schema.url, schema: schema.schema })];
  return {
    store: await createPostgresGovernanceAlertStore(databases[0]!),
    async reopen() {
      const database = await openPostgres({ url: schema.url, schema: schema.schema });
      databases.push(database);
      return createPostgresGovernanceAlertStore(database);
    },
    async cleanup() {
      for (const database of databases) await database.close();
      await schema.drop();
    },
  };
});
