// The rows every ledger backend stores for entries and checkpoints, and how they read back as the public types.
import { toHex } from '../core/merkle.js';
import { parseEntryJson } from './entry.js';
import type { StoredCheckpoint, StoredEntry } from './types.js';

export interface EntryRow {
  seq: number;
  entry_json: string;
  leaf_hash: Buffer;
}

export interface CheckpointRow {
  size: number;
  root_hash: Buffer;
  note: string;
  time: string;
}

export function entryFromRow(row: EntryRow): StoredEntry {
  return { seq: row.seq, entry: parseEntryJson(row.entry_json, row.seq), json: row.entry_json, leafHash: toHex(row.leaf_hash) };
}

export function checkpointFromRow(row: CheckpointRow): StoredCheckpoint {
  return { size: row.size, rootHash: toHex(row.root_hash), note: row.note, time: row.time };
}
