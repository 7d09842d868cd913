// The decision store's contract on SQLite (embedded) and PostgreSQL (distributed).
import { createSqliteDecisionStore } from '../src/stores/sqlite/decision-store.js';
import { createPostgresDecisionStore } from '../src/stores/postgres/decision-store.js';
import { postgresFixture, sqliteFixture } from './helpers/store-fixtures.js';
import { runDecisionStoreContract } from './decision-store-contract.js';

runDecisionStoreContract('SQLite', sqliteFixture(createSqliteDecisionStore));
runDecisionStoreContract('PostgreSQL', postgresFixture(createPostgresDecisionStore));
