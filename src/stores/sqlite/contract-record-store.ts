// Contract checks, registered weights and portability requests on SQLite.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import {
  checkColumns, checkFromRow, checkValues, clampLimit, requestColumns, requestFromRow, requestValues, weightsColumns, weightsFromRow, weightsValues,
  type CheckRow, type ContractRecordStore, type RecordFilter, type RequestRow, type WeightsRow,
} from '../../sourcing/records.js';

export const contractRecordMigrations: readonly Migration[] = [
  {
    id: 'contracts-001-records',
    sql: `
      CREATE TABLE contract_checks (
        id INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT NOT NULL, sha256 TEXT NOT NULL, format TEXT NOT NULL, blueprint TEXT, system TEXT,
        contract_id TEXT, department TEXT, passed INTEGER NOT NULL, missing TEXT NOT NULL, weaker TEXT NOT NULL, result TEXT NOT NULL,
        checked_by TEXT NOT NULL, checked_at INTEGER NOT NULL
      );
      CREATE TABLE weight_artifacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, format TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
        parameters INTEGER NOT NULL, summary TEXT NOT NULL, contract_id TEXT, system TEXT, department TEXT, registered_by TEXT NOT NULL,
        registered_at INTEGER NOT NULL
      );
      CREATE TABLE portability_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT, contract_id TEXT NOT NULL, system TEXT, department TEXT, requested_on TEXT NOT NULL,
        due_business_days INTEGER NOT NULL, due_on TEXT NOT NULL, holidays TEXT NOT NULL, note TEXT, status TEXT NOT NULL,
        requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL, weights_id INTEGER, delivered_at INTEGER, overdue_at INTEGER
      );
      CREATE INDEX portability_requests_contract ON portability_requests (contract_id, status);
    `,
  },
];

/** WHERE conditions of a list, with their values in order. */
function where(filter: RecordFilter & { status?: string }): { sql: string; values: (string | number)[] } {
  const conditions = ['1 = 1'];
  const values: (string | number)[] = [];
  const add = (column: string, value: string | undefined | null) => {
    if (value === undefined || value === null) return;
    conditions.push(`${column} = ?`);
    values.push(value);
  };
  add('department', filter.department);
  add('system', filter.system);
  add('contract_id', filter.contractId);
  add('status', filter.status);
  return { sql: conditions.join(' AND '), values };
}

const placeholders = (columns: readonly string[]) => columns.map(() => '?').join(', ');

export function createSqliteContractRecordStore(database: SqliteDatabase): ContractRecordStore {
  migrate(database, contractRecordMigrations);
  const insertCheck = database.prepare(`INSERT INTO contract_checks (${checkColumns.join(', ')}) VALUES (${placeholders(checkColumns)})`);
  const insertWeights = database.prepare(`INSERT INTO weight_artifacts (${weightsColumns.join(', ')}) VALUES (${placeholders(weightsColumns)})`);
  const insertRequest = database.prepare(`INSERT INTO portability_requests (${requestColumns.join(', ')}) VALUES (${placeholders(requestColumns)})`);
  const check = database.prepare<[number], CheckRow>('SELECT * FROM contract_checks WHERE id = ?');
  const weights = database.prepare<[number], WeightsRow>('SELECT * FROM weight_artifacts WHERE id = ?');
  const request = database.prepare<[number], RequestRow>('SELECT * FROM portability_requests WHERE id = ?');
  const deliver = database.prepare("UPDATE portability_requests SET status = 'delivered', weights_id = ?, delivered_at = ? WHERE id = ? AND status IN ('open', 'overdue')");
  const overdue = database.prepare("UPDATE portability_requests SET status = 'overdue', overdue_at = ? WHERE id = ? AND status = 'open'");
  const list = <Row>(table: string, filter: RecordFilter & { status?: string }) => {
    const condition = where(filter);
    return database.prepare(`SELECT * FROM ${table} WHERE ${condition.sql} ORDER BY id DESC LIMIT ?`).all(...condition.values, clampLimit(filter.limit)) as Row[];
  };
  return {
    async recordCheck(record) {
      const id = Number(insertCheck.run(...checkValues(record, record.passed ? 1 : 0)).lastInsertRowid);
      return checkFromRow(check.get(id)!);
    },
    async getCheck(id) {
      const row = check.get(id);
      return row ? checkFromRow(row) : undefined;
    },
    async listChecks(filter = {}) {
      return list<CheckRow>('contract_checks', filter).map(checkFromRow);
    },
    async registerWeights(record) {
      const id = Number(insertWeights.run(...weightsValues(record)).lastInsertRowid);
      return weightsFromRow(weights.get(id)!);
    },
    async getWeights(id) {
      const row = weights.get(id);
      return row ? weightsFromRow(row) : undefined;
    },
    async listWeights(filter = {}) {
      return list<WeightsRow>('weight_artifacts', filter).map(weightsFromRow);
    },
    async openRequest(record) {
      const id = Number(insertRequest.run(...requestValues(record)).lastInsertRowid);
      return requestFromRow(request.get(id)!);
    },
    async getRequest(id) {
      const row = request.get(id);
      return row ? requestFromRow(row) : undefined;
    },
    async listRequests(filter = {}) {
      return list<RequestRow>('portability_requests', filter).map(requestFromRow);
    },
    async deliver(id, delivery) {
      if (deliver.run(delivery.weightsId, delivery.at, id).changes === 0) return undefined;
      return requestFromRow(request.get(id)!);
    },
    async markOverdue(id, at) {
      return overdue.run(at, id).changes > 0;
    },
  };
}
