// SQLite schema of the evidence ledger: entries, time marks, complete-subtree hashes, signed checkpoints, the signing key, content.
import type { Migration } from './database.js';

export const ledgerMigrations: readonly Migration[] = [
  {
    id: 'ledger-001-initial',
    sql: `
      -- seq is the RFC 9162 leaf index; entry_json is the JCS text exactly as hashed; leaf_hash = SHA-256(0x00 || entry_json).
      CREATE TABLE ledger_entries (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        department TEXT,
        entry_json TEXT NOT NULL,
        leaf_hash BLOB NOT NULL
      );
      CREATE INDEX ledger_entries_department ON ledger_entries (department, seq);
      CREATE INDEX ledger_entries_time ON ledger_entries (time);

      -- Hashes of complete subtrees above the leaves: level L, index i covers leaves [i * 2^L, (i + 1) * 2^L).
      CREATE TABLE ledger_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
      ) WITHOUT ROWID;

      CREATE TABLE ledger_checkpoints (
        size INTEGER PRIMARY KEY,
        root_hash BLOB NOT NULL,
        note TEXT NOT NULL,
        time TEXT NOT NULL
      );

      -- One Ed25519 key, generated on first start; signer_key is the private key and is never printed.
      CREATE TABLE ledger_signing_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        origin TEXT NOT NULL,
        signer_key TEXT NOT NULL,
        verifier_key TEXT NOT NULL,
        created_at TEXT NOT NULL
      );

      -- Content lives apart from the log: deleting it never changes a leaf.
      CREATE TABLE ledger_content (
        seq INTEGER PRIMARY KEY,
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
  {
    id: 'ledger-002-time-marks',
    sql: `
      -- Entries carry their own times (a request's start), which need not grow with seq. Instead of an index entry per
      -- append, a mark is written when a batch raises the newest entry time: (time, seq) says every entry before seq is
      -- older than time, so a "since" query starts at the seq of the first mark at or after its time.
      CREATE TABLE ledger_time_marks (
        time TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO ledger_time_marks (time, seq)
        SELECT time, seq FROM (
          SELECT seq, time, MAX(time) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newest_before
          FROM ledger_entries
        )
        WHERE newest_before IS NULL OR time > newest_before;
      DROP INDEX ledger_entries_time;
    `,
  },
  {
    id: 'ledger-003-upper-nodes-only',
    sql: `
      -- ledger_nodes keeps only subtrees of 2^4 leaves and more (lowestStoredLevel in sqlite-tree.ts): smaller ones are
      -- hashed from ledger_entries.leaf_hash when read. Those written before are dropped, so that no stored node goes
      -- unread and unverified. A log written from now on lacks them: older releases cannot open it.
      DELETE FROM ledger_nodes WHERE level < 4;
    `,
  },
];
