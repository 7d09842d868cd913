// SQLite evidence ledger: the ledger core over rows in one database, appends group-committed in the turn's transaction.
//
// One process writes, so the tree's right edge is kept in memory; upper subtree hashes are stored for fast proofs.
import { MerkleFrontier, toHex, type Hash, type NodeReader } from '../../core/merkle.js';
import { contentFromRow, type ContentRow, type PreparedContent } from '../../ledger/content.js';
import {
  numberBatch, openLedgerLog, synchronously, type AppendRow, type CheckedEntryQuery, type CommitOutcome, type LedgerLog,
  type LedgerLogOptions, type PendingAppend, type SigningKey, type TurnLedgerStorage,
} from '../../ledger/log.js';
import { checkpointFromRow, entryFromRow, type CheckpointRow, type EntryRow } from '../../ledger/rows.js';
import type { StoredCheckpoint, StoredContent, StoredEntry, TreeNode } from '../../ledger/types.js';
import { migrate, openDatabase, type SqliteDatabase } from './database.js';
import { ledgerMigrations } from './ledger-migrations.js';
import { cachedReader, prepareStatements, type TimeMark } from './ledger-statements.js';
import { computedNodes, lowestStoredLevel, sqliteTreeReader } from './ledger-tree.js';
import type { TurnScheduler } from './turn.js';

export interface SqliteLedgerOptions extends LedgerLogOptions {
  /** Database file (':memory:' for tests). Ignored when `database` is given. */
  path?: string;
  /** An already opened database (e.g. shared with the other SQLite stores); the ledger will not close it. */
  database?: SqliteDatabase;
  /**
   * Defer a group commit to the end of the turn (default setImmediate); the app shares one transaction per turn between
   * stores (stores/sqlite/turn.ts) and settles the returned outcome after its COMMIT.
   */
  schedule?: TurnScheduler;
}

/** The SQLite ledger is the ledger core (LedgerLog) over SqliteLedgerStorage. */
export type SqliteLedgerStore = LedgerLog;

/** Open (creating if needed) the ledger in a SQLite database and load its tree state. */
export function openSqliteLedger(options: SqliteLedgerOptions): SqliteLedgerStore {
  if (options.database === undefined && options.path === undefined) throw new Error('openSqliteLedger needs a path or a database');
  const ownsDatabase = options.database === undefined;
  const database = options.database ?? openDatabase(options.path as string);
  try {
    migrate(database, ledgerMigrations);
    // On its own, a batch is its own transaction: committed once the flush returns.
    const schedule = options.schedule ?? ((flush) => setImmediate(() => flush()?.committed()));
    const storage = new SqliteLedgerStorage(database, ownsDatabase, options.readOnly !== true, schedule);
    return synchronously(openLedgerLog(storage, options));
  } catch (error) {
    if (ownsDatabase) database.close();
    throw error;
  }
}

class SqliteLedgerStorage implements TurnLedgerStorage {
  readonly commits = 'per-turn';
  readonly lowestStoredLevel = lowestStoredLevel;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly reader: NodeReader;
  private readonly readTransaction: (read: () => unknown) => unknown;
  private readonly selectKey;
  private readonly insertKey;
  /** The committed tree's right edge (writers only). */
  private frontier: MerkleFrontier;
  /** The newest entry time committed (ISO text), to know when a batch needs a time mark. */
  private newestTime: string;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly ownsDatabase: boolean,
    private readonly writable: boolean,
    readonly schedule: (flush: () => CommitOutcome | undefined) => void,
  ) {
    this.statements = prepareStatements(database);
    // A proof makes a dozen point reads; in WAL mode each autocommit read opens its own read transaction, so grouping
    // them halves the cost and reads one consistent snapshot while the writer appends.
    this.readTransaction = database.transaction((read: () => unknown) => read());
    this.reader = cachedReader(sqliteTreeReader(this.statements));
    this.selectKey = database.prepare<[], SigningKey>('SELECT origin, signer_key AS signerKey, verifier_key AS verifierKey FROM ledger_signing_key WHERE id = 1');
    this.insertKey = database.prepare<[string, string, string, string]>(
      'INSERT OR IGNORE INTO ledger_signing_key (id, origin, signer_key, verifier_key, created_at) VALUES (1, ?, ?, ?, ?)');
    // Readers compute from stored nodes on demand (and must open a damaged log so that `audit verify` can report it).
    this.frontier = writable ? this.loadFrontier() : new MerkleFrontier();
    this.newestTime = (this.statements.newestTime.get() as string | undefined) ?? '';
  }

  appendBatch(batch: readonly PendingAppend[], now: () => string): { rows: AppendRow[]; outcome: CommitOutcome } {
    const before = this.frontier.clone();
    const rows = numberBatch(batch, this.frontier, now());
    // One mark per batch that raises the newest time, at the first entry that does (ISO times compare as text).
    let timeMark: TimeMark | undefined;
    for (const row of rows) {
      if (timeMark === undefined) {
        if (row.time > this.newestTime) timeMark = { time: row.time, seq: row.seq };
      } else if (row.time > timeMark.time) timeMark.time = row.time;
    }
    try {
      this.statements.writeBatch(rows, timeMark);
    } catch (error) {
      this.frontier = before;
      throw error;
    }
    return {
      rows,
      outcome: {
        committed: () => {
          if (timeMark !== undefined) this.newestTime = timeMark.time;
        },
        failed: () => {
          this.frontier = before;
        },
      },
    };
  }

  readSigningKey(): SigningKey | undefined {
    return this.selectKey.get();
  }

  insertSigningKey(key: SigningKey, createdAt: string): void {
    this.insertKey.run(key.origin, key.signerKey, key.verifierKey, createdAt);
  }

  /** Committed size: the writer's frontier, or the database for a reader (a gateway may be appending meanwhile). */
  head(): { size: number; root?: () => Hash } {
    if (!this.writable) return { size: this.storedSize() };
    const frontier = this.frontier;
    return { size: frontier.size, root: () => frontier.root() };
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    const row = this.statements.latestCheckpoint.get() as CheckpointRow | undefined;
    return row === undefined ? undefined : checkpointFromRow(row);
  }

  checkpoints(fromSize: number, limit: number): StoredCheckpoint[] {
    return (this.statements.checkpointsFrom.all(fromSize, limit) as CheckpointRow[]).map(checkpointFromRow);
  }

  insertCheckpoint(size: number, rootHash: Buffer, note: string, time: string): void {
    this.statements.insertCheckpoint.run(size, rootHash, note, time);
  }

  entries(query: CheckedEntryQuery): StoredEntry[] {
    let from = query.from;
    const conditions = ['seq >= ?'];
    const parameters: unknown[] = [];
    if (query.department !== undefined) {
      conditions.push('department = ?');
      parameters.push(query.department);
    }
    if (query.since !== undefined) {
      // Entries before the first time mark at or after `since` are all older (migration ledger-002); none: all are.
      const first = this.statements.firstSeqSince.get(query.since) as number | undefined;
      if (first === undefined) return [];
      from = Math.max(from, first);
      conditions.push('time >= ?');
      parameters.push(query.since);
    }
    if (query.kind !== undefined) {
      conditions.push('kind = ?');
      parameters.push(query.kind);
    }
    const sql = `SELECT seq, entry_json, leaf_hash FROM ledger_entries WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT ?`;
    const rows = this.database.prepare(sql).all(from, ...parameters, query.limit) as EntryRow[];
    return rows.map(entryFromRow);
  }

  entry(seq: number): StoredEntry | undefined {
    const row = this.statements.entryBySeq.get(seq) as EntryRow | undefined;
    return row === undefined ? undefined : entryFromRow(row);
  }

  withTree<T>(compute: (reader: NodeReader) => T): T {
    return compute(this.reader);
  }

  inOneRead<T>(read: () => T): T {
    return this.readTransaction(read) as T;
  }

  treeNodes(level: number, from: number, limit: number): TreeNode[] {
    if (level > 0 && level < lowestStoredLevel) {
      const width = 2 ** level;
      return computedNodes(this.statements.leavesFrom.all(from * width, (from + limit) * width) as { index: number; hash: Buffer }[], level);
    }
    const rows =
      level === 0
        ? (this.statements.leavesFrom.all(from, from + limit) as { index: number; hash: Buffer }[])
        : (this.statements.nodesFrom.all(level, from, from + limit) as { index: number; hash: Buffer }[]);
    return rows.map((row) => ({ index: row.index, hash: toHex(row.hash) }));
  }

  storeContent(seq: number, prepared: PreparedContent): boolean {
    const entry = this.statements.entryMeta.get(seq) as { time: string; department: string | null } | undefined;
    if (entry === undefined) return false;
    this.statements.upsertContent.run(
      seq,
      prepared.mode,
      entry.department,
      entry.time,
      prepared.requestJson,
      prepared.responseJson,
      prepared.redactions === null ? null : JSON.stringify(prepared.redactions),
    );
    return true;
  }

  content(seq: number): StoredContent | undefined {
    const row = this.statements.contentBySeq.get(seq) as ContentRow | undefined;
    return row === undefined ? undefined : contentFromRow(row);
  }

  purgeContent(olderThan: string, department: string | undefined): number {
    const result = department === undefined
      ? this.statements.purgeContent.run(olderThan)
      : this.statements.purgeDepartmentContent.run(olderThan, department);
    return result.changes;
  }

  close(): void {
    if (this.ownsDatabase) this.database.close();
  }

  private loadFrontier(): MerkleFrontier {
    try {
      return MerkleFrontier.load(this.reader, this.storedSize());
    } catch (error) {
      throw new Error(`the ledger's stored tree is damaged (${(error as Error).message}); run "covenant audit verify" to find where`);
    }
  }

  private storedSize(): number {
    const last = this.statements.maxSeq.get() as number | null;
    return last === null ? 0 : last + 1;
  }
}
