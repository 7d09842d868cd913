// The model registry on PostgreSQL: shared by replicas, so a promote or rollback on one is served by all at their next refresh.
import {
  fingerprintFromRow, moveFromRow, versionColumns, versionFromRow, versionValues,
  type FingerprintRow, type ModelRegistryStore, type ModelVersionRow, type MoveRow,
} from '../../models/types.js';
import { migratePostgres, type PostgresDatabase, type PostgresMigration } from './database.js';

const migrations: PostgresMigration[] = [
  {
    id: 'registry-1',
    sql: `
      CREATE TABLE model_versions (
        alias TEXT NOT NULL,
        version TEXT NOT NULL,
        provider TEXT NOT NULL,
        upstream_id TEXT NOT NULL,
        input_micros BIGINT NOT NULL,
        output_micros BIGINT NOT NULL,
        cached_input_micros BIGINT NOT NULL,
        cache_write_micros BIGINT NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT,
        calls BIGINT NOT NULL DEFAULT 0,
        deprecation_notice_at BIGINT,
        support_until BIGINT,
        shadow_micros BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (alias, version)
      );
      CREATE TABLE model_fingerprints (
        alias TEXT NOT NULL,
        version TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        first_seen BIGINT NOT NULL,
        expected BOOLEAN NOT NULL,
        PRIMARY KEY (alias, version, kind, value)
      );
      CREATE TABLE model_moves (
        id BIGSERIAL PRIMARY KEY,
        alias TEXT NOT NULL,
        action TEXT NOT NULL,
        from_version TEXT,
        to_version TEXT,
        by_name TEXT NOT NULL,
        at BIGINT NOT NULL,
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
        revision BIGINT NOT NULL
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
        saved_at BIGINT NOT NULL,
        PRIMARY KEY (replica, alias, version)
      );
    `,
  },
];

export async function createPostgresModelRegistryStore(database: PostgresDatabase): Promise<ModelRegistryStore> {
  await migratePostgres(database, migrations);
  const pool = database.pool;
  return {
    async driftWindows(replica) {
      const result = await pool.query<{ alias: string; version: string; state: string }>('SELECT alias, version, state FROM drift_windows WHERE replica = $1 ORDER BY alias, version', [replica]);
      return result.rows.map((row) => ({ alias: row.alias, version: row.version, state: JSON.parse(row.state) as unknown }));
    },
    async saveDriftWindows(replica, windows, at) {
      if (windows.length === 0) return;
      const values = windows.flatMap((window) => [replica, window.alias, window.version, JSON.stringify(window.state), at]);
      await pool.query(
        `INSERT INTO drift_windows (replica, alias, version, state, saved_at) VALUES ${windows.map((_, index) => `($${index * 5 + 1}, $${index * 5 + 2}, $${index * 5 + 3}, $${index * 5 + 4}, $${index * 5 + 5})`).join(', ')}
         ON CONFLICT (replica, alias, version) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at`, values);
    },
    async addVersion(version) {
      const result = await pool.query(
        `INSERT INTO model_versions (${versionColumns.join(', ')}) VALUES (${versionColumns.map((_, index) => `$${index + 1}`).join(', ')}) ON CONFLICT DO NOTHING`,
        versionValues(version));
      return (result.rowCount ?? 0) > 0;
    },
    async setTerms(alias, version, terms) {
      await pool.query('UPDATE model_versions SET deprecation_notice_at = $1, support_until = $2 WHERE alias = $3 AND version = $4',
        [terms.deprecationNoticeAt, terms.supportUntil, alias, version]);
    },
    async versions() {
      const result = await pool.query<ModelVersionRow>('SELECT * FROM model_versions ORDER BY alias, first_seen, version');
      return result.rows.map(versionFromRow);
    },
    async recordUse(alias, version, use) {
      await pool.query(
        'UPDATE model_versions SET calls = calls + $1, shadow_micros = shadow_micros + $2, last_seen = COALESCE($3, last_seen) WHERE alias = $4 AND version = $5',
        [use.calls, use.shadowMicros, use.lastSeen, alias, version]);
    },
    async addFingerprint(fingerprint) {
      const result = await pool.query(
        'INSERT INTO model_fingerprints (alias, version, kind, value, first_seen, expected) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
        [fingerprint.alias, fingerprint.version, fingerprint.kind, fingerprint.value, fingerprint.firstSeen, fingerprint.expected]);
      return (result.rowCount ?? 0) > 0;
    },
    async fingerprints() {
      const result = await pool.query<FingerprintRow>('SELECT * FROM model_fingerprints ORDER BY first_seen');
      return result.rows.map(fingerprintFromRow);
    },
    async appendMove(move) {
      const result = await pool.query<MoveRow>(
        'INSERT INTO model_moves (alias, action, from_version, to_version, by_name, at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
        [move.alias, move.action, move.fromVersion, move.toVersion, move.by, move.at, move.detail === null ? null : JSON.stringify(move.detail)]);
      return moveFromRow(result.rows[0]!);
    },
    async moves(alias) {
      const result = alias === undefined
        ? await pool.query<MoveRow>('SELECT * FROM model_moves ORDER BY id')
        : await pool.query<MoveRow>('SELECT * FROM model_moves WHERE alias = $1 ORDER BY id', [alias]);
      return result.rows.map(moveFromRow);
    },
    async changeCounter() {
      const result = await pool.query<{ moves: string | null; versions: string; fingerprints: string; mocks: string | null }>(
        `SELECT (SELECT MAX(id) FROM model_moves) AS moves, (SELECT COUNT(*) FROM model_versions) AS versions,
                (SELECT COUNT(*) FROM model_fingerprints) AS fingerprints, (SELECT SUM(revision) FROM mock_settings) AS mocks`);
      const row = result.rows[0]!;
      return `${row.moves ?? 0}:${row.versions}:${row.fingerprints}:${row.mocks ?? 0}`;
    },
    async mockSettings() {
      const result = await pool.query<{ provider: string; settings: string }>('SELECT provider, settings FROM mock_settings WHERE settings IS NOT NULL ORDER BY provider');
      return result.rows.map((row) => ({ provider: row.provider, settings: JSON.parse(row.settings) as Record<string, unknown> }));
    },
    async setMockSettings(provider, settings) {
      await pool.query(
        `INSERT INTO mock_settings (provider, settings, revision) VALUES ($1, $2, 1)
         ON CONFLICT (provider) DO UPDATE SET settings = excluded.settings, revision = mock_settings.revision + 1`,
        [provider, settings === null ? null : JSON.stringify(settings)]);
    },
  };
}
