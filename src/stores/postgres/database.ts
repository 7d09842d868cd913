// PostgreSQL connection pool bound to one schema, and a migration runner safe when several replicas start at once.
import pg from 'pg';

/** A named SQL script applied once per schema and recorded in `schema_migrations` (the same idea as the SQLite stores). */
export interface PostgresMigration {
  id: string;
  sql: string;
}

export interface PostgresPoolOptions {
  /** e.g. postgres://postgres@127.0.0.1:5432/test */
  url: string;
  /** Every table lives in this schema (created if missing); default "public". Lower-case letters, digits and "_". */
  schema?: string;
  /** Most connections this pool opens; default 10. */
  max?: number;
  /** Give up connecting after this long (ms); default 5000, so a dead server fails requests instead of hanging them. */
  connectionTimeoutMs?: number;
  /** Called on errors of idle pooled connections (a server restart); without it they would crash the process. */
  onError?: (error: Error) => void;
  /**
   * PostgreSQL's synchronous_commit for this pool; default 'on' (a commit waits for the disk flush). 'off' keeps
   * every commit through a crash of Covenant itself, like the embedded store's WAL mode, but a crash of the
   * PostgreSQL server or its machine may lose the last fraction of a second of commits; in exchange each write
   * takes a round trip instead of a disk flush.
   */
  synchronousCommit?: 'on' | 'off';
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;
const int8Oid = 20;

/**
 * BIGINT (int8) columns hold micro-dollars and token counts, which stay below 2^53 (money is safe up to 9e15):
 * parse them as Numbers. Done per pool, so other users of `pg` in the process keep the default (strings).
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === int8Oid && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** Check a schema name; it is interpolated into SQL and the connection's search_path, so only plain identifiers pass. */
export function checkSchemaName(schema: string): string {
  if (!schemaPattern.test(schema)) {
    throw new Error(`PostgreSQL schema "${schema}" must be lower-case letters, digits and "_", starting with a letter or "_"`);
  }
  return schema;
}

export interface PostgresDatabase {
  pool: pg.Pool;
  schema: string;
  close(): Promise<void>;
}

/**
 * Open a pool whose every connection uses `schema` (search_path set in the startup packet, so no query can run
 * before it applies), and create the schema when it is missing.
 */
export async function openPostgres(options: PostgresPoolOptions): Promise<PostgresDatabase> {
  const schema = checkSchemaName(options.schema ?? 'public');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    options: `-c search_path=${schema} -c synchronous_commit=${options.synchronousCommit === 'off' ? 'off' : 'on'}`,
    types,
  });
  pool.on('error', (error) => options.onError?.(error));
  // A connection lost while checked out (between two queries of a transaction or a lock) emits 'error' on its client,
  // which the pool listens to only while idle: unheard, it would be an uncaught exception that ends the gateway.
  pool.on('connect', (client) => client.on('error', (error) => options.onError?.(error)));
  try {
    // Two replicas creating the schema at the same moment can both fail "IF NOT EXISTS"; the lock orders them.
    await withAdvisoryLock(pool, `covenant:schema:${schema}`, async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    });
  } catch (error) {
    await pool.end();
    throw error;
  }
  let closed = false;
  return {
    pool,
    schema,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** Run `work` on one connection while holding a session advisory lock named `name` (database-wide). */
export async function withAdvisoryLock<T>(pool: pg.Pool, name: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [name]);
    try {
      return await work(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch((error: Error) => {
        broken = error;
      });
    }
  } finally {
    // A connection whose unlock failed may still hold the lock: destroy it rather than hand it to the next caller.
    client.release(broken);
  }
}

/** Like withAdvisoryLock, but when another session holds the lock, skip `work` and resolve undefined. */
export async function withAdvisoryTryLock<T>(pool: pg.Pool, name: string, work: () => Promise<T>): Promise<T | undefined> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const taken = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS taken', [name]);
    if (!taken.rows[0].taken) return undefined;
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch((error: Error) => {
        broken = error;
      });
    }
  } finally {
    // A connection whose unlock failed may still hold the lock: destroy it rather than hand it to the next caller.
    client.release(broken);
  }
}

/**
 * Apply the migrations not yet applied to the pool's schema, each in its own transaction. Several replicas
 * starting together serialize on an advisory lock named after the schema, so each migration runs exactly once.
 */
export async function migratePostgres(database: PostgresDatabase, migrations: readonly PostgresMigration[]): Promise<string[]> {
  return withAdvisoryLock(database.pool, `covenant:migrate:${database.schema}`, async (client) => {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const applied = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((row) => row.id));
    const appliedNow: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`PostgreSQL migration ${migration.id} failed: ${(error as Error).message}`, { cause: error });
      }
      appliedNow.push(migration.id);
    }
    return appliedNow;
  });
}

/** Run `work` inside one transaction on one connection; rolls back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    // A connection left mid-transaction must not go back to the pool.
    client.release(broken);
  }
}
