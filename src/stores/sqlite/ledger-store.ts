// SQLite evidence ledger: group-committed appends, stored upper subtree hashes for fast proofs, signed checkpoints, content.
import { randomBytes } from 'node:crypto';
import {
  MerkleFrontier,
  consistencyProof,
  inclusionProof,
  hashLeaf,
  rootAt,
  toHex,
  type Hash,
  type NodeReader,
} from '../../core/merkle.js';
import { generateSignerKey, isValidKeyName, parseSignerKey, signCheckpoint, verifierKeyOf, type NoteSigner } from '../../core/checkpoint.js';
import { migrate, openDatabase, type SqliteDatabase } from './database.js';
import { contentFromRow, prepareContent, type ContentRow } from '../../ledger/content.js';
import { prepareEntry } from '../../ledger/entry.js';
import { LedgerQueryError } from '../../ledger/errors.js';
import { ledgerMigrations } from './ledger-migrations.js';
import { computedNodes, lowestStoredLevel, sqliteTreeReader } from './ledger-tree.js';
import type { TurnOutcome, TurnScheduler } from './turn.js';
import { cachedReader, checkpointFromRow, entryFromRow, prepareStatements, type BatchRow, type CheckpointRow, type EntryRow, type TimeMark } from './ledger-statements.js';
import type {
  AppendResult,
  ConsistencyProofResult,
  ContentMode,
  EntryContent,
  EntryQuery,
  InclusionProofResult,
  LedgerEntryInput,
  LedgerStore,
  StoredCheckpoint,
  StoredContent,
  StoredEntry,
  TreeHead,
  TreeNode,
} from '../../ledger/types.js';

export interface SqliteLedgerOptions {
  /** Database file (':memory:' for tests). Ignored when `database` is given. */
  path?: string;
  /** An already opened database (e.g. shared with the other SQLite stores); the ledger will not close it. */
  database?: SqliteDatabase;
  /** Open for reading only (the CLI): no appends, no signing, no timers, and no key is created. */
  readOnly?: boolean;
  /** Origin line (and key name) used only when the log is created; default "covenant.local/ledger/<random>". */
  origin?: string;
  /** How often a checkpoint is signed while entries arrive; default 1000 ms. */
  checkpointIntervalMs?: number;
  clock?: () => Date;
  /** Called when the background checkpoint fails (it is retried on the next tick). */
  onError?: (error: unknown) => void;
  /**
   * Defer a group commit to the end of the turn (default setImmediate); the app shares one transaction per turn between
   * stores (stores/sqlite/turn.ts) and settles the returned outcome after its COMMIT.
   */
  schedule?: TurnScheduler;
}

interface PendingAppend {
  input: LedgerEntryInput;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}


const maxQueryLimit = 100_000;

/** Open (creating if needed) the ledger in a SQLite database and load its tree state. */
export function openSqliteLedger(options: SqliteLedgerOptions): SqliteLedgerStore {
  if (options.database === undefined && options.path === undefined) throw new Error('openSqliteLedger needs a path or a database');
  const ownsDatabase = options.database === undefined;
  const database = options.database ?? openDatabase(options.path as string);
  try {
    migrate(database, ledgerMigrations);
    return new SqliteLedgerStore(database, ownsDatabase, options);
  } catch (error) {
    if (ownsDatabase) database.close();
    throw error;
  }
}

export class SqliteLedgerStore implements LedgerStore {
  readonly origin: string;
  readonly writable: boolean;
  readonly lowestStoredLevel = lowestStoredLevel;
  private readonly clock: () => Date;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly reader: NodeReader;
  private readonly signer: NoteSigner | undefined;
  private readonly verifierKey: string | undefined;
  private frontier: MerkleFrontier;
  /** The newest entry time committed (ISO text), to know when a batch needs a time mark. */
  private newestTime: string;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly schedule: TurnScheduler;
  private lastCheckpointSize = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly roots = new Map<number, Hash>();
  private readonly inOneRead: <T>(action: () => T) => T;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly ownsDatabase: boolean,
    options: SqliteLedgerOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    // On its own, a batch is its own transaction: committed once commitPending returns.
    this.schedule = options.schedule ?? ((flush) => setImmediate(() => flush()?.committed()));
    this.writable = options.readOnly !== true;
    this.statements = prepareStatements(database);
    // A proof makes a dozen point reads; in WAL mode each autocommit read opens its own read transaction, so grouping
    // them halves the cost and reads one consistent snapshot while the writer appends.
    const transaction = database.transaction((action: () => unknown) => action());
    this.inOneRead = <T>(action: () => T) => transaction(action) as T;
    this.reader = cachedReader(sqliteTreeReader(this.statements));
    const key = this.loadOrCreateKey(options.origin);
    this.origin = key?.origin ?? options.origin ?? '';
    this.verifierKey = key?.verifierKey;
    this.signer = this.writable && key !== undefined ? parseSignerKey(key.signerKey) : undefined;
    // Readers compute from stored nodes on demand (and must open a damaged log so that `audit verify` can report it).
    this.frontier = this.writable ? this.loadFrontier() : new MerkleFrontier();
    this.newestTime = (this.statements.newestTime.get() as string | undefined) ?? '';
    this.lastCheckpointSize = (this.statements.latestCheckpoint.get() as CheckpointRow | undefined)?.size ?? 0;
    if (this.writable) {
      // Entries committed after the last checkpoint (e.g. before a SIGKILL) get signed now.
      this.signCheckpoint();
      this.timer = setInterval(() => {
        try {
          this.signCheckpoint();
        } catch (error) {
          options.onError?.(error);
        }
      }, options.checkpointIntervalMs ?? 1000);
      this.timer.unref();
    }
  }

  append(input: LedgerEntryInput): Promise<AppendResult> {
    if (!this.writable) return Promise.reject(new Error('this ledger was opened read-only'));
    if (this.closed) return Promise.reject(new Error('the ledger is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        this.schedule(() => this.commitPending());
      }
    });
  }

  async flush(): Promise<void> {
    this.commitPending()?.committed();
  }

  async head(): Promise<TreeHead> {
    const size = this.currentSize();
    return { size, rootHash: toHex(this.rootOf(size)) };
  }

  async checkpoint(): Promise<StoredCheckpoint | undefined> {
    if (this.writable && !this.closed) this.signCheckpoint();
    return this.latestCheckpoint();
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const row = this.statements.latestCheckpoint.get() as CheckpointRow | undefined;
    return row === undefined ? undefined : checkpointFromRow(row);
  }

  async checkpoints(query: { fromSize?: number; limit?: number } = {}): Promise<StoredCheckpoint[]> {
    const fromSize = checkedInteger(query.fromSize ?? 0, 'fromSize');
    const limit = checkedLimit(query.limit ?? 1000);
    return (this.statements.checkpointsFrom.all(fromSize, limit) as CheckpointRow[]).map(checkpointFromRow);
  }

  async entries(query: EntryQuery = {}): Promise<StoredEntry[]> {
    let from = checkedInteger(query.from ?? 0, 'from');
    const limit = checkedLimit(query.limit ?? 100);
    const conditions = ['seq >= ?'];
    const parameters: unknown[] = [];
    if (query.department !== undefined) {
      conditions.push('department = ?');
      parameters.push(query.department);
    }
    if (query.since !== undefined) {
      if (Number.isNaN(query.since.getTime())) throw new LedgerQueryError('"since" is not a valid time');
      const since = query.since.toISOString();
      // Entries before the first time mark at or after `since` are all older (migration ledger-002); none: all are.
      const first = this.statements.firstSeqSince.get(since) as number | undefined;
      if (first === undefined) return [];
      from = Math.max(from, first);
      conditions.push('time >= ?');
      parameters.push(since);
    }
    if (query.kind !== undefined) {
      conditions.push('kind = ?');
      parameters.push(query.kind);
    }
    const sql = `SELECT seq, entry_json, leaf_hash FROM ledger_entries WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT ?`;
    const rows = this.database.prepare(sql).all(from, ...parameters, limit) as EntryRow[];
    return rows.map(entryFromRow);
  }

  async entry(seq: number): Promise<StoredEntry | undefined> {
    const row = this.statements.entryBySeq.get(seq) as EntryRow | undefined;
    return row === undefined ? undefined : entryFromRow(row);
  }

  async inclusionProof(seq: number, treeSize?: number): Promise<InclusionProofResult> {
    return this.inOneRead(() => this.inclusionProofNow(seq, treeSize));
  }

  private inclusionProofNow(seq: number, treeSize?: number): InclusionProofResult {
    const size = this.currentSize();
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= size) throw new LedgerQueryError(`no entry ${seq}: the log holds entries 0 to ${size - 1}`);
    const latest = treeSize === undefined ? (this.statements.latestCheckpoint.get() as CheckpointRow | undefined) : undefined;
    const proofSize = treeSize ?? (latest !== undefined && seq < latest.size ? latest.size : size);
    if (!Number.isSafeInteger(proofSize) || proofSize <= seq || proofSize > size) {
      throw new LedgerQueryError(`tree size ${proofSize} must be larger than the index ${seq} and at most the log size ${size}`);
    }
    const stored = entryFromRow(this.statements.entryBySeq.get(seq) as EntryRow);
    return {
      leaf_index: seq,
      tree_size: proofSize,
      leaf_hash: stored.leafHash,
      inclusion_path: inclusionProof(this.reader, seq, proofSize).map(toHex),
      root_hash: toHex(this.rootOf(proofSize)),
      entry: stored.entry,
    };
  }

  async consistencyProof(firstSize: number, secondSize: number): Promise<ConsistencyProofResult> {
    return this.inOneRead(() => this.consistencyProofNow(firstSize, secondSize));
  }

  private consistencyProofNow(firstSize: number, secondSize: number): ConsistencyProofResult {
    const size = this.currentSize();
    if (!Number.isSafeInteger(firstSize) || !Number.isSafeInteger(secondSize) || firstSize < 1 || firstSize > secondSize || secondSize > size) {
      throw new LedgerQueryError(`consistency needs 1 <= first size <= second size <= ${size} (the log size); got ${firstSize} and ${secondSize}`);
    }
    return {
      first_size: firstSize,
      second_size: secondSize,
      first_root: toHex(this.rootOf(firstSize)),
      second_root: toHex(this.rootOf(secondSize)),
      consistency_path: consistencyProof(this.reader, firstSize, secondSize).map(toHex),
    };
  }

  async treeNodes(level: number, from: number, limit: number): Promise<TreeNode[]> {
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

  async publicKey(): Promise<string> {
    if (this.verifierKey === undefined) throw new LedgerQueryError('the ledger has no signing key yet: start the gateway once to create it');
    return this.verifierKey;
  }

  async storeContent(seq: number, content: EntryContent, mode: ContentMode): Promise<void> {
    if (!this.writable) throw new Error('this ledger was opened read-only');
    const prepared = prepareContent(content, mode);
    if (prepared === undefined) return;
    const entry = this.statements.entryMeta.get(seq) as { time: string; department: string | null } | undefined;
    if (entry === undefined) throw new LedgerQueryError(`no entry ${seq}: append it (and await the append) before storing its content`);
    this.statements.upsertContent.run(
      seq,
      prepared.mode,
      entry.department,
      entry.time,
      prepared.requestJson,
      prepared.responseJson,
      prepared.redactions === null ? null : JSON.stringify(prepared.redactions),
    );
  }

  async content(seq: number): Promise<StoredContent | undefined> {
    const row = this.statements.contentBySeq.get(seq) as ContentRow | undefined;
    return row === undefined ? undefined : contentFromRow(row);
  }

  async purgeContent(olderThan: Date, options: { department?: string } = {}): Promise<number> {
    if (!this.writable) throw new Error('this ledger was opened read-only');
    if (Number.isNaN(olderThan.getTime())) throw new LedgerQueryError('"olderThan" is not a valid time');
    const result =
      options.department === undefined
        ? this.statements.purgeContent.run(olderThan.toISOString())
        : this.statements.purgeDepartmentContent.run(olderThan.toISOString(), options.department);
    return result.changes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.writable) {
      this.commitPending()?.committed();
      this.signCheckpoint();
    }
    this.closed = true;
    if (this.ownsDatabase) this.database.close();
  }

  /**
   * Write every pending append in one transaction (a savepoint of the turn's, when shared); the returned outcome
   * settles their promises once the transaction's COMMIT is known (group commit). A batch whose writes or COMMIT
   * fail is rejected and leaves the tree as it was: the next entry takes the sequence number it would have used.
   */
  private commitPending(): TurnOutcome | undefined {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return undefined;
    const now = this.clock().toISOString();
    const before = this.frontier.clone();
    const accepted: (BatchRow & { item: PendingAppend })[] = [];
    let timeMark: TimeMark | undefined;
    for (const item of batch) {
      try {
        const seq = this.frontier.size;
        const { entry, json } = prepareEntry(item.input, seq, now);
        const leaf = hashLeaf(json);
        const nodes = this.frontier.append(leaf);
        accepted.push({ item, seq, json, time: entry.time, kind: entry.kind, department: entry.department ?? null, leaf, nodes });
        // One mark per batch that raises the newest time, at the first entry that does (ISO times compare as text).
        if (timeMark === undefined) {
          if (entry.time > this.newestTime) timeMark = { time: entry.time, seq };
        } else if (entry.time > timeMark.time) timeMark.time = entry.time;
      } catch (error) {
        item.reject(error);
      }
    }
    const fail = (error: unknown) => {
      this.frontier = before;
      for (const { item } of accepted) item.reject(error);
    };
    try {
      this.statements.writeBatch(accepted, timeMark);
    } catch (error) {
      fail(error);
      return undefined;
    }
    return {
      committed: () => {
        if (timeMark !== undefined) this.newestTime = timeMark.time;
        for (const row of accepted) row.item.resolve({ seq: row.seq, leafHash: toHex(row.leaf) });
      },
      failed: fail,
    };
  }

  /** Sign and store a checkpoint of the committed tree when it grew since the last one. */
  private signCheckpoint(): void {
    if (this.signer === undefined) return;
    const size = this.frontier.size;
    if (size === 0 || size === this.lastCheckpointSize) return;
    const rootHash = Buffer.from(this.frontier.root());
    const note = signCheckpoint({ origin: this.origin, size, rootHash }, this.signer);
    this.statements.insertCheckpoint.run(size, rootHash, note, this.clock().toISOString());
    this.lastCheckpointSize = size;
  }

  private loadOrCreateKey(origin: string | undefined): { origin: string; signerKey: string; verifierKey: string } | undefined {
    const select = () =>
      this.database.prepare('SELECT origin, signer_key AS signerKey, verifier_key AS verifierKey FROM ledger_signing_key WHERE id = 1').get() as
        | { origin: string; signerKey: string; verifierKey: string }
        | undefined;
    const existing = select();
    if (existing !== undefined || !this.writable) return existing;
    const name = origin ?? `covenant.local/ledger/${randomBytes(6).toString('hex')}`;
    if (!isValidKeyName(name)) throw new Error(`ledger origin "${name}" must be non-empty, without spaces or '+'`);
    const signerKey = generateSignerKey(name);
    this.database
      .prepare('INSERT OR IGNORE INTO ledger_signing_key (id, origin, signer_key, verifier_key, created_at) VALUES (1, ?, ?, ?, ?)')
      .run(name, signerKey, verifierKeyOf(parseSignerKey(signerKey)), this.clock().toISOString());
    return select();
  }

  private loadFrontier(): MerkleFrontier {
    try {
      return MerkleFrontier.load(this.reader, this.storedSize());
    } catch (error) {
      throw new Error(`the ledger's stored tree is damaged (${(error as Error).message}); run "covenant audit verify" to find where`);
    }
  }

  /** Committed size: the writer's frontier, or the database for a reader (a gateway may be appending meanwhile). */
  private currentSize(): number {
    return this.writable ? this.frontier.size : this.storedSize();
  }

  private storedSize(): number {
    const last = this.statements.maxSeq.get() as number | null;
    return last === null ? 0 : last + 1;
  }

  private rootOf(size: number): Hash {
    if (this.writable && size === this.frontier.size) return this.frontier.root();
    // The root of a size never changes; proofs against the same checkpoint reuse it.
    let root = this.roots.get(size);
    if (root === undefined) {
      root = rootAt(this.reader, size);
      if (this.roots.size >= 64) this.roots.clear();
      this.roots.set(size, root);
    }
    return root;
  }
}

function checkedInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new LedgerQueryError(`"${name}" must be a non-negative integer`);
  return value;
}

function checkedLimit(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > maxQueryLimit) throw new LedgerQueryError(`"limit" must be an integer from 1 to ${maxQueryLimit}`);
  return value;
}
