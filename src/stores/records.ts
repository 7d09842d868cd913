// Durable records behind small interfaces (SQLite embedded, PostgreSQL distributed): virtual keys and the request log.
import type { BudgetConfig } from '../config/schema.js';

export interface NewKey {
  id: string;
  department: string;
  name: string;
  /** Aliases the key may use; null means every alias. */
  models: string[] | null;
  budgets: BudgetConfig[];
  source: 'config' | 'api';
  secretHash: string;
  createdAt: string;
}

export interface KeyRecord extends NewKey {
  revokedAt: string | null;
}

export interface KeyStore {
  list(): Promise<KeyRecord[]>;
  insert(key: NewKey): Promise<void>;
  /** Marks the key revoked; returns it, or undefined if there is no such key. */
  revoke(id: string, at: string): Promise<KeyRecord | undefined>;
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

export interface RequestLog {
  /** Queue a record; it is written in a batch shortly after. */
  add(record: RequestRecord): void;
  /** Newest first; department narrows to one tenant. */
  recent(limit: number, department?: string | null): Promise<RequestRecord[]>;
  flush(): Promise<void>;
}

/**
 * A request-log row as both stores return it: the end user is `end_user` (SQLite selects its `user` column under
 * that name; `user` is reserved in PostgreSQL), and `stream` is 0/1 in SQLite, boolean in PostgreSQL.
 */
export interface RequestRow {
  id: string; time: string; key_id: string | null; key_name: string | null; department: string | null; end_user: string | null;
  route: string; alias: string | null; provider: string | null; upstream_model: string | null; stream: boolean | number; status: number;
  error_code: string | null; input_tokens: number; output_tokens: number; cached_input_tokens: number; reasoning_tokens: number;
  cost_micros: number; latency_ms: number; max_tokens: number | null;
}

export function requestFromRow(row: RequestRow): RequestRecord {
  return {
    id: row.id, time: row.time, keyId: row.key_id, keyName: row.key_name, department: row.department, user: row.end_user,
    route: row.route, alias: row.alias, provider: row.provider, upstreamModel: row.upstream_model, stream: row.stream === true || row.stream === 1,
    status: row.status, errorCode: row.error_code, inputTokens: row.input_tokens, outputTokens: row.output_tokens,
    cachedInputTokens: row.cached_input_tokens, reasoningTokens: row.reasoning_tokens, costMicros: row.cost_micros,
    latencyMs: row.latency_ms, maxTokens: row.max_tokens,
  };
}
