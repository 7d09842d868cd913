// The sourcing workbench's records on SQLite: inventory items and links, sourcing decisions, vendor pre-qualifications.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import {
  decisionFromRow, itemFromRow, linkFromRow, orderLink, qualificationFromRow,
  type DecisionRow, type ItemRow, type LinkRow, type QualificationRow, type SourcingStore,
} from '../../sourcing/store.js';

export const sourcingMigrations: readonly Migration[] = [
  {
    id: 'sourcing-001-inventory',
    sql: `
      CREATE TABLE inventory_items (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        department TEXT,
        data TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (kind, name)
      );
      CREATE TABLE inventory_links (
        from_kind TEXT NOT NULL,
        from_name TEXT NOT NULL,
        to_kind TEXT NOT NULL,
        to_name TEXT NOT NULL,
        exception TEXT,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (from_kind, from_name, to_kind, to_name)
      );
      CREATE INDEX inventory_links_to ON inventory_links (to_kind, to_name);
      CREATE TABLE sourcing_decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        system TEXT NOT NULL,
        strategy TEXT NOT NULL,
        answers TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        decided_at INTEGER NOT NULL
      );
      CREATE INDEX sourcing_decisions_system ON sourcing_decisions (system);
      CREATE TABLE vendor_qualifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        vendor TEXT NOT NULL,
        layer TEXT NOT NULL,
        score REAL NOT NULL,
        passed INTEGER NOT NULL,
        detail TEXT NOT NULL,
        qualified_by TEXT NOT NULL,
        qualified_at INTEGER NOT NULL
      );
      CREATE INDEX vendor_qualifications_vendor ON vendor_qualifications (vendor);
    `,
  },
];

export function createSqliteSourcingStore(database: SqliteDatabase): SourcingStore {
  migrate(database, sourcingMigrations);
  const put = database.prepare(
    `INSERT INTO inventory_items (kind, name, department, data, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (kind, name) DO UPDATE SET department = excluded.department, data = excluded.data, updated_at = excluded.updated_at, updated_by = excluded.updated_by`);
  const get = database.prepare<[string, string], ItemRow>('SELECT * FROM inventory_items WHERE kind = ? AND name = ?');
  const remove = database.prepare('DELETE FROM inventory_items WHERE kind = ? AND name = ?');
  const removeLinks = database.prepare('DELETE FROM inventory_links WHERE (from_kind = ? AND from_name = ?) OR (to_kind = ? AND to_name = ?)');
  const link = database.prepare(
    `INSERT INTO inventory_links (from_kind, from_name, to_kind, to_name, exception, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (from_kind, from_name, to_kind, to_name) DO UPDATE SET exception = excluded.exception, created_at = excluded.created_at, created_by = excluded.created_by`);
  const unlink = database.prepare('DELETE FROM inventory_links WHERE from_kind = ? AND from_name = ? AND to_kind = ? AND to_name = ?');
  const linksOf = database.prepare<[string, string, string, string], LinkRow>(
    'SELECT * FROM inventory_links WHERE (from_kind = ? AND from_name = ?) OR (to_kind = ? AND to_name = ?) ORDER BY from_kind, from_name, to_kind, to_name');
  const allLinks = database.prepare<[], LinkRow>('SELECT * FROM inventory_links ORDER BY from_kind, from_name, to_kind, to_name');
  const addDecision = database.prepare('INSERT INTO sourcing_decisions (system, strategy, answers, decided_by, decided_at) VALUES (?, ?, ?, ?, ?)');
  const decisions = database.prepare<[string], DecisionRow>('SELECT * FROM sourcing_decisions WHERE system = ? ORDER BY id DESC');
  const addQualification = database.prepare(
    'INSERT INTO vendor_qualifications (vendor, layer, score, passed, detail, qualified_by, qualified_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const qualifications = database.prepare<[string], QualificationRow>('SELECT * FROM vendor_qualifications WHERE vendor = ? ORDER BY id DESC');
  const removeAll = database.transaction((kind: string, name: string) => {
    removeLinks.run(kind, name, kind, name);
    return remove.run(kind, name).changes > 0;
  });
  return {
    async put(item) {
      put.run(item.kind, item.name, item.department, JSON.stringify(item.data), item.updatedAt, item.updatedBy);
      return itemFromRow(get.get(item.kind, item.name) as ItemRow);
    },
    async get(kind, name) {
      const row = get.get(kind, name);
      return row ? itemFromRow(row) : undefined;
    },
    async list(kind, filter = {}) {
      const rows = filter.department
        ? database.prepare<[string, string], ItemRow>('SELECT * FROM inventory_items WHERE kind = ? AND department = ? ORDER BY name').all(kind, filter.department)
        : database.prepare<[string], ItemRow>('SELECT * FROM inventory_items WHERE kind = ? ORDER BY name').all(kind);
      return rows.map(itemFromRow);
    },
    async remove(kind, name) {
      return removeAll(kind, name);
    },
    async link(value) {
      const [from, to] = orderLink(value.from, value.to);
      link.run(from.kind, from.name, to.kind, to.name, value.exception ? JSON.stringify(value.exception) : null, value.createdAt, value.createdBy);
      return { ...value, from, to };
    },
    async unlink(first, second) {
      const [from, to] = orderLink(first, second);
      return unlink.run(from.kind, from.name, to.kind, to.name).changes > 0;
    },
    async links(of) {
      const rows = of ? linksOf.all(of.kind, of.name, of.kind, of.name) : allLinks.all();
      return rows.map(linkFromRow);
    },
    async addDecision(decision) {
      const result = addDecision.run(decision.system, decision.strategy, JSON.stringify(decision.answers), decision.decidedBy, decision.decidedAt);
      return { id: Number(result.lastInsertRowid), ...decision };
    },
    async decisions(system) {
      return decisions.all(system).map(decisionFromRow);
    },
    async addQualification(qualification) {
      const result = addQualification.run(qualification.vendor, qualification.layer, qualification.score, qualification.passed ? 1 : 0,
        JSON.stringify(qualification.detail), qualification.qualifiedBy, qualification.qualifiedAt);
      return { id: Number(result.lastInsertRowid), ...qualification };
    },
    async qualifications(vendor) {
      return qualifications.all(vendor).map(qualificationFromRow);
    },
  };
}
