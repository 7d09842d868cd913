// The sourcing store's contract on SQLite (embedded) and PostgreSQL (distributed).
import { createSqliteSourcingStore } from '../src/stores/sqlite/sourcing-store.js';
import { createPostgresSourcingStore } from '../src/stores/postgres/sourcing-store.js';
import { postgresFixture, sqliteFixture } from './helpers/store-fixtures.js';
import { runSourcingStoreContract } from './sourcing-store-contract.js';

runSourcingStoreContract('SQLite', sqliteFixture(createSqliteSourcingStore));
runSourcingStoreContract('PostgreSQL', postgresFixture(createPostgresSourcingStore));
