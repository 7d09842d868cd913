// Durable records behind small interfaces (SQLite embedded, PostgreSQL distributed): virtual keys, and the request log read from the ledger.
import type { BudgetConfig, KeyGuardsConfig } from '../config/schema.js';
import { SharedValues } from './shared-values.js';

export interface NewKey {
  id: string;
  department: string;
  name: string;
  /** Aliases the key may use; null means every alias. */
  models: string[] | null;
  budgets: BudgetConfig[];
  /**
   * The guards and routing of a key made by the admin API, as it was given; null for none. Config keys keep theirs
   * in the config (resolved by department and name), so a reload changes them without touching the store.
   */
  policy?: KeyGuardsConfig | null;
  source: 'config' | 'api';
  secretHash: string;
  createdAt: string;
}

export interface KeyRecord extends NewKey {
  policy: KeyGuardsConfig | null;
  revokedAt: string | null;
  /** Starts at 1 and grows by one with every change of the stored key (edit, revocation, config sync): its ETag. */
  revision: number;
}

/**
 * An api_keys row as both stores return it: `models` and `budgets` are JSON text in SQLite and already parsed
 * (JSONB) in PostgreSQL.
 */
export interface KeyRow {
  id: string; department: string; name: string; models: string | string[] | null; budgets: string | KeyRecord['budgets'];
  policy: string | KeyGuardsConfig | null; source: 'config' | 'api'; secret_hash: string; created_at: string; revoked_at: string | null;
  revision: number;
}

const parsed = <T>(value: string | T): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

/**
 * A key record from its row. Rows listed together pass one `shared`, so that their records share equal strings and
 * budget lists (a hundred thousand keys in memory); a single row needs none.
 */
export function keyFromRow(row: KeyRow, shared?: SharedValues): KeyRecord {
  const json = shared === undefined ? parsed : <T>(value: string | T) => shared.json<T>(value);
  const string = shared === undefined ? (value: string) => value : (value: string) => shared.string(value);
  return {
    id: row.id,
    department: string(row.department),
    name: row.name,
    models: row.models === null ? null : json<string[]>(row.models),
    budgets: json<KeyRecord['budgets']>(row.budgets),
    policy: row.policy === null || row.policy === undefined ? null : json<KeyGuardsConfig>(row.policy),
    source: string(row.source) as KeyRow['source'],
    secretHash: row.secret_hash,
    createdAt: string(row.created_at),
    revokedAt: row.revoked_at,
    revision: row.revision,
  };
}

/** Key records from rows listed together, sharing equal values. */
export function keysFromRows(rows: readonly KeyRow[]): KeyRecord[] {
  const shared = new SharedValues();
  return rows.map((row) => keyFromRow(row, shared));
}

/** A key row with the change sequence its last write stamped on it (`api_keys.change_sequence`). */
export type ChangedKeyRow = KeyRow & { change_sequence: number };

/** Keys written since a reader's last read, and the sequence to ask after next time. */
export interface ChangedKeys {
  keys: KeyRecord[];
  sequence: number;
}

/** The changed keys in rows read after `after`, ordered by their change sequence. */
export function changedKeysFromRows(rows: readonly ChangedKeyRow[], after: number): ChangedKeys {
  return { keys: keysFromRows(rows), sequence: rows.length === 0 ? after : rows[rows.length - 1]!.change_sequence };
}

/** What an edit of an admin-API key replaces (its secret, source and times stay). */
export type KeyChanges = Pick<KeyRecord, 'department' | 'name' | 'models' | 'budgets' | 'policy'>;

/** An edit that expected a revision the key no longer has: nothing was written; `revision` is the key's current one. */
export interface KeyRevisionConflict {
  conflict: 'revision';
  revision: number;
}

export function isRevisionConflict(result: KeyRecord | KeyRevisionConflict | undefined): result is KeyRevisionConflict {
  return result !== undefined && 'conflict' in result;
}

export interface KeyStore {
  list(): Promise<KeyRecord[]>;
  /** One key, revoked or not, by its id (one indexed read); undefined when there is none. */
  get(id: string): Promise<KeyRecord | undefined>;
  /**
   * The keys inserted, edited, revoked or changed by a config sync since `after` (0: every key), with the sequence to
   * pass next time. Every write stamps its rows with the next number of one store-wide counter, taken in the write's
   * transaction and held until it commits, so stamps become visible in order: a reader never skips a lower stamp
   * committed after it read a higher one.
   */
  changedSince(after: number): Promise<ChangedKeys>;
  insert(key: NewKey): Promise<void>;
  /** Marks the key revoked; returns it, or undefined if there is no such key. */
  /**
   * With `expectedRevision`, an active key is revoked only while it still has that revision (checked in the statement
   * that writes); otherwise nothing changes and the conflict names its current revision. A key already revoked is
   * returned as it is, whatever the revision.
   */
  revoke(id: string, at: string, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined>;
  /**
   * Replaces an active admin-API key's department, name, models, budgets and guards and moves it to its next
   * revision; returns it, or undefined when there is no such key (a config key, or a revoked one, is left as it is:
   * config keys change in the config file). Given `expectedRevision`, the write happens only if the key still has that
   * revision, checked in the same statement that writes; otherwise nothing changes and the conflict names the
   * key's current revision (optimistic concurrency: two admins editing from the same revision, one wins).
   */
  update(id: string, changes: KeyChanges, expectedRevision?: number): Promise<KeyRecord | KeyRevisionConflict | undefined>;
  /** Brings config-defined keys in line with the config: new ones added, changed ones updated, removed ones revoked. */
  syncConfigKeys(keys: NewKey[], at: string): Promise<void>;
}

export interface RequestRecord {
  id: string;
  time: string;
  keyId: string | null;
  keyName: string | null;
  department: string | null;
  user: string | null;
  route: string;
  alias: string | null;
  provider: string | null;
  upstreamModel: string | null;
  stream: boolean;
  status: number;
  errorCode: string | null;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  costMicros: number;
  latencyMs: number;
  maxTokens: number | null;
}

/**
 * The operational list of recent requests. It is read from the evidence ledger's inference entries, which hold
 * every field (a second table would store each request twice and cost the request path a second write).
 */
export interface RequestLog {
  /** Newest first; department narrows to one tenant. */
  recent(limit: number, department?: string | null): Promise<RequestRecord[]>;
}

/** The fields of an inference entry the request log shows (written by the ledger stage, src/gateway/stages/ledger-stage.ts). */
interface InferenceEntryFields {
  request_id?: string; time?: string; key_id?: string | null; key?: string | null; department?: string | null; user?: string | null;
  route?: string; alias?: string | null; provider?: string | null; upstream_model?: string | null; stream?: boolean; status?: number;
  error?: string | null; tokens?: { input?: number; output?: number; cached_input?: number; reasoning?: number };
  cost_usd_micros?: number; latency_ms?: number;
  decision?: { outcome?: string; reason?: string; max_tokens?: number | null };
}

/** A request record from the stored JSON of an inference entry; entries that no longer parse are skipped (verify reports them). */
export function requestFromEntryJson(json: string): RequestRecord | undefined {
  let entry: InferenceEntryFields;
  try {
    entry = JSON.parse(json) as InferenceEntryFields;
  } catch {
    return undefined;
  }
  const decision = entry.decision ?? {};
  const tokens = entry.tokens ?? {};
  return {
    id: entry.request_id ?? '', time: entry.time ?? '', keyId: entry.key_id ?? null, keyName: entry.key ?? null,
    department: entry.department ?? null, user: entry.user ?? null, route: entry.route ?? '', alias: entry.alias ?? null,
    provider: entry.provider ?? null, upstreamModel: entry.upstream_model ?? null, stream: entry.stream === true,
    status: entry.status ?? 0, errorCode: entry.error ?? (decision.outcome === 'refused' ? (decision.reason ?? null) : null),
    inputTokens: tokens.input ?? 0, outputTokens: tokens.output ?? 0, cachedInputTokens: tokens.cached_input ?? 0,
    reasoningTokens: tokens.reasoning ?? 0, costMicros: entry.cost_usd_micros ?? 0, latencyMs: entry.latency_ms ?? 0,
    maxTokens: decision.max_tokens ?? null,
  };
}

/** Newest-first inference entries, as both stores select them: `department` (when given) narrows to one tenant. */
export function recentInferenceSql(placeholder: (position: number) => string, department: boolean): string {
  return department
    ? `SELECT entry_json FROM ledger_entries WHERE department = ${placeholder(1)} AND kind = 'inference' ORDER BY seq DESC LIMIT ${placeholder(2)}`
    : `SELECT entry_json FROM ledger_entries WHERE kind = 'inference' ORDER BY seq DESC LIMIT ${placeholder(1)}`;
}
