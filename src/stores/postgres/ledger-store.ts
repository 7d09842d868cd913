// PostgreSQL evidence ledger shared by every replica: the ledger core over one tree, gap-free sequence numbers, one signing key.
//
// Each replica group-commits its appends (one transaction per batch). A batch locks the single head row, so batches
// from all replicas are serialized: the batch takes the next sequence numbers, extends the tree from the head's
// frontier, writes entries and new subtree hashes, and moves the head, in one transaction.
import { MerkleFrontier, toHex, type Hash, type NodeReader } from '../../core/merkle.js';
import { contentFromRow, type ContentRow, type PreparedContent } from '../../ledger/content.js';
import {
  numberBatch, openLedgerLog, type AppendRow, type AsyncLedgerStorage, type CheckedEntryQuery, type LedgerLogOptions,
  type PendingAppend, type SigningKey,
} from '../../ledger/log.js';
import { checkpointFromRow, entryFromRow, type CheckpointRow, type EntryRow } from '../../ledger/rows.js';
import type { LedgerStore, StoredCheckpoint, StoredContent, StoredEntry, TreeNode } from '../../ledger/types.js';
import { inTransaction, migratePostgres, type PostgresDatabase } from './database.js';
import { edgeHashes, edgeNodes, frontierHashes, insertEntriesSql, insertNodesSql, postgresLedgerMigrations, selectNodesSql } from './ledger-schema.js';

export interface PostgresLedgerOptions extends LedgerLogOptions {
  /** The pool (createPostgresStores(...).database); the ledger does not close it. */
  database: PostgresDatabase;
}

// Subtrees of 64 leaves and more never change once written and every proof reads the upper ones: cache them.
const cachedMinimumLevel = 6;
const cachedNodesLimit = 250_000;

/** Apply the ledger migrations, load or create the signing key, and return the store. */
export async function openPostgresLedger(options: PostgresLedgerOptions): Promise<LedgerStore> {
  await migratePostgres(options.database, postgresLedgerMigrations);
  return openLedgerLog(new PostgresLedgerStorage(options.database), options);
}

class PostgresLedgerStorage implements AsyncLedgerStorage {
  readonly commits = 'own-transaction';
  private nodeCache = new Map<string, Hash>();

  constructor(private readonly database: PostgresDatabase) {}

  /** One transaction: lock the head, number and hash the batch, write entries and subtrees, move the head. */
  async appendBatch(batch: readonly PendingAppend[], now: () => string): Promise<AppendRow[]> {
    let rows: AppendRow[] = [];
    await inTransaction(this.database.pool, async (client) => {
      const head = (await client.query<{ size: number; frontier: Buffer }>('SELECT size, frontier FROM ledger_head WHERE id = 1 FOR UPDATE')).rows[0];
      const edge = frontierHashes(head.frontier);
      const frontier = new MerkleFrontier(head.size, edge);
      // Subtrees the new right edge may be made of: the old edge and everything this batch creates.
      const known = edgeNodes(head.size, edge);
      // Numbered once the head is locked, so entry times follow sequence numbers across replicas.
      rows = numberBatch(batch, frontier, now());
      if (rows.length === 0) return;
      const entries = { seq: [] as number[], time: [] as string[], kind: [] as string[], department: [] as (string | null)[], json: [] as string[], leaf: [] as string[] };
      const nodes = { level: [] as number[], index: [] as number[], hash: [] as string[] };
      for (const row of rows) {
        entries.seq.push(row.seq);
        entries.time.push(row.time);
        entries.kind.push(row.kind);
        entries.department.push(row.department);
        entries.json.push(row.json);
        entries.leaf.push(toHex(row.leaf));
        // Level 0 is the entry's own leaf_hash; only interior subtrees go to ledger_nodes.
        for (const node of row.nodes) known.set(`${node.level}:${node.index}`, node.hash);
        for (const node of row.nodes.slice(1)) {
          nodes.level.push(node.level);
          nodes.index.push(node.index);
          nodes.hash.push(toHex(node.hash));
        }
      }
      await client.query(insertEntriesSql, [entries.seq, entries.time, entries.kind, entries.department, entries.json, entries.leaf]);
      if (nodes.level.length > 0) await client.query(insertNodesSql, [nodes.level, nodes.index, nodes.hash]);
      const newEdge = Buffer.concat(edgeHashes(frontier.size, known));
      await client.query('UPDATE ledger_head SET size = $1, frontier = $2 WHERE id = 1', [frontier.size, newEdge]);
    });
    return rows;
  }

  async readSigningKey(): Promise<SigningKey | undefined> {
    return (await this.database.pool.query<SigningKey>('SELECT origin, signer_key AS "signerKey", verifier_key AS "verifierKey" FROM ledger_signing_key WHERE id = 1')).rows[0];
  }

  async insertSigningKey(key: SigningKey, createdAt: string): Promise<void> {
    await this.database.pool.query(
      'INSERT INTO ledger_signing_key (id, origin, signer_key, verifier_key, created_at) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
      [key.origin, key.signerKey, key.verifierKey, createdAt]);
  }

  /** The head row: every replica's committed appends. */
  async head(): Promise<{ size: number; root: () => Hash }> {
    const head = (await this.database.pool.query<{ size: number; frontier: Buffer }>('SELECT size, frontier FROM ledger_head WHERE id = 1')).rows[0];
    const frontier = new MerkleFrontier(head.size, frontierHashes(head.frontier));
    return { size: head.size, root: () => frontier.root() };
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const result = await this.database.pool.query<CheckpointRow>('SELECT size, root_hash, note, time FROM ledger_checkpoints ORDER BY size DESC LIMIT 1');
    return result.rows[0] === undefined ? undefined : checkpointFromRow(result.rows[0]);
  }

  async checkpoints(fromSize: number, limit: number): Promise<StoredCheckpoint[]> {
    const result = await this.database.pool.query<CheckpointRow>(
      'SELECT size, root_hash, note, time FROM ledger_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2', [fromSize, limit]);
    return result.rows.map(checkpointFromRow);
  }

  /** Replicas signing the same size store it once. */
  async insertCheckpoint(size: number, rootHash: Buffer, note: string, time: string): Promise<void> {
    await this.database.pool.query(
      'INSERT INTO ledger_checkpoints (size, root_hash, note, time) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING', [size, rootHash, note, time]);
  }

  async entries(query: CheckedEntryQuery): Promise<StoredEntry[]> {
    const conditions = ['seq >= $1'];
    const parameters: unknown[] = [query.from];
    if (query.department !== undefined) {
      parameters.push(query.department);
      conditions.push(`department = $${parameters.length}`);
    }
    if (query.since !== undefined) {
      parameters.push(query.since);
      conditions.push(`time >= $${parameters.length}`);
    }
    if (query.kind !== undefined) {
      parameters.push(query.kind);
      conditions.push(`kind = $${parameters.length}`);
    }
    parameters.push(query.limit);
    const result = await this.database.pool.query<EntryRow>(
      `SELECT seq, entry_json, leaf_hash FROM ledger_entries WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT $${parameters.length}`, parameters);
    return result.rows.map(entryFromRow);
  }

  async entry(seq: number): Promise<StoredEntry | undefined> {
    const result = await this.database.pool.query<EntryRow>('SELECT seq, entry_json, leaf_hash FROM ledger_entries WHERE seq = $1', [seq]);
    return result.rows[0] === undefined ? undefined : entryFromRow(result.rows[0]);
  }

  /**
   * The core's reader is synchronous and which nodes a proof reads depends only on sizes and indices, so a first dry
   * run records them, one query fetches them, and a second run computes.
   */
  async withTree<T>(compute: (reader: NodeReader) => T): Promise<T> {
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

  /** Each read is its own statement: the head row and stored nodes never change under a proof once written. */
  inOneRead<T>(read: () => T): T {
    return read();
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

  async storeContent(seq: number, prepared: PreparedContent): Promise<boolean> {
    const result = await this.database.pool.query(
      `INSERT INTO ledger_content (seq, mode, department, time, request_json, response_json, redactions_json)
       SELECT seq, $2, department, time, $3, $4, $5 FROM ledger_entries WHERE seq = $1
       ON CONFLICT (seq) DO UPDATE SET mode = excluded.mode, department = excluded.department, time = excluded.time,
         request_json = excluded.request_json, response_json = excluded.response_json, redactions_json = excluded.redactions_json`,
      [seq, prepared.mode, prepared.requestJson, prepared.responseJson, prepared.redactions === null ? null : JSON.stringify(prepared.redactions)]);
    return result.rowCount !== 0;
  }

  async content(seq: number): Promise<StoredContent | undefined> {
    const row = (await this.database.pool.query<ContentRow>('SELECT * FROM ledger_content WHERE seq = $1', [seq])).rows[0];
    return row === undefined ? undefined : contentFromRow(row);
  }

  async purgeContent(olderThan: string, department: string | undefined): Promise<number> {
    const result = department === undefined
      ? await this.database.pool.query('DELETE FROM ledger_content WHERE time < $1', [olderThan])
      : await this.database.pool.query('DELETE FROM ledger_content WHERE time < $1 AND department = $2', [olderThan, department]);
    return result.rowCount ?? 0;
  }

  /** The pool belongs to the caller (the other PostgreSQL stores share it). */
  close(): void {}
}
