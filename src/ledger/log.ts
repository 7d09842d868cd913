// The ledger core every backend shares (append queue, checkpoints, signing key, proofs, content); backends store rows.
import { randomBytes } from 'node:crypto';
import { consistencyProof, hashLeaf, inclusionProof, rootAt, toHex, type Hash, type MerkleFrontier, type NodeReader } from '../core/merkle.js';
import { generateSignerKey, isValidKeyName, parseSignerKey, signCheckpoint, verifierKeyOf, type NoteSigner } from '../core/checkpoint.js';
import { prepareContent, type PreparedContent } from './content.js';
import { prepareEntry } from './entry.js';
import { LedgerQueryError } from './errors.js';
import type {
  AppendResult, ConsistencyProofResult, ContentMode, EntryContent, EntryQuery, InclusionProofResult, LedgerEntryInput,
  LedgerStore, StoredCheckpoint, StoredContent, StoredEntry, TreeHead, TreeNode,
} from './types.js';

/**
 * A value now (SQLite answers synchronously) or later (PostgreSQL). The core chains them with `andThen`, so over a
 * synchronous backend it stays synchronous: no await splits an append, a proof's read transaction or a close.
 */
export type Maybe<T> = T | Promise<T>;

/** `next(value)`, now or once `value` resolves. (Not named `then`: a module exporting `then` is awaited as a promise.) */
export function andThen<T, U>(value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** Like Promise.all, but synchronous when every value is. */
function all<T extends unknown[]>(values: { [K in keyof T]: Maybe<T[K]> }): Maybe<T> {
  return values.some((value) => value instanceof Promise) ? (Promise.all(values) as Promise<T>) : (values as T);
}

/** The value of a synchronous backend's answer (SQLite opens and writes without awaiting). */
export function synchronously<T>(value: Maybe<T>): T {
  if (value instanceof Promise) throw new Error('expected a synchronous ledger backend');
  return value;
}

export interface SigningKey {
  origin: string;
  signerKey: string;
  verifierKey: string;
}

export interface PendingAppend {
  input: LedgerEntryInput;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** One numbered and hashed entry of a batch, and the complete subtrees its leaf closed (level 0 is the leaf itself). */
export interface AppendRow {
  item: PendingAppend;
  seq: number;
  json: string;
  time: string;
  kind: string;
  department: string | null;
  leaf: Hash;
  nodes: { level: number; index: number; hash: Hash }[];
}

/** What a batch written inside a larger transaction wants done once that transaction's COMMIT is known. */
export interface CommitOutcome {
  committed(): void;
  failed(error: unknown): void;
}

/** Entry query with its checks done: times as ISO text. */
export interface CheckedEntryQuery {
  from: number;
  limit: number;
  department?: string;
  since?: string;
  kind?: string;
}

/** What every ledger backend provides: rows in, rows out. */
interface LedgerStorageReads {
  /** Interior levels below this are hashed from the leaves when read (LedgerStore.lowestStoredLevel). */
  readonly lowestStoredLevel?: number;
  readSigningKey(): Maybe<SigningKey | undefined>;
  /** Store the key unless one exists already (replicas starting together: the first one wins). */
  insertSigningKey(key: SigningKey, createdAt: string): Maybe<void>;
  /** The committed tree's size, and its root when it is at hand (a writer's frontier, a head row). */
  head(): Maybe<{ size: number; root?: () => Hash }>;
  latestCheckpoint(): Maybe<StoredCheckpoint | undefined>;
  checkpoints(fromSize: number, limit: number): Maybe<StoredCheckpoint[]>;
  /** Store a checkpoint unless one of that size exists already. */
  insertCheckpoint(size: number, rootHash: Buffer, note: string, time: string): Maybe<void>;
  entries(query: CheckedEntryQuery): Maybe<StoredEntry[]>;
  entry(seq: number): Maybe<StoredEntry | undefined>;
  /** Run a Merkle computation over the stored nodes; `compute` is synchronous and may run more than once. */
  withTree<T>(compute: (reader: NodeReader) => T): Maybe<T>;
  /** Run `read` on one consistent snapshot where that is cheap (a SQLite read transaction); else just run it. */
  inOneRead<T>(read: () => T): T;
  treeNodes(level: number, from: number, limit: number): Maybe<TreeNode[]>;
  /** False when there is no entry `seq`. */
  storeContent(seq: number, content: PreparedContent): Maybe<boolean>;
  content(seq: number): Maybe<StoredContent | undefined>;
  purgeContent(olderThan: string, department: string | undefined): Maybe<number>;
  /** After the last write: release what the backend owns. */
  close(): void;
}

/**
 * A backend that writes each batch inside a transaction shared by the turn (SQLite's turn queue): `appendBatch` numbers
 * the batch with numberBatch and writes it at once; its outcome is settled after the turn's COMMIT.
 */
export interface TurnLedgerStorage extends LedgerStorageReads {
  readonly commits: 'per-turn';
  /** Queue a flush for the end of the turn; the flush's outcome is settled after the turn's COMMIT. */
  schedule(flush: () => CommitOutcome | undefined): void;
  /** Throws when nothing was written. */
  appendBatch(batch: readonly PendingAppend[], now: () => string): { rows: AppendRow[]; outcome: CommitOutcome };
}

/** A backend that commits each batch in a transaction of its own (PostgreSQL), one batch at a time. */
export interface AsyncLedgerStorage extends LedgerStorageReads {
  readonly commits: 'own-transaction';
  /** Resolves with the rows once committed; rejects when nothing was written. */
  appendBatch(batch: readonly PendingAppend[], now: () => string): Promise<AppendRow[]>;
}

export type LedgerStorage = TurnLedgerStorage | AsyncLedgerStorage;

export interface LedgerLogOptions {
  /** Open for reading only (the CLI): no appends, no signing, no timers, and no key is created. */
  readOnly?: boolean;
  /** Origin line (and key name), used only by the process that creates the key; default "covenant.local/ledger/<random>". */
  origin?: string;
  /** How often a checkpoint is signed while entries arrive; default 1000 ms. */
  checkpointIntervalMs?: number;
  clock?: () => Date;
  /** The background checkpoint failed (it is retried on the next tick). */
  onError?: (error: unknown) => void;
}

const maxQueryLimit = 100_000;

/**
 * Number and hash `batch` onto `frontier` (which it extends), one row per entry. An entry that is not valid is
 * rejected at once and takes no sequence number.
 */
export function numberBatch(batch: readonly PendingAppend[], frontier: MerkleFrontier, now: string): AppendRow[] {
  const rows: AppendRow[] = [];
  for (const item of batch) {
    try {
      const seq = frontier.size;
      const { entry, json } = prepareEntry(item.input, seq, now);
      const leaf = hashLeaf(json);
      const nodes = frontier.append(leaf);
      rows.push({ item, seq, json, time: entry.time, kind: entry.kind, department: typeof entry.department === 'string' ? entry.department : null, leaf, nodes });
    } catch (error) {
      item.reject(error);
    }
  }
  return rows;
}

/** Load the signing key, creating it when the log is writable and has none. */
export function loadSigningKey(storage: LedgerStorage, writable: boolean, origin: string | undefined, now: Date): Maybe<SigningKey | undefined> {
  return andThen(storage.readSigningKey(), (existing) => {
    if (existing !== undefined || !writable) return existing;
    const name = origin ?? `covenant.local/ledger/${randomBytes(6).toString('hex')}`;
    if (!isValidKeyName(name)) throw new Error(`ledger origin "${name}" must be non-empty, without spaces or '+'`);
    const signerKey = generateSignerKey(name);
    const key = { origin: name, signerKey, verifierKey: verifierKeyOf(parseSignerKey(signerKey)) };
    // Another process may have created one meanwhile: every process then uses the stored one.
    return andThen(storage.insertSigningKey(key, now.toISOString()), () => storage.readSigningKey());
  });
}

/**
 * Open the log over `storage`: load or create the key, sign what was committed since the last checkpoint (entries
 * written before a crash), and start the checkpoint timer. Synchronous over a synchronous backend.
 */
export function openLedgerLog(storage: LedgerStorage, options: LedgerLogOptions): Maybe<LedgerLog> {
  const writable = options.readOnly !== true;
  const clock = options.clock ?? (() => new Date());
  return andThen(loadSigningKey(storage, writable, options.origin, clock()), (key) => {
    const log = new LedgerLog(storage, options, key);
    return andThen(log.start(), () => log);
  });
}

/** The evidence ledger (LedgerStore) over one backend's storage. */
export class LedgerLog implements LedgerStore {
  readonly origin: string;
  readonly writable: boolean;
  private readonly clock: () => Date;
  private readonly now: () => string;
  private readonly signer: NoteSigner | undefined;
  private readonly verifierKey: string | undefined;
  private pending: PendingAppend[] = [];
  private scheduled = false;
  /** The batch being committed by an own-transaction backend. */
  private committing: Promise<void> | undefined;
  private lastCheckpointSize = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly roots = new Map<number, Hash>();

  constructor(private readonly storage: LedgerStorage, private readonly options: LedgerLogOptions, key: SigningKey | undefined) {
    this.clock = options.clock ?? (() => new Date());
    this.now = () => this.clock().toISOString();
    this.writable = options.readOnly !== true;
    this.origin = key?.origin ?? options.origin ?? '';
    this.verifierKey = key?.verifierKey;
    this.signer = this.writable && key !== undefined ? parseSignerKey(key.signerKey) : undefined;
  }

  get lowestStoredLevel(): number | undefined {
    return this.storage.lowestStoredLevel;
  }

  /** Sign what is unsigned and start the timer (writable logs); see openLedgerLog. */
  start(): Maybe<void> {
    if (!this.writable) return;
    return andThen(this.storage.latestCheckpoint(), (latest) => {
      this.lastCheckpointSize = latest?.size ?? 0;
      return andThen(this.signCheckpoint(), () => {
        this.timer = setInterval(() => {
          try {
            const signed = this.signCheckpoint();
            if (signed instanceof Promise) signed.catch((error: unknown) => this.options.onError?.(error));
          } catch (error) {
            this.options.onError?.(error);
          }
        }, this.options.checkpointIntervalMs ?? 1000);
        this.timer.unref();
      });
    });
  }

  append(input: LedgerEntryInput): Promise<AppendResult> {
    if (!this.writable) return Promise.reject(new Error('this ledger was opened read-only'));
    if (this.closed) return Promise.reject(new Error('the ledger is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.scheduled && this.committing === undefined) {
        this.scheduled = true;
        if (this.storage.commits === 'per-turn') this.storage.schedule(() => this.commitPending());
        else setImmediate(() => this.commitLoop());
      }
    });
  }

  async flush(): Promise<void> {
    await this.flushNow();
  }

  async head(): Promise<TreeHead> {
    return andThen(this.storage.head(), (head) => andThen(this.rootOf(head.size, head), (root) => ({ size: head.size, rootHash: toHex(root) })));
  }

  async checkpoint(): Promise<StoredCheckpoint | undefined> {
    return andThen(this.writable && !this.closed ? this.signCheckpoint() : undefined, () => this.storage.latestCheckpoint());
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.storage.latestCheckpoint();
  }

  async checkpoints(query: { fromSize?: number; limit?: number } = {}): Promise<StoredCheckpoint[]> {
    return this.storage.checkpoints(checkedInteger(query.fromSize ?? 0, 'fromSize'), checkedLimit(query.limit ?? 1000));
  }

  async entries(query: EntryQuery = {}): Promise<StoredEntry[]> {
    const from = checkedInteger(query.from ?? 0, 'from');
    const limit = checkedLimit(query.limit ?? 100);
    if (query.since !== undefined && Number.isNaN(query.since.getTime())) throw new LedgerQueryError('"since" is not a valid time');
    return this.storage.entries({ from, limit, department: query.department, since: query.since?.toISOString(), kind: query.kind });
  }

  async entry(seq: number): Promise<StoredEntry | undefined> {
    return this.storage.entry(seq);
  }

  async inclusionProof(seq: number, treeSize?: number): Promise<InclusionProofResult> {
    return this.storage.inOneRead(() => this.inclusionProofNow(seq, treeSize));
  }

  private inclusionProofNow(seq: number, treeSize: number | undefined): Maybe<InclusionProofResult> {
    return andThen(this.storage.head(), (head) => {
      const size = head.size;
      if (!Number.isSafeInteger(seq) || seq < 0 || seq >= size) throw new LedgerQueryError(`no entry ${seq}: the log holds entries 0 to ${size - 1}`);
      return andThen(treeSize === undefined ? this.storage.latestCheckpoint() : undefined, (latest) => {
        const proofSize = treeSize ?? (latest !== undefined && seq < latest.size ? latest.size : size);
        if (!Number.isSafeInteger(proofSize) || proofSize <= seq || proofSize > size) {
          throw new LedgerQueryError(`tree size ${proofSize} must be larger than the index ${seq} and at most the log size ${size}`);
        }
        const parts = all<[StoredEntry | undefined, Hash[], Hash]>([
          this.storage.entry(seq),
          this.storage.withTree((reader) => inclusionProof(reader, seq, proofSize)),
          this.rootOf(proofSize, head),
        ]);
        return andThen(parts, ([stored, path, root]) => {
          if (stored === undefined) throw new Error(`ledger is missing entry ${seq}`);
          return {
            leaf_index: seq, tree_size: proofSize, leaf_hash: stored.leafHash, inclusion_path: path.map(toHex), root_hash: toHex(root), entry: stored.entry,
          };
        });
      });
    });
  }

  async consistencyProof(firstSize: number, secondSize: number): Promise<ConsistencyProofResult> {
    return this.storage.inOneRead(() => this.consistencyProofNow(firstSize, secondSize));
  }

  private consistencyProofNow(firstSize: number, secondSize: number): Maybe<ConsistencyProofResult> {
    return andThen(this.storage.head(), (head) => {
      const size = head.size;
      if (!Number.isSafeInteger(firstSize) || !Number.isSafeInteger(secondSize) || firstSize < 1 || firstSize > secondSize || secondSize > size) {
        throw new LedgerQueryError(`consistency needs 1 <= first size <= second size <= ${size} (the log size); got ${firstSize} and ${secondSize}`);
      }
      const parts = all<[Hash, Hash, Hash[]]>([
        this.rootOf(firstSize, head),
        this.rootOf(secondSize, head),
        this.storage.withTree((reader) => consistencyProof(reader, firstSize, secondSize)),
      ]);
      return andThen(parts, ([firstRoot, secondRoot, path]) => ({
        first_size: firstSize, second_size: secondSize, first_root: toHex(firstRoot), second_root: toHex(secondRoot), consistency_path: path.map(toHex),
      }));
    });
  }

  async treeNodes(level: number, from: number, limit: number): Promise<TreeNode[]> {
    return this.storage.treeNodes(level, from, limit);
  }

  async publicKey(): Promise<string> {
    if (this.verifierKey === undefined) throw new LedgerQueryError('the ledger has no signing key yet: start the gateway once to create it');
    return this.verifierKey;
  }

  async storeContent(seq: number, content: EntryContent, mode: ContentMode): Promise<void> {
    if (!this.writable) throw new Error('this ledger was opened read-only');
    const prepared = prepareContent(content, mode);
    if (prepared === undefined) return;
    return andThen(this.storage.storeContent(seq, prepared), (stored) => {
      if (!stored) throw new LedgerQueryError(`no entry ${seq}: append it (and await the append) before storing its content`);
    });
  }

  async content(seq: number): Promise<StoredContent | undefined> {
    return this.storage.content(seq);
  }

  async purgeContent(olderThan: Date, options: { department?: string } = {}): Promise<number> {
    if (!this.writable) throw new Error('this ledger was opened read-only');
    if (Number.isNaN(olderThan.getTime())) throw new LedgerQueryError('"olderThan" is not a valid time');
    return this.storage.purgeContent(olderThan.toISOString(), options.department);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    const finish = () => {
      this.closed = true;
      this.storage.close();
    };
    // Over SQLite all of it happens now, before the caller closes the database.
    return andThen(this.writable ? andThen(this.flushNow(), () => this.signCheckpoint()) : undefined, finish);
  }

  /** Commit what is pending: at once for a per-turn backend, else after the batch being committed. */
  private flushNow(): Maybe<void> {
    if (this.storage.commits === 'per-turn') {
      this.commitPending()?.committed();
      return;
    }
    return (async () => {
      while (this.committing !== undefined || this.pending.length > 0) {
        if (this.committing === undefined) this.commitLoop();
        await this.committing;
      }
    })();
  }

  /**
   * Write every pending append in one transaction (a savepoint of the turn's, when shared); the returned outcome
   * settles their promises once the transaction's COMMIT is known (group commit). A batch whose writes or COMMIT
   * fail is rejected and leaves the tree as it was: the next entry takes the sequence number it would have used.
   */
  private commitPending(): CommitOutcome | undefined {
    const storage = this.storage;
    if (storage.commits !== 'per-turn') return undefined;
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return undefined;
    let written: { rows: AppendRow[]; outcome: CommitOutcome };
    try {
      written = storage.appendBatch(batch, this.now);
    } catch (error) {
      // Entries rejected as invalid stay rejected with their own error (a promise settles once).
      for (const item of batch) item.reject(error);
      return undefined;
    }
    return {
      committed: () => {
        written.outcome.committed();
        for (const row of written.rows) row.item.resolve({ seq: row.seq, leafHash: toHex(row.leaf) });
      },
      failed: (error) => {
        written.outcome.failed(error);
        for (const row of written.rows) row.item.reject(error);
      },
    };
  }

  /** Commit batches one after another until nothing is pending; appends made meanwhile join the next batch. */
  private commitLoop(): void {
    this.scheduled = false;
    const storage = this.storage;
    if (this.committing !== undefined || storage.commits !== 'own-transaction') return;
    this.committing = (async () => {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          for (const row of await storage.appendBatch(batch, this.now)) row.item.resolve({ seq: row.seq, leafHash: toHex(row.leaf) });
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
    })().finally(() => {
      this.committing = undefined;
      // Appends that arrived after the loop's last check and before this point would otherwise wait for nobody.
      if (this.pending.length > 0) this.commitLoop();
    });
  }

  /** Sign and store a checkpoint of the committed tree when it grew since the last one this process signed. */
  private signCheckpoint(): Maybe<void> {
    const signer = this.signer;
    if (signer === undefined) return;
    return andThen(this.storage.head(), (head) => {
      const size = head.size;
      if (size === 0 || size === this.lastCheckpointSize) return;
      return andThen(this.rootOf(size, head), (root) => {
        const rootHash = Buffer.from(root);
        const note = signCheckpoint({ origin: this.origin, size, rootHash }, signer);
        return andThen(this.storage.insertCheckpoint(size, rootHash, note, this.now()), () => {
          this.lastCheckpointSize = size;
        });
      });
    });
  }

  private rootOf(size: number, head: { size: number; root?: () => Hash }): Maybe<Hash> {
    if (size === head.size && head.root !== undefined) return head.root();
    // The root of a size never changes; proofs against the same checkpoint reuse it.
    const cached = this.roots.get(size);
    if (cached !== undefined) return cached;
    return andThen(this.storage.withTree((reader) => rootAt(reader, size)), (root) => {
      if (this.roots.size >= 64) this.roots.clear();
      this.roots.set(size, root);
      return root;
    });
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
