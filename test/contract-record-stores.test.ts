// The contract record store's contract on SQLite and PostgreSQL.
import { createSqliteContractRecordStore } from '../src/stores/sqlite/contract-record-store.js';
import { createPostgresContractRecordStore } from '../src/stores/postgres/contract-record-store.js';
import { postgresFixture, sqliteFixture } from './helpers/store-fixtures.js';
import { runContractRecordStoreContract } from './contract-record-store-contract.js';

runContractRecordStoreContract('SQLite', sqliteFixture(createSqliteContractRecordStore));
runContractRecordStoreContract('PostgreSQL', postgresFixture(createPostgresContractRecordStore));
