// SQLite statements of the evidence ledger, and a cache of upper-level subtree hashes for fast proofs.
import type { Statement } from 'better-sqlite3';
import type { Hash, NodeReader } from '../../core/merkle.js';
import type { SqliteDatabase } from './database.js';
import type { AppendRow } from '../../ledger/log.js';
import { lowestStoredLevel } from './ledger-tree.js';

/** A batch raised the newest entry time: every entry before `seq` is older than `time` (see migration ledger-002). */
export interface TimeMark {
  time: string;
  seq: number;
}

// Subtrees of 2^6 leaves and more are few (1/64 of the leaves) and every proof reads the upper ones; they never change
// once written, so caching them is safe. Bounded: the cache is dropped when it reaches its size.
const cachedMinimumLevel = 6;
const cachedNodesLimit = 250_000;

export function cachedReader(reader: NodeReader): NodeReader {
  let cache = new Map<number, Hash>();
  return {
    node(level, index) {
      if (level < cachedMinimumLevel) return reader.node(level, index);
      const key = index * 64 + level;
      let hash = cache.get(key);
      if (hash === undefined) {
        hash = reader.node(level, index);
        if (cache.size >= cachedNodesLimit) cache = new Map();
        cache.set(key, hash);
      }
      return hash;
    },
  };
}

// Entries go in by INSERTs of 16, 8, 4, 2 and 1 rows, the largest that fit what is left of a batch: a batch of n
// rows takes at most log2(n) + 1 statement calls (and result objects) instead of n.
const chunkSizes = [16, 8, 4, 2, 1] as const;
const entryColumns = 6;

export function prepareStatements(database: SqliteDatabase) {
  const entriesInsert = (rows: number) =>
    database.prepare(`INSERT INTO ledger_entries (seq, time, kind, department, entry_json, leaf_hash) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`);
  const inserts = chunkSizes.map((size) => ({ size, statement: entriesInsert(size), values: new Array<unknown>(size * entryColumns) }));
  const insertNode = database.prepare('INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)');
  const insertTimeMark = database.prepare('INSERT INTO ledger_time_marks (time, seq) VALUES (?, ?)');
  const writeBatch = database.transaction(
    (rows: readonly AppendRow[], timeMark: TimeMark | undefined) => {
      if (timeMark !== undefined) insertTimeMark.run(timeMark.time, timeMark.seq);
      let position = 0;
      for (const { size, statement, values } of inserts) {
        for (; position + size <= rows.length; position += size) {
          for (let offset = 0; offset < size; offset += 1) {
            const row = rows[position + offset];
            const at = offset * entryColumns;
            values[at] = row.seq;
            values[at + 1] = row.time;
            values[at + 2] = row.kind;
            values[at + 3] = row.department;
            values[at + 4] = row.json;
            values[at + 5] = row.leaf;
          }
          statement.run(values);
        }
      }
      // Level 0 is the entry's own leaf_hash and the levels below lowestStoredLevel are hashed from the leaves when read;
      // only the subtrees above go to ledger_nodes (one per 2^(lowestStoredLevel - 1) appends).
      for (const row of rows) {
        for (let level = lowestStoredLevel; level < row.nodes.length; level += 1) {
          const node = row.nodes[level];
          insertNode.run(node.level, node.index, node.hash);
        }
      }
    },
  );
  const pluck = (statement: Statement) => statement.pluck();
  return {
    writeBatch,
    leafHash: pluck(database.prepare('SELECT leaf_hash FROM ledger_entries WHERE seq = ?')),
    leafHashesIn: pluck(database.prepare('SELECT leaf_hash FROM ledger_entries WHERE seq >= ? AND seq < ? ORDER BY seq')),
    nodeHash: pluck(database.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?')),
    maxSeq: pluck(database.prepare('SELECT MAX(seq) FROM ledger_entries')),
    newestTime: pluck(database.prepare('SELECT time FROM ledger_time_marks ORDER BY time DESC LIMIT 1')),
    firstSeqSince: pluck(database.prepare('SELECT seq FROM ledger_time_marks WHERE time >= ? ORDER BY time LIMIT 1')),
    leavesFrom: database.prepare('SELECT seq AS "index", leaf_hash AS hash FROM ledger_entries WHERE seq >= ? AND seq < ? ORDER BY seq'),
    nodesFrom: database.prepare('SELECT idx AS "index", hash FROM ledger_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx'),
    entryBySeq: database.prepare('SELECT seq, entry_json, leaf_hash FROM ledger_entries WHERE seq = ?'),
    entryMeta: database.prepare('SELECT time, department FROM ledger_entries WHERE seq = ?'),
    insertCheckpoint: database.prepare('INSERT OR IGNORE INTO ledger_checkpoints (size, root_hash, note, time) VALUES (?, ?, ?, ?)'),
    latestCheckpoint: database.prepare('SELECT size, root_hash, note, time FROM ledger_checkpoints ORDER BY size DESC LIMIT 1'),
    checkpointsFrom: database.prepare('SELECT size, root_hash, note, time FROM ledger_checkpoints WHERE size >= ? ORDER BY size LIMIT ?'),
    upsertContent: database.prepare(
      'INSERT OR REPLACE INTO ledger_content (seq, mode, department, time, request_json, response_json, redactions_json) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    contentBySeq: database.prepare('SELECT * FROM ledger_content WHERE seq = ?'),
    purgeContent: database.prepare('DELETE FROM ledger_content WHERE time < ?'),
    purgeDepartmentContent: database.prepare('DELETE FROM ledger_content WHERE time < ? AND department = ?'),
  };
}
