// Durable records behind small interfaces (SQLite embedded, PostgreSQL distributed): virtual keys and the request log.
import type { BudgetConfig } from '../config/schema.js';

export interface KeyRecord {
  id: string;
  department: string;
  name: string;
  /** Aliases the key may use; null means every alias. */
  models: string[] | null;
  budgets: BudgetConfig[];
  source: 'config' | 'api';
  secretHash: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface NewKey {
  id: string;
  department: string;
  name: string;
  models: string[] | null;
  budgets: BudgetConfig[];
  source: 'config' | 'api';
  secretHash: string;
  createdAt: string;
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
