// The console session store's contract on SQLite and PostgreSQL.
import { createPostgresConsoleSessionStore } from '../src/stores/postgres/console-session-store.js';
import { createSqliteConsoleSessionStore } from '../src/stores/sqlite/console-session-store.js';
import { runConsoleSessionStoreContract } from './console-session-store-contract.js';
import { postgresFixture, sqliteFixture } from './helpers/store-fixtures.js';

runConsoleSessionStoreContract('SQLite', sqliteFixture(createSqliteConsoleSessionStore));
runConsoleSessionStoreContract('PostgreSQL', postgresFixture(createPostgresConsoleSessionStore));
