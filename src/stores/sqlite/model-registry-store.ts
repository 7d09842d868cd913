// The model registry on SQLite: versions, what their upstreams returned, and every alias move, only ever added to.
import { migrate, type Migration, type SqliteDatabase } from './database.js';
import {
  fingerprintFromRow, moveFromRow, versionColumns, versionFromRow, versionValues,
  type FingerprintRow, type ModelRegistryStore, type ModelVersionRow, type MoveRow,
} from '../../models/types.js';

export const registryMigrations: readonly Migration[] = [
  {
    id: 'registry-1',
    sql: `
      CREATE TABLE model_versions (
        alias TEXT NOT NULL,
        version TEXT NOT NULL,
        provider TEXT NOT NULL,
        upstream_id TEXT NOT NULL,
        input_micros INTEGER NOT NULL,
        output_micros INTEGER NOT NULL,
        cached_input_micros INTEGER NOT NULL,
        cache_write_micros INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER,
        calls INTEGER NOT NULL DEFAULT 0,
        deprecation_notice_at INTEGER,
        support_until INTEGER,
        shadow_micros INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (alias, version)
      );
      CREATE TABLE model_fingerprints (
        alias TEXT NOT NULL,
        version TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        expected INTEGER NOT NULL,
        PRIMARY KEY (alias, version, kind, value)
      );
      CREATE TABLE model_moves (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alias TEXT NOT NULL,
        action TEXT NOT NULL,
        from_version TEXT,
        to_version TEXT,
        by_name TEXT NOT NULL,
        at INTEGER NOT NULL,
        detail TEXT
      );
      CREATE INDEX model_moves_alias ON model_moves (alias, id);
    `,
  },
  {
    id: 'registry-mock-1',
    sql: `
      CREATE TABLE mock_settings (
        provider TEXT PRIMARY KEY,
        settings TEXT,
        revision INTEGER NOT NULL
      );
    `,
  },
  {
    id: 'registry-drift-1',
    sql: `
      CREATE TABLE drift_windows (
        replica TEXT NOT NULL,
        alias TEXT NOT NULL,
        version TEXT NOT NULL,
        state TEXT NOT NULL,
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (replica, alias, version)
      );
    `,
  },
];

export function createSqliteModelRegistryStore(database: SqliteDatabase): ModelRegistryStore {
  migrate(database, registryMigrations);
  const insertVersion = database.prepare(
    `INSERT INTO model_versions (${versionColumns.join(', ')}) VALUES (${versionColumns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`);
  const setTerms = database.prepare('UPDATE model_versions SET deprecation_notice_at = ?, support_until = ? WHERE alias = ? AND version = ?');
  const versions = database.prepare<[], ModelVersionRow>('SELECT * FROM model_versions ORDER BY alias, first_seen, version');
  const use = database.prepare(
    'UPDATE model_versions SET calls = calls + ?, shadow_micros = shadow_micros + ?, last_seen = COALESCE(?, last_seen) WHERE alias = ? AND version = ?');
  const insertFingerprint = database.prepare(
    'INSERT INTO model_fingerprints (alias, version, kind, value, first_seen, expected) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const fingerprints = database.prepare<[], FingerprintRow>('SELECT * FROM model_fingerprints ORDER BY first_seen');
  const insertMove = database.prepare('INSERT INTO model_moves (alias, action, from_version, to_version, by_name, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const moveById = database.prepare<[number], MoveRow>('SELECT * FROM model_moves WHERE id = ?');
  const allMoves = database.prepare<[], MoveRow>('SELECT * FROM model_moves ORDER BY id');
  const aliasMoves = database.prepare<[string], MoveRow>('SELECT * FROM model_moves WHERE alias = ? ORDER BY id');
  const counter = database.prepare<[], { moves: number | null; versions: number; fingerprints: number }>(
    `SELECT (SELECT MAX(id) FROM model_moves) AS moves, (SELECT COUNT(*) FROM model_versions) AS versions,
            (SELECT COUNT(*) FROM model_fingerprints) AS fingerprints`);
  const mockRevisions = database.prepare<[], { revisions: number | null }>('SELECT SUM(revision) AS revisions FROM mock_settings');
  const mockRows = database.prepare<[], { provider: string; settings: string }>('SELECT provider, settings FROM mock_settings WHERE settings IS NOT NULL ORDER BY provider');
  const upsertMock = database.prepare(
    'INSERT INTO mock_settings (provider, settings, revision) VALUES (?, ?, 1) ON CONFLICT (provider) DO UPDATE SET settings = excluded.settings, revision = mock_settings.revision + 1');
  const driftRows = database.prepare<[string], { alias: string; version: string; state: string }>('SELECT alias, version, state FROM drift_windows WHERE replica = ? ORDER BY alias, version');
  const saveDrift = database.prepare(
    'INSERT INTO drift_windows (replica, alias, version, state, saved_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (replica, alias, version) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at');
  const saveDriftAll = database.transaction((replica: string, windows: readonly { alias: string; version: string; state: unknown }[], at: number) => {
    for (const window of windows) saveDrift.run(replica, window.alias, window.version, JSON.stringify(window.state), at);
  });
  return {
    async driftWindows(replica) {
      return driftRows.all(replica).map((row) => ({ alias: row.alias, version: row.version, state: JSON.parse(row.state) as unknown }));
    },
    async saveDriftWindows(replica, windows, at) {
      saveDriftAll(replica, windows, at);
    },
    async addVersion(version) {
      return insertVersion.run(...versionValues(version)).changes > 0;
    },
    async setTerms(alias, version, terms) {
      setTerms.run(terms.deprecationNoticeAt, terms.supportUntil, alias, version);
    },
    async versions() {
      return versions.all().map(versionFromRow);
    },
    async recordUse(alias, version, recorded) {
      use.run(recorded.calls, recorded.shadowMicros, recorded.lastSeen, alias, version);
    },
    async addFingerprint(fingerprint) {
      const result = insertFingerprint.run(fingerprint.alias, fingerprint.version, fingerprint.kind, fingerprint.value, fingerprint.firstSeen, fingerprint.expected ? 1 : 0);
      return result.changes > 0;
    },
    async fingerprints() {
      return fingerprints.all().map(fingerprintFromRow);
    },
    async appendMove(move) {
      const result = insertMove.run(move.alias, move.action, move.fromVersion, move.toVersion, move.by, move.at, move.detail === null ? null : JSON.stringify(move.detail));
      return moveFromRow(moveById.get(Number(result.lastInsertRowid)) as MoveRow);
    },
    async moves(alias) {
      return (alias === undefined ? allMoves.all() : aliasMoves.all(alias)).map(moveFromRow);
    },
    async changeCounter() {
      const row = counter.get()!;
      return `${row.moves ?? 0}:${row.versions}:${row.fingerprints}:${mockRevisions.get()?.revisions ?? 0}`;
    },
    async mockSettings() {
      return mockRows.all().map((row) => ({ provider: row.provider, settings: JSON.parse(row.settings) as Record<string, unknown> }));
    },
    async setMockSettings(provider, settings) {
      upsertMock.run(provider, settings === null ? null : JSON.stringify(settings));
    },
  };
}
