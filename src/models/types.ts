// The model registry's records and the ModelRegistryStore interface both SQL backends implement.
import type { ModelPricing } from '../core/pricing.js';

/** One upstream version of an alias, as first recorded: its identity and prices never change once written. */
export interface ModelVersionRecord {
  alias: string;
  version: string;
  provider: string;
  /** The id sent upstream (today the version itself). */
  upstreamId: string;
  pricing: ModelPricing;
  /** Epoch milliseconds. */
  firstSeen: number;
  /** The last call served by it; null before the first. */
  lastSeen: number | null;
  /** Calls served by it (flushed from each replica about once a second). */
  calls: number;
  /** When the provider announced its deprecation; null when it has not. */
  deprecationNoticeAt: number | null;
  /** The day its support ends (the contract's support_until, or the announced sunset). */
  supportUntil: number | null;
  /** What shadow calls to it have cost while it was a candidate, micro-dollars. */
  shadowSpentMicros: number;
}

export type NewModelVersion = Omit<ModelVersionRecord, 'lastSeen' | 'calls' | 'shadowSpentMicros'>;

/** What an upstream returned for a version: a `system_fingerprint` or the model id it named. */
export type ObservationKind = 'fingerprint' | 'model';

export interface FingerprintRecord {
  alias: string;
  version: string;
  kind: ObservationKind;
  value: string;
  firstSeen: number;
  /** false: it was a silent change when first seen (a person acknowledged it, or it was only alerted). */
  expected: boolean;
}

export const moveActions = ['seeded', 'staged', 'promoted', 'rolled_back', 'acknowledged', 'version_changed'] as const;
export type MoveAction = (typeof moveActions)[number];

/** One append-only event of an alias: the config's pin, a person's stage, promote, rollback or ack, a detected change. */
export interface ModelMove {
  id: number;
  alias: string;
  action: MoveAction;
  fromVersion: string | null;
  toVersion: string | null;
  /** The admin key's name, `config`, or `drift-monitor`. */
  by: string;
  at: number;
  /** Why and the evidence: a reason, a detected change's before and after, drift figures. */
  detail: Record<string, unknown> | null;
}

export type NewModelMove = Omit<ModelMove, 'id'>;

/** Durable registry (SQLite embedded, PostgreSQL shared by replicas). Versions and moves are only ever added. */
export interface ModelRegistryStore {
  /** Record a version unless the alias already has it; true when it was added. */
  addVersion(version: NewModelVersion): Promise<boolean>;
  /** The deprecation notice and end of support of a version (the config's contract can change them). */
  setTerms(alias: string, version: string, terms: { deprecationNoticeAt: number | null; supportUntil: number | null }): Promise<void>;
  versions(): Promise<ModelVersionRecord[]>;
  /** Add calls, shadow spend and the last-seen time to a version. */
  recordUse(alias: string, version: string, use: { calls: number; lastSeen: number | null; shadowMicros: number }): Promise<void>;
  /** Record what an upstream returned; true when it is new (another replica may have recorded it first). */
  addFingerprint(fingerprint: FingerprintRecord): Promise<boolean>;
  fingerprints(): Promise<FingerprintRecord[]>;
  appendMove(move: NewModelMove): Promise<ModelMove>;
  /** Oldest first; one alias, or all. */
  moves(alias?: string): Promise<ModelMove[]>;
  /** Changes whenever a move, a version, a fingerprint or a mock setting is added: replicas reload when it moves. */
  changeCounter(): Promise<string>;
  /** The run-time settings of each mock provider (opaque JSON, as `POST /admin/mock/:provider` left them). */
  mockSettings(): Promise<{ provider: string; settings: Record<string, unknown> }[]>;
  /** Replace a mock provider's settings; null: back to its configured behaviour. Moves the change counter. */
  setMockSettings(provider: string, settings: Record<string, unknown> | null): Promise<void>;
  /** Live drift windows a replica saved (opaque JSON per alias and version), to add back at its start. */
  driftWindows(replica: string): Promise<{ alias: string; version: string; state: unknown }[]>;
  /** Replace a replica's saved live drift windows (one row per alias and version). */
  saveDriftWindows(replica: string, windows: readonly { alias: string; version: string; state: unknown }[], at: number): Promise<void>;
}

/** A version row as both SQL stores return it (BIGINT columns may come back as strings). */
export interface ModelVersionRow {
  alias: string; version: string; provider: string; upstream_id: string; input_micros: number | string; output_micros: number | string;
  cached_input_micros: number | string; cache_write_micros: number | string; first_seen: number | string; last_seen: number | string | null;
  calls: number | string; deprecation_notice_at: number | string | null; support_until: number | string | null; shadow_micros: number | string;
}

export interface FingerprintRow { alias: string; version: string; kind: string; value: string; first_seen: number | string; expected: number | boolean }

export interface MoveRow {
  id: number | string; alias: string; action: string; from_version: string | null; to_version: string | null; by_name: string;
  at: number | string; detail: string | null;
}

const optionalNumber = (value: number | string | null): number | null => (value === null ? null : Number(value));

export function versionFromRow(row: ModelVersionRow): ModelVersionRecord {
  return {
    alias: row.alias, version: row.version, provider: row.provider, upstreamId: row.upstream_id,
    pricing: {
      inputMicrosPerMtok: Number(row.input_micros), outputMicrosPerMtok: Number(row.output_micros),
      cachedInputMicrosPerMtok: Number(row.cached_input_micros), cacheWriteMicrosPerMtok: Number(row.cache_write_micros),
    },
    firstSeen: Number(row.first_seen), lastSeen: optionalNumber(row.last_seen), calls: Number(row.calls),
    deprecationNoticeAt: optionalNumber(row.deprecation_notice_at), supportUntil: optionalNumber(row.support_until),
    shadowSpentMicros: Number(row.shadow_micros),
  };
}

export function fingerprintFromRow(row: FingerprintRow): FingerprintRecord {
  return {
    alias: row.alias, version: row.version, kind: row.kind as ObservationKind, value: row.value, firstSeen: Number(row.first_seen),
    expected: row.expected === true || row.expected === 1,
  };
}

export function moveFromRow(row: MoveRow): ModelMove {
  return {
    id: Number(row.id), alias: row.alias, action: row.action as MoveAction, fromVersion: row.from_version, toVersion: row.to_version,
    by: row.by_name, at: Number(row.at), detail: row.detail === null ? null : JSON.parse(row.detail) as Record<string, unknown>,
  };
}

/** The columns of a new version, in the order both SQL stores insert them. */
export const versionColumns = [
  'alias', 'version', 'provider', 'upstream_id', 'input_micros', 'output_micros', 'cached_input_micros', 'cache_write_micros',
  'first_seen', 'deprecation_notice_at', 'support_until',
] as const;

export function versionValues(version: NewModelVersion): (string | number | null)[] {
  const pricing = version.pricing;
  return [
    version.alias, version.version, version.provider, version.upstreamId, pricing.inputMicrosPerMtok, pricing.outputMicrosPerMtok,
    pricing.cachedInputMicrosPerMtok, pricing.cacheWriteMicrosPerMtok, version.firstSeen, version.deprecationNoticeAt, version.supportUntil,
  ];
}
