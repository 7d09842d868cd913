// Contract checks, registered weights and portability requests on PostgreSQL, shared by every replica.
import {
  checkColumns, checkFromRow, checkValues, clampLimit, requestColumns, requestFromRow, requestValues, weightsColumns, weightsFromRow, weightsValues,
  type CheckRow, type ContractRecordStore, type RecordFilter, type RequestRow, type WeightsRow,
} from '../../sourcing/records.js';
import { migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  {
    id: 'contracts-001-records',
    sql: `
      CREATE TABLE contract_checks (
        id BIGSERIAL PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL, format TEXT NOT NULL, blueprint TEXT, system TEXT,
        contract_id TEXT, department TEXT, passed BOOLEAN NOT NULL, missing TEXT NOT NULL, weaker TEXT NOT NULL, result TEXT NOT NULL,
        checked_by TEXT NOT NULL, checked_at BIGINT NOT NULL
      );
      CREATE TABLE weight_artifacts (
        id BIGSERIAL PRIMARY KEY, path TEXT NOT NULL, format TEXT NOT NULL, sha256 TEXT NOT NULL, bytes BIGINT NOT NULL,
        parameters BIGINT NOT NULL, summary TEXT NOT NULL, contract_id TEXT, system TEXT, department TEXT, registered_by TEXT NOT NULL,
        registered_at BIGINT NOT NULL
      );
      CREATE TABLE portability_requests (
        id BIGSERIAL PRIMARY KEY, contract_id TEXT NOT NULL, system TEXT, department TEXT, requested_on TEXT NOT NULL,
        due_business_days INTEGER NOT NULL, due_on TEXT NOT NULL, holidays TEXT NOT NULL, note TEXT, status TEXT NOT NULL,
        requested_by TEXT NOT NULL, requested_at BIGINT NOT NULL, weights_id BIGINT, delivered_at BIGINT, overdue_at BIGINT
      );
      CREATE INDEX portability_requests_contract ON portability_requests (contract_id, status);
    `,
  },
];

const placeholders = (columns: readonly string[]) => columns.map((_, index) => `$${index + 1}`).join(', ');

export async function createPostgresContractRecordStore(database: PostgresDatabase): Promise<ContractRecordStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  const one = async <Row>(sql: string, values: unknown[]): Promise<Row | undefined> => (await pool.query(sql, values)).rows[0] as Row | undefined;
  const list = async <Row>(table: string, filter: RecordFilter & { status?: string }): Promise<Row[]> => {
    const conditions = ['TRUE'];
    const values: (string | number)[] = [];
    const add = (column: string, value: string | undefined | null) => {
      if (value === undefined || value === null) return;
      values.push(value);
      conditions.push(`${column} = $${values.length}`);
    };
    add('department', filter.department);
    add('system', filter.system);
    add('contract_id', filter.contractId);
    add('status', filter.status);
    values.push(clampLimit(filter.limit));
    return (await pool.query(`SELECT * FROM ${table} WHERE ${conditions.join(' AND ')} ORDER BY id DESC LIMIT $${values.length}`, values)).rows as Row[];
  };
  return {
    async recordCheck(record) {
      return checkFromRow((await one<CheckRow>(`INSERT INTO contract_checks (${checkColumns.join(', ')}) VALUES (${placeholders(checkColumns)}) RETURNING *`, checkValues(record, record.passed)))!);
    },
    async getCheck(id) {
      const row = await one<CheckRow>('SELECT * FROM contract_checks WHERE id = $1', [id]);
      return row ? checkFromRow(row) : undefined;
    },
    async listChecks(filter = {}) {
      return (await list<CheckRow>('contract_checks', filter)).map(checkFromRow);
    },
    async registerWeights(record) {
      return weightsFromRow((await one<WeightsRow>(`INSERT INTO weight_artifacts (${weightsColumns.join(', ')}) VALUES (${placeholders(weightsColumns)}) RETURNING *`, weightsValues(record)))!);
    },
    async getWeights(id) {
      const row = await one<WeightsRow>('SELECT * FROM weight_artifacts WHERE id = $1', [id]);
      return row ? weightsFromRow(row) : undefined;
    },
    async listWeights(filter = {}) {
      return (await list<WeightsRow>('weight_artifacts', filter)).map(weightsFromRow);
    },
    async openRequest(record) {
      return requestFromRow((await one<RequestRow>(`INSERT INTO portability_requests (${requestColumns.join(', ')}) VALUES (${placeholders(requestColumns)}) RETURNING *`, requestValues(record)))!);
    },
    async getRequest(id) {
      const row = await one<RequestRow>('SELECT * FROM portability_requests WHERE id = $1', [id]);
      return row ? requestFromRow(row) : undefined;
    },
    async listRequests(filter = {}) {
      return (await list<RequestRow>('portability_requests', filter)).map(requestFromRow);
    },
    async deliver(id, delivery) {
      const row = await one<RequestRow>(
        "UPDATE portability_requests SET status = 'delivered', weights_id = $1, delivered_at = $2 WHERE id = $3 AND status IN ('open', 'overdue') RETURNING *",
        [delivery.weightsId, delivery.at, id]);
      return row ? requestFromRow(row) : undefined;
    },
    async markOverdue(id, at) {
      const result = await pool.query("UPDATE portability_requests SET status = 'overdue', overdue_at = $1 WHERE id = $2 AND status = 'open'", [at, id]);
      return (result.rowCount ?? 0) > 0;
    },
  };
}
