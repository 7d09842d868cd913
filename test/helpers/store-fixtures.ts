// A durable store's contract-test fixture on each backend: the store on a fresh SQLite file or PostgreSQL schema, reopenable as a second process would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgres, type PostgresDatabase } from '../../src/stores/postgres/database.js';
import { openDatabase, type SqliteDatabase } from '../../src/stores/sqlite/database.js';
import { createTestSchema } from './services.js';

export interface StoreFixture<Store> {
  store: Store;
  /** The same data through a new connection (another process, or a restart). */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

/** A fixture factory over a fresh SQLite file; `create` opens the store on a database (applying its migrations). */
export function sqliteFixture<Store>(create: (database: SqliteDatabase) => Store): () => Promise<StoreFixture<Store>> {
  return async () => {
    const directory = mkdtempSync(join(tmpdir(), 'covenant-store-'));
    const path = join(directory, 'covenant.db');
    const databases: SqliteDatabase[] = [openDatabase(path)];
    return {
      store: create(databases[0]!),
      async reopen() {
        const database = openDatabase(path);
        databases.push(database);
        return create(database);
      },
      async cleanup() {
        for (const database of databases) database.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  };
}

/** A fixture factory over a fresh PostgreSQL schema, dropped at cleanup. */
export function postgresFixture<Store>(create: (database: PostgresDatabase) => Store | Promise<Store>): () => Promise<StoreFixture<Store>> {
  return async () => {
    const schema = createTestSchema();
    const databases: PostgresDatabase[] = [await openPostgres({ url: schema.url, schema: schema.schema })];
    return {
      store: await create(databases[0]!),
      async reopen() {
        const database = await openPostgres({ url: schema.url, schema: schema.schema });
        databases.push(database);
        return create(database);
      },
      async cleanup() {
        for (const database of databases) await database.close();
        await schema.drop();
      },
    };
  };
}
