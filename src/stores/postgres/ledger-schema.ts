// PostgreSQL schema of the evidence ledger (the SQLite layout plus a head row that serializes appends across replicas),
// and its batch statements.
import { frontierLevels, type Hash } from '../../core/merkle.js';
import type { PostgresMigration } from './database.js';

export const postgresLedgerMigrations: readonly PostgresMigration[] = [
  {
    id: 'ledger-001-initial',
    sql: `
      -- seq is the RFC 9162 leaf index; entry_json is the JCS text exactly as hashed; leaf_hash = SHA-256(0x00 || entry_json).
      CREATE TABLE ledger_entries (
        seq BIGINT PRIMARY KEY,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        department TEXT,
        entry_json TEXT NOT NULL,
        leaf_hash BYTEA NOT NULL
      );
      CREATE INDEX ledger_entries_department ON ledger_entries (department, seq);
      CREATE INDEX ledger_entries_time ON ledger_entries (time);

      -- Hashes of complete subtrees above the leaves: level L, index i covers leaves [i * 2^L, (i + 1) * 2^L).
      CREATE TABLE ledger_nodes (
        level INTEGER NOT NULL,
        idx BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        PRIMARY KEY (level, idx)
      );

      -- The one tree head: every append batch locks this row (SELECT … FOR UPDATE), so replicas take turns and
      -- sequence numbers have no gap. frontier holds the right edge of the tree (32-byte hashes, largest subtree
      -- first), so a batch never reads nodes to extend the tree.
      CREATE TABLE ledger_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size BIGINT NOT NULL,
        frontier BYTEA NOT NULL
      );
      INSERT INTO ledger_head (id, size, frontier) VALUES (1, 0, ''::bytea);

      CREATE TABLE ledger_checkpoints (
        size BIGINT PRIMARY KEY,
        root_hash BYTEA NOT NULL,
        note TEXT NOT NULL,
        time TEXT NOT NULL
      );

      -- One Ed25519 key for every replica, created by the first one to start; signer_key is never printed.
      CREATE TABLE ledger_signing_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        origin TEXT NOT NULL,
        signer_key TEXT NOT NULL,
        verifier_key TEXT NOT NULL,
        created_at TEXT NOT NULL
      );

      -- Content lives apart from the log: deleting it never changes a leaf.
      CREATE TABLE ledger_content (
        seq BIGINT PRIMARY KEY,
        mode TEXT NOT NULL,
        department TEXT,
        time TEXT NOT NULL,
        request_json TEXT,
        response_json TEXT,
        redactions_json TEXT
      );
      CREATE INDEX ledger_content_time ON ledger_content (time);
    `,
  },
];

/** Split the head row's frontier into its 32-byte hashes. */
export function frontierHashes(bytes: Buffer): Buffer[] {
  const hashes: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 32) hashes.push(bytes.subarray(offset, offset + 32));
  return hashes;
}

// One statement per batch: each column is one array parameter (hashes as hex text, decoded by the server).
export const insertEntriesSql = `
  INSERT INTO ledger_entries (seq, time, kind, department, entry_json, leaf_hash)
  SELECT seq, time, kind, department, entry_json, decode(leaf_hex, 'hex')
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS batch (seq, time, kind, department, entry_json, leaf_hex)`;

export const insertNodesSql = `
  INSERT INTO ledger_nodes (level, idx, hash)
  SELECT level, idx, decode(hash_hex, 'hex') FROM unnest($1::integer[], $2::bigint[], $3::text[]) AS batch (level, idx, hash_hex)`;

/** Leaves and interior nodes wanted by a proof, in one round trip. */
export const selectNodesSql = `
  SELECT 0 AS level, seq AS idx, leaf_hash AS hash FROM ledger_entries WHERE seq = ANY($1::bigint[])
  UNION ALL
  SELECT node.level, node.idx, node.hash FROM ledger_nodes AS node
  JOIN unnest($2::integer[], $3::bigint[]) AS wanted (level, idx) ON node.level = wanted.level AND node.idx = wanted.idx`;

/** The complete subtrees along the right edge of a tree of `size` (largest first), found among `known` nodes. */
export function edgeHashes(size: number, known: ReadonlyMap<string, Hash>): Hash[] {
  let begin = 0;
  return frontierLevels(size).map((level) => {
    const key = `${level}:${begin / 2 ** level}`;
    begin += 2 ** level;
    const hash = known.get(key);
    if (hash === undefined) throw new Error(`ledger head is missing subtree ${key}`);
    return hash;
  });
}

/** The head row's frontier as nodes keyed "level:index". */
export function edgeNodes(size: number, hashes: readonly Hash[]): Map<string, Hash> {
  const nodes = new Map<string, Hash>();
  let begin = 0;
  frontierLevels(size).forEach((level, position) => {
    nodes.set(`${level}:${begin / 2 ** level}`, hashes[position]);
    begin += 2 ** level;
  });
  return nodes;
}
