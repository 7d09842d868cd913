// The sourcing workbench's records on PostgreSQL: inventory items and links, sourcing decisions, vendor pre-qualifications.
import {
  decisionFromRow, itemFromRow, linkFromRow, orderLink, qualificationFromRow,
  type DecisionRow, type ItemRow, type LinkRow, type QualificationRow, type SourcingStore,
} from '../../sourcing/store.js';
import { migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  {
    id: 'sourcing-001-inventory',
    sql: `
      CREATE TABLE inventory_items (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        department TEXT,
        data JSONB NOT NULL,
        updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (kind, name)
      );
      CREATE TABLE inventory_links (
        from_kind TEXT NOT NULL,
        from_name TEXT NOT NULL,
        to_kind TEXT NOT NULL,
        to_name TEXT NOT NULL,
        exception JSONB,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (from_kind, from_name, to_kind, to_name)
      );
      CREATE INDEX inventory_links_to ON inventory_links (to_kind, to_name);
      CREATE TABLE sourcing_decisions (
        id BIGSERIAL PRIMARY KEY,
        system TEXT NOT NULL,
        strategy TEXT NOT NULL,
        answers JSONB NOT NULL,
        decided_by TEXT NOT NULL,
        decided_at BIGINT NOT NULL
      );
      CREATE INDEX sourcing_decisions_system ON sourcing_decisions (system);
      CREATE TABLE vendor_qualifications (
        id BIGSERIAL PRIMARY KEY,
        vendor TEXT NOT NULL,
        layer TEXT NOT NULL,
        score DOUBLE PRECISION NOT NULL,
        passed BOOLEAN NOT NULL,
        detail JSONB NOT NULL,
        qualified_by TEXT NOT NULL,
        qualified_at BIGINT NOT NULL
      );
      CREATE INDEX vendor_qualifications_vendor ON vendor_qualifications (vendor);
    `,
  },
];

export async function createPostgresSourcingStore(database: PostgresDatabase): Promise<SourcingStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  return {
    async put(item) {
      const result = await pool.query<ItemRow>(
        `INSERT INTO inventory_items (kind, name, department, data, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (kind, name) DO UPDATE SET department = excluded.department, data = excluded.data, updated_at = excluded.updated_at, updated_by = excluded.updated_by
         RETURNING *`,
        [item.kind, item.name, item.department, JSON.stringify(item.data), item.updatedAt, item.updatedBy]);
      return itemFromRow(result.rows[0]!);
    },
    async get(kind, name) {
      const result = await pool.query<ItemRow>('SELECT * FROM inventory_items WHERE kind = $1 AND name = $2', [kind, name]);
      return result.rows[0] ? itemFromRow(result.rows[0]) : undefined;
    },
    async list(kind, filter = {}) {
      const result = filter.department
        ? await pool.query<ItemRow>('SELECT * FROM inventory_items WHERE kind = $1 AND department = $2 ORDER BY name COLLATE "C"', [kind, filter.department])
        : await pool.query<ItemRow>('SELECT * FROM inventory_items WHERE kind = $1 ORDER BY name COLLATE "C"', [kind]);
      return result.rows.map(itemFromRow);
    },
    async remove(kind, name) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('DELETE FROM inventory_links WHERE (from_kind = $1 AND from_name = $2) OR (to_kind = $1 AND to_name = $2)', [kind, name]);
        const result = await client.query('DELETE FROM inventory_items WHERE kind = $1 AND name = $2', [kind, name]);
        await client.query('COMMIT');
        return (result.rowCount ?? 0) > 0;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
    async link(value) {
      const [from, to] = orderLink(value.from, value.to);
      await pool.query(
        `INSERT INTO inventory_links (from_kind, from_name, to_kind, to_name, exception, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (from_kind, from_name, to_kind, to_name) DO UPDATE SET exception = excluded.exception, created_at = excluded.created_at, created_by = excluded.created_by`,
        [from.kind, from.name, to.kind, to.name, value.exception ? JSON.stringify(value.exception) : null, value.createdAt, value.createdBy]);
      return { ...value, from, to };
    },
    async unlink(first, second) {
      const [from, to] = orderLink(first, second);
      const result = await pool.query('DELETE FROM inventory_links WHERE from_kind = $1 AND from_name = $2 AND to_kind = $3 AND to_name = $4', [from.kind, from.name, to.kind, to.name]);
      return (result.rowCount ?? 0) > 0;
    },
    async links(of) {
      const order = 'ORDER BY from_kind COLLATE "C", from_name COLLATE "C", to_kind COLLATE "C", to_name COLLATE "C"';
      const result = of
        ? await pool.query<LinkRow>(`SELECT * FROM inventory_links WHERE (from_kind = $1 AND from_name = $2) OR (to_kind = $1 AND to_name = $2) ${order}`, [of.kind, of.name])
        : await pool.query<LinkRow>(`SELECT * FROM inventory_links ${order}`);
      return result.rows.map(linkFromRow);
    },
    async addDecision(decision) {
      const result = await pool.query<DecisionRow>(
        'INSERT INTO sourcing_decisions (system, strategy, answers, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [decision.system, decision.strategy, JSON.stringify(decision.answers), decision.decidedBy, decision.decidedAt]);
      return decisionFromRow(result.rows[0]!);
    },
    async decisions(system) {
      const result = await pool.query<DecisionRow>('SELECT * FROM sourcing_decisions WHERE system = $1 ORDER BY id DESC', [system]);
      return result.rows.map(decisionFromRow);
    },
    async addQualification(qualification) {
      const result = await pool.query<QualificationRow>(
        'INSERT INTO vendor_qualifications (vendor, layer, score, passed, detail, qualified_by, qualified_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
        [qualification.vendor, qualification.layer, qualification.score, qualification.passed, JSON.stringify(qualification.detail),
          qualification.qualifiedBy, qualification.qualifiedAt]);
      return qualificationFromRow(result.rows[0]!);
    },
    async qualifications(vendor) {
      const result = await pool.query<QualificationRow>('SELECT * FROM vendor_qualifications WHERE vendor = $1 ORDER BY id DESC', [vendor]);
      return result.rows.map(qualificationFromRow);
    },
  };
}
