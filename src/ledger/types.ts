// The evidence ledger's shapes and the LedgerStore interface every backend (SQLite, PostgreSQL) implements.

/** Entry kinds Covenant writes; the type stays open so later features can add kinds without touching this file. */
export type LedgerEntryKind =
  | 'inference'
  | 'key.created'
  | 'key.updated'
  | 'key.revoked'
  | 'config.reloaded'
  | 'budget.changed'
  | 'alert.fired'
  | 'budget.window_closed'
  | 'session.suspended'
  | 'session.resumed'
  | 'model.changed'
  | 'model.promoted'
  | 'model.rolled_back'
  | 'inventory.changed'
  | 'sourcing.decided'
  | 'blueprint.applied'
  | 'vendor.qualified'
  | 'decision.recorded'
  | 'decision.reviewed'
  | 'decision.overridden'
  | 'decision.outcome'
  | 'decision.review_overdue'
  | 'system.suspended'
  | 'system.resumed'
  | 'fairness.breach'
  | 'sla_breach'
  | 'sla.recovered'
  | 'model.seeded'
  | 'model.staged'
  | 'model.acknowledged'
  | 'model.version_changed'
  | 'model.shadow'
  | 'model.contract_warning'
  | 'drift.run'
  | 'drift.material'
  | 'contract.checked'
  | 'weights.registered'
  | 'portability.requested'
  | 'portability.delivered'
  | 'portability.overdue'
  | 'mock.changed'
  | (string & {});

/** What a caller appends. The store adds `seq` (the leaf index, from 0) and `time` when it is absent. */
export interface LedgerEntryInput {
  kind: LedgerEntryKind;
  /** When the event happened; default: the store's clock at append. Stored as an ISO 8601 UTC string. */
  time?: string | Date;
  department?: string;
  /** The key's name, never its secret. */
  key?: string;
  user?: string;
  [field: string]: unknown;
}

/** A stored entry: exactly the JSON object whose RFC 8785 canonical form is the leaf's data. */
export interface LedgerEntry {
  seq: number;
  time: string;
  kind: LedgerEntryKind;
  department?: string;
  key?: string;
  user?: string;
  [field: string]: unknown;
}

/** The fields of an `inference` entry (README, "The evidence ledger"); pass them with kind: 'inference'. */
export interface InferenceEntryFields {
  alias: string;
  provider: string;
  upstream_model: string | null;
  system_fingerprint: string | null;
  request_sha256: string;
  response_sha256: string | null;
  tokens: { input: number; output: number; cached_input: number; reasoning: number };
  cost_usd_micros: number;
  latency_ms: number;
  /** Milliseconds to the first output (streams: the first chunk with content; JSON chat: the whole answer); null when none. */
  ttft_ms?: number | null;
  decision: { outcome: 'allowed' | 'refused'; reason?: string; policy?: string };
  config_version: string;
}

export interface AppendResult {
  seq: number;
  /** Hex SHA-256 leaf hash, RFC 9162 §2.1.1. */
  leafHash: string;
}

export interface TreeHead {
  size: number;
  /** Hex root hash (the empty tree's root for size 0). */
  rootHash: string;
}

export interface TreeNode {
  index: number;
  /** Hex hash. */
  hash: string;
}

export interface StoredCheckpoint {
  size: number;
  rootHash: string;
  /** The C2SP signed note, exactly as signed. */
  note: string;
  /** When it was signed (ISO 8601). */
  time: string;
}

export interface StoredEntry {
  seq: number;
  entry: LedgerEntry;
  /** The stored canonical JSON text, exactly as hashed. */
  json: string;
  leafHash: string;
}

export interface EntryQuery {
  /** First sequence number (inclusive); default 0. */
  from?: number;
  /** At most this many; default 100. */
  limit?: number;
  /** Only this department's entries (tenant isolation). */
  department?: string;
  /** Only entries whose time is at or after this. */
  since?: Date;
  kind?: string;
}

/** `covenant audit proof` / GET /admin/audit/proof JSON. Hashes are hex. */
export interface InclusionProofResult {
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  inclusion_path: string[];
  root_hash: string;
  entry: LedgerEntry;
}

/** `covenant audit consistency` JSON. Hashes are hex. */
export interface ConsistencyProofResult {
  first_size: number;
  second_size: number;
  first_root: string;
  second_root: string;
  consistency_path: string[];
}

export type ContentMode = 'none' | 'redacted' | 'full';

/** Request and response bodies: text, bytes or parsed JSON. */
export interface EntryContent {
  request?: unknown;
  response?: unknown;
}

export interface StoredContent {
  seq: number;
  mode: 'redacted' | 'full';
  request: unknown;
  response: unknown;
  department: string | null;
  /** The entry's time, which retention counts from. */
  time: string;
  /** How many identifiers redaction masked, by kind (redacted mode only). */
  redactions?: Record<string, number>;
}

/**
 * Storage for the evidence ledger. Merkle math lives in src/core/merkle.ts; a store keeps entries, complete-subtree
 * hashes, signed checkpoints, the signing key and content, and assigns sequence numbers without gaps.
 */
export interface LedgerStore {
  /** The log's origin line (also the signing key's name). */
  readonly origin: string;
  /** False for stores opened read-only (the CLI): they cannot append or sign. */
  readonly writable: boolean;
  /** Resolves once the entry is durably committed (group commit: appends of one event-loop turn share one transaction). */
  append(entry: LedgerEntryInput): Promise<AppendResult>;
  /** Resolves once every append made so far is committed. */
  flush(): Promise<void>;
  head(): Promise<TreeHead>;
  /** Sign a checkpoint of the current tree if it grew since the last one (writable stores); returns the latest. */
  checkpoint(): Promise<StoredCheckpoint | undefined>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Checkpoints in increasing size, starting at `fromSize` (inclusive). */
  checkpoints(query?: { fromSize?: number; limit?: number }): Promise<StoredCheckpoint[]>;
  entries(query?: EntryQuery): Promise<StoredEntry[]>;
  entry(seq: number): Promise<StoredEntry | undefined>;
  /** Default tree size: the latest checkpoint's when it covers `seq`, else the current size. */
  inclusionProof(seq: number, treeSize?: number): Promise<InclusionProofResult>;
  consistencyProof(firstSize: number, secondSize: number): Promise<ConsistencyProofResult>;
  /**
   * Interior levels below this are not stored but hashed from the leaf hashes when read (treeNodes still answers for
   * them), so a verifier that checked the leaves learns nothing more from them. Default 1: every level is stored.
   */
  readonly lowestStoredLevel?: number;
  /** Complete-subtree hashes of one level with index in [from, from + limit), in index order (level 0 = leaf hashes). */
  treeNodes(level: number, from: number, limit: number): Promise<TreeNode[]>;
  /** The verifier key "<name>+<hex key hash>+<base64 key>"; never the private key. */
  publicKey(): Promise<string>;
  storeContent(seq: number, content: EntryContent, mode: ContentMode): Promise<void>;
  content(seq: number): Promise<StoredContent | undefined>;
  /** Delete content of entries older than `olderThan` (optionally one department's); returns how many. */
  purgeContent(olderThan: Date, options?: { department?: string }): Promise<number>;
  /** Commit pending appends, sign a final checkpoint, stop timers, release the database. */
  close(): Promise<void>;
}
