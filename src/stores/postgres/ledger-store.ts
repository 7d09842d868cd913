// PostgreSQL evidence ledger shared by every replica: one tree, gap-free sequence numbers, one signing key.
//
// Each replica group-commits its appends (one transaction per batch). A batch locks the single head row, so batches
// from all replicas are serialized: the batch takes the next sequence numbers, extends the tree from the head's
// frontier, writes entries and new subtree hashes, and moves the head, in one transaction.
import { randomBytes } from 'node:crypto';
import { MerkleFrontier, consistencyProof, hashLeaf, inclusionProof, rootAt, toHex, type Hash, type NodeReader } from '../../core/merkle.js';
import { generateSignerKey, isValidKeyName, parseSignerKey, signCheckpoint, verifierKeyOf, type NoteSigner } from '../../core/checkpoint.js';
import { contentFromRow, prepareContent } from '../../ledger/content.js';
import { prepareEntry, type PreparedEntry } from '../../ledger/entry.js';
import { LedgerQueryError } from '../../ledger/errors.js';
import type {
  AppendResult, ConsistencyProofResult, ContentMode, EntryContent, EntryQuery, InclusionProofResult, LedgerEntryInput,
  LedgerStore, StoredCheckpoint, StoredContent, StoredEntry, TreeHead, TreeNode,
} from '../../ledger/types.js';
import { inTransaction, migratePostgres, type PostgresDatabase } from './database.js';
import {
  checkedInteger, checkedLimit, checkpointFromRow, edgeHashes, edgeNodes, entryFromRow, frontierHashes, insertEntriesSql, insertNodesSql,
  postgresLedgerMigrations, selectNodesSql, type CheckpointRow, type ContentRow, type EntryRow,
} from './ledger-schema.js';

export interface PostgresLedgerOptions {
  /** The pool (createPostgresStores(...).database); the ledger does not close it. */
  database: PostgresDatabase;
  /** Open for reading only (the CLI): no appends, no signing, no timers, and no key is created. */
  readOnly?: boolean;
  /** Origin line (and key name), used only by the replica that creates the key; default "covenant.local/ledger/<random>". */
  origin?: string;
  /** How often this replica signs a checkpoint while entries arrive; default 1000 ms. */
  checkpointIntervalMs?: number;
  clock?: () => Date;
  /** The background checkpoint failed (it is retried on the next tick). */
  onError?: (error: unknown) => void;
}

interface PendingAppend {
  input: LedgerEntryInput;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

interface SigningKey { origin: string; signerKey: string; verifierKey: string }

// Subtrees of 64 leaves and more never change once written and every proof reads the upper ones: cache them.
const cachedMinimumLevel = 6;
const cachedNodesLimit = 250_000;

/** Apply the ledger migrations, load or create the signing key, and return the store. */
export async function openPostgresLedger(options: PostgresLedgerOptions): Promise<PostgresLedgerStore> {
  await migratePostgres(options.database, postgresLedgerMigrations);
  const writable = options.readOnly !== true;
  const key = await loadOrCreateKey(options.database, writable, options.origin, (options.clock ?? (() => new Date()))());
  const store = new PostgresLedgerStore(options, key);
  if (writable) await store.checkpoint();
  return store;
}

async function loadOrCreateKey(database: PostgresDatabase, writable: boolean, origin: string | undefined, now: Date): Promise<SigningKey | undefined> {
  const select = async () =>
    (await database.pool.query<SigningKey>('SELECT origin, signer_key AS "signerKey", verifier_key AS "verifierKey" FROM ledger_signing_key WHERE id = 1')).rows[0];
  const existing = await select();
  if (existing !== undefined || !writable) return existing;
  const name = origin ?? `covenant.local/ledger/${randomBytes(6).toString('hex')}`;
  if (!isValidKeyName(name)) throw new Error(`ledger origin "${name}" must be non-empty, without spaces or '+'`);
  const signerKey = generateSignerKey(name);
  // Replicas starting together each try; the first insert wins and every replica then reads that one key.
  await database.pool.query(
    'INSERT INTO ledger_signing_key (id, origin, signer_key, verifier_key, created_at) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
    [name, signerKey, verifierKeyOf(parseSignerKey(signerKey)), now.toISOString()]);
  return select();
}

export class PostgresLedgerStore implements LedgerStore {
  readonly origin: string;
  readonly writable: boolean;
  private readonly database: PostgresDatabase;
  private readonly clock: () => Date;
  private readonly signer: NoteSigner | undefined;
  private readonly verifierKey: string | undefined;
  private pending: PendingAppend[] = [];
  private committing: Promise<void> | undefined;
  private scheduled = false;
  private lastCheckpointSize = -1;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private nodeCache = new Map<string, Hash>();
  private readonly roots = new Map<number, Hash>();

  constructor(options: PostgresLedgerOptions, key: SigningKey | undefined) {
    this.database = options.database;
    this.clock = options.clock ?? (() => new Date());
    this.writable = options.readOnly !== true;
    this.origin = key?.origin ?? options.origin ?? '';
    this.verifierKey = key?.verifierKey;
    this.signer = this.writable && key !== undefined ? parseSignerKey(key.signerKey) : undefined;
    if (this.writable) {
      this.timer = setInterval(() => {
        this.signCheckpoint().catch((error: unknown) => options.onError?.(error));
      }, options.checkpointIntervalMs ?? 1000);
      this.timer.unref();
    }
  }

  append(input: LedgerEntryInput): Promise<AppendResult> {
    if (!this.writable) return Promise.reject(new Error('this ledger was opened read-only'));
    if (this.closed) return Promise.reject(new Error('the ledger is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.scheduled && this.committing === undefined) {
        this.scheduled = true;
        setImmediate(() => this.commitLoop());
      }
    });
  }

  async flush(): Promise<void> {
    while (this.committing !== undefined || this.pending.length > 0) {
      if (this.committing === undefined) this.commitLoop();
      await this.committing;
    }
  }

  async head(): Promise<TreeHead> {
    const { size, frontier } = await this.readHead();
    return { size, rootHash: toHex(frontier.root()) };
  }

  async checkpoint(): Promise<StoredCheckpoint | undefined> {
    if (this.writable && !this.closed) await this.signCheckpoint();
    return this.latestCheckpoint();
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const result = await this.database.pool.query<CheckpointRow>('SELECT size, root_hash, note, time FROM ledger_checkpoints ORDER BY size DESC LIMIT 1');
    return result.rows[0] === undefined ? undefined : checkpointFromRow(result.rows[0]);
  }

  async checkpoints(query: { fromSize?: number; limit?: number } = {}): Promise<StoredCheckpoint[]> {
    const fromSize = checkedInteger(query.fromSize ?? 0, 'fromSize');
    const limit = checkedLimit(query.limit ?? 1000);
    const result = await this.database.pool.query<CheckpointRow>(
      'SELECT size, root_hash, note, time FROM ledger_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2', [fromSize, limit]);
    return result.rows.map(checkpointFromRow);
  }

  async entries(query: EntryQuery = {}): Promise<StoredEntry[]> {
    const conditions = ['seq >= $1'];
    const parameters: unknown[] = [checkedInteger(query.from ?? 0, 'from')];
    const limit = checkedLimit(query.limit ?? 100);
    if (query.department !== undefined) {
      parameters.push(query.department);
      conditions.push(`department = $${parameters.length}`);
    }
    if (query.since !== undefined) {
      if (Number.isNaN(query.since.getTime())) throw new LedgerQueryError('"since" is not a valid time');
      parameters.push(query.since.toISOString());
      conditions.push(`time >= $${parameters.length}`);
    }
    if (query.kind !== undefined) {
      parameters.push(query.kind);
      conditions.push(`kind = $${parameters.length}`);
    }
    parameters.push(limit);
    const result = await this.database.pool.query<EntryRow>(
      `SELECT seq, entry_json, leaf_hash FROM ledger_entries WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT $${parameters.length}`, parameters);
    return result.rows.map(entryFromRow);
  }

  async entry(seq: number): Promise<StoredEntry | undefined> {
    const result = await this.database.pool.query<EntryRow>('SELECT seq, entry_json, leaf_hash FROM ledger_entries WHERE seq = $1', [seq]);
    return result.rows[0] === undefined ? undefined : entryFromRow(result.rows[0]);
  }

  async inclusionProof(seq: number, treeSize?: number): Promise<InclusionProofResult> {
    const head = await this.readHead();
    const size = head.size;
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= size) throw new LedgerQueryError(`no entry ${seq}: the log holds entries 0 to ${size - 1}`);
    const latest = treeSize === undefined ? await this.latestCheckpoint() : undefined;
    const proofSize = treeSize ?? (latest !== undefined && seq < latest.size ? latest.size : size);
    if (!Number.isSafeInteger(proofSize) || proofSize <= seq || proofSize > size) {
      throw new LedgerQueryError(`tree size ${proofSize} must be larger than the index ${seq} and at most the log size ${size}`);
    }
    const [stored, path, root] = await Promise.all([
      this.entry(seq),
      this.withNodes((reader) => inclusionProof(reader, seq, proofSize)),
      proofSize === size ? Promise.resolve(head.frontier.root()) : this.rootOf(proofSize),
    ]);
    if (stored === undefined) throw new Error(`ledger is missing entry ${seq}`);
    return { leaf_index: seq, tree_size: proofSize, leaf_hash: stored.leafHash, inclusion_path: path.map(toHex), root_hash: toHex(root), entry: stored.entry };
  }

  async consistencyProof(firstSize: number, secondSize: number): Promise<ConsistencyProofResult> {
    const head = await this.readHead();
    const size = head.size;
    if (!Number.isSafeInteger(firstSize) || !Number.isSafeInteger(secondSize) || firstSize < 1 || firstSize > secondSize || secondSize > size) {
      throw new LedgerQueryError(`consistency needs 1 <= first size <= second size <= ${size} (the log size); got ${firstSize} and ${secondSize}`);
    }
    const [firstRoot, secondRoot, path] = await Promise.all([
      this.rootOf(firstSize),
      secondSize === size ? Promise.resolve(head.frontier.root()) : this.rootOf(secondSize),
      this.withNodes((reader) => consistencyProof(reader, firstSize, secondSize)),
    ]);
    return { first_size: firstSize, second_size: secondSize, first_root: toHex(firstRoot), second_root: toHex(secondRoot), consistency_path: path.map(toHex) };
  }

  async treeNodes(level: number, from: number, limit: number): Promise<TreeNode[]> {
    const result =
      level === 0
        ? await this.database.pool.query<{ index: number; hash: Buffer }>(
          'SELECT seq AS "index", leaf_hash AS hash FROM ledger_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq', [from, from + limit])
        : await this.database.pool.query<{ index: number; hash: Buffer }>(
          'SELECT idx AS "index", hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx', [level, from, from + limit]);
    return result.rows.map((row) => ({ index: row.index, hash: toHex(row.hash) }));
  }

  async publicKey(): Promise<string> {
    if (this.verifierKey === undefined) throw new LedgerQueryError('the ledger has no signing key yet: start the gateway once to create it');
    return this.verifierKey;
  }

  async storeContent(seq: number, content: EntryContent, mode: ContentMode): Promise<void> {
    if (!this.writable) throw new Error('this ledger was opened read-only');
    const prepared = prepareContent(content, mode);
    if (prepared === undefined) return;
    const result = await this.database.pool.query(
      `INSERT INTO ledger_content (seq, mode, department, time, request_json, response_json, redactions_json)
       SELECT seq, $2, department, time, $3, $4, $5 FROM ledger_entries WHERE seq = $1
       ON CONFLICT (seq) DO UPDATE SET mode = excluded.mode, department = excluded.department, time = excluded.time,
         request_json = excluded.request_json, response_json = excluded.response_json, redactions_json = excluded.redactions_json`,
      [seq, prepared.mode, prepared.requestJson, prepared.responseJson, prepared.redactions === null ? null : JSON.stringify(prepared.redactions)]);
    if (result.rowCount === 0) throw new LedgerQueryError(`no entry ${seq}: append it (and await the append) before storing its content`);
  }

  async content(seq: number): Promise<StoredContent | undefined> {
    const row = (await this.database.pool.query<ContentRow>('SELECT * FROM ledger_content WHERE seq = $1', [seq])).rows[0];
    return row === undefined ? undefined : contentFromRow(row);
  }

  async purgeContent(olderThan: Date, options: { department?: string } = {}): Promise<number> {
    if (!this.writable) throw new Error('this ledger was opened read-only');
    if (Number.isNaN(olderThan.getTime())) throw new LedgerQueryError('"olderThan" is not a valid time');
    const result =
      options.department === undefined
        ? await this.database.pool.query('DELETE FROM ledger_content WHERE time < $1', [olderThan.toISOString()])
        : await this.database.pool.query('DELETE FROM ledger_content WHERE time < $1 AND department = $2', [olderThan.toISOString(), options.department]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.writable) {
      await this.flush();
      await this.signCheckpoint();
    }
    this.closed = true;
  }

  /** Commit batches one after another until nothing is pending; appends made meanwhile join the next batch. */
  private commitLoop(): void {
    this.scheduled = false;
    if (this.committing !== undefined) return;
    this.committing = (async () => {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        await this.commitBatch(batch);
      }
    })().finally(() => {
      this.committing = undefined;
      // Appends that arrived after the loop's last check and before this point would otherwise wait for nobody.
      if (this.pending.length > 0) this.commitLoop();
    });
  }

  /** One transaction: lock the head, number and hash the batch, write entries and subtrees, move the head. */
  private async commitBatch(batch: PendingAppend[]): Promise<void> {
    const accepted: { item: PendingAppend; seq: number; leaf: Hash }[] = [];
    try {
      await inTransaction(this.database.pool, async (client) => {
        accepted.length = 0;
        const head = (await client.query<{ size: number; frontier: Buffer }>('SELECT size, frontier FROM ledger_head WHERE id = 1 FOR UPDATE')).rows[0];
        const edge = frontierHashes(head.frontier);
        const frontier = new MerkleFrontier(head.size, edge);
        // Subtrees the new right edge may be made of: the old edge and everything this batch creates.
        const known = edgeNodes(head.size, edge);
        const now = this.clock().toISOString();
        const entries = { seq: [] as number[], time: [] as string[], kind: [] as string[], department: [] as (string | null)[], json: [] as string[], leaf: [] as string[] };
        const nodes = { level: [] as number[], index: [] as number[], hash: [] as string[] };
        for (const item of batch) {
          let prepared: PreparedEntry;
          try {
            prepared = prepareEntry(item.input, frontier.size, now);
          } catch (error) {
            item.reject(error);
            continue;
          }
          const { entry, json } = prepared;
          const leaf = hashLeaf(json);
          const seq = frontier.size;
          const created = frontier.append(leaf);
          accepted.push({ item, seq, leaf });
          entries.seq.push(seq);
          entries.time.push(entry.time);
          entries.kind.push(entry.kind);
          entries.department.push(typeof entry.department === 'string' ? entry.department : null);
          entries.json.push(json);
          entries.leaf.push(toHex(leaf));
          // Level 0 is the entry's own leaf_hash; only interior subtrees go to ledger_nodes.
          for (const node of created) known.set(`${node.level}:${node.index}`, node.hash);
          for (const node of created.slice(1)) {
            nodes.level.push(node.level);
            nodes.index.push(node.index);
            nodes.hash.push(toHex(node.hash));
          }
        }
        if (accepted.length === 0) return;
        await client.query(insertEntriesSql, [entries.seq, entries.time, entries.kind, entries.department, entries.json, entries.leaf]);
        if (nodes.level.length > 0) await client.query(insertNodesSql, [nodes.level, nodes.index, nodes.hash]);
        const newEdge = Buffer.concat(edgeHashes(frontier.size, known));
        await client.query('UPDATE ledger_head SET size = $1, frontier = $2 WHERE id = 1', [frontier.size, newEdge]);
      });
    } catch (error) {
      for (const { item } of accepted) item.reject(error);
      return;
    }
    for (const { item, seq, leaf } of accepted) item.resolve({ seq, leafHash: toHex(leaf) });
  }

  /** Sign the committed tree when it grew since this replica's last checkpoint; replicas signing one size store it once. */
  private async signCheckpoint(): Promise<void> {
    if (this.signer === undefined) return;
    const { size, frontier } = await this.readHead();
    if (size === 0 || size === this.lastCheckpointSize) return;
    const rootHash = Buffer.from(frontier.root());
    const note = signCheckpoint({ origin: this.origin, size, rootHash }, this.signer);
    await this.database.pool.query(
      'INSERT INTO ledger_checkpoints (size, root_hash, note, time) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING',
      [size, rootHash, note, this.clock().toISOString()]);
    this.lastCheckpointSize = size;
  }

  private async readHead(): Promise<{ size: number; frontier: MerkleFrontier }> {
    const head = (await this.database.pool.query<{ size: number; frontier: Buffer }>('SELECT size, frontier FROM ledger_head WHERE id = 1')).rows[0];
    return { size: head.size, frontier: new MerkleFrontier(head.size, frontierHashes(head.frontier)) };
  }

  private async rootOf(size: number): Promise<Hash> {
    // The root of a size never changes; proofs against the same checkpoint reuse it.
    let root = this.roots.get(size);
    if (root === undefined) {
      root = await this.withNodes((reader) => rootAt(reader, size));
      if (this.roots.size >= 64) this.roots.clear();
      this.roots.set(size, root);
    }
    return root;
  }

  /**
   * Run a Merkle computation over stored nodes. The core's reader is synchronous and which nodes a proof reads
   * depends only on sizes and indices, so a first dry run records them, one query fetches them, and a second run computes.
   */
  private async withNodes<T>(compute: (reader: NodeReader) => T): Promise<T> {
    const wanted = new Map<string, [number, number]>();
    const placeholder = Buffer.alloc(32);
    compute({
      node: (level, index) => {
        const key = `${level}:${index}`;
        if (!this.nodeCache.has(key)) wanted.set(key, [level, index]);
        return placeholder;
      },
    });
    const found = new Map<string, Hash>();
    if (wanted.size > 0) {
      const requests = [...wanted.values()];
      const leaves = requests.filter(([level]) => level === 0).map(([, index]) => index);
      const interior = requests.filter(([level]) => level > 0);
      const result = await this.database.pool.query<{ level: number; idx: number; hash: Buffer }>(selectNodesSql, [
        leaves, interior.map(([level]) => level), interior.map(([, index]) => index),
      ]);
      for (const row of result.rows) {
        const key = `${row.level}:${row.idx}`;
        found.set(key, row.hash);
        if (row.level >= cachedMinimumLevel) {
          if (this.nodeCache.size >= cachedNodesLimit) this.nodeCache = new Map();
          this.nodeCache.set(key, row.hash);
        }
      }
    }
    return compute({
      node: (level, index) => {
        const key = `${level}:${index}`;
        const hash = found.get(key) ?? this.nodeCache.get(key);
        if (hash === undefined) throw new Error(`ledger is missing tree node (level ${level}, index ${index})`);
        return hash;
      },
    });
  }
}
