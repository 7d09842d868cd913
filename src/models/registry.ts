// The model registry: every alias's versions and moves, kept in memory for the request path and in a durable store for replicas.
import type { AlertRaiser } from '../alerts/raiser.js';
import { deliverWebhook } from '../budgets/webhook.js';
import type { ResolvedConfig, ResolvedModel } from '../config/resolve.js';
import { CovenantError } from '../core/errors.js';
import type { ModelPricing } from '../core/pricing.js';
import { builtInPricing } from '../core/price-table.js';
import type { LedgerEntryInput } from '../ledger/types.js';
import { aliasPolicy, contractWarnings, deprecationHeaders, versionTerms, type AliasPolicy } from './policy.js';
import { lexicalSimilarity, type TextSimilarity } from './similarity.js';
import { aliasState, judge, rollbackTarget, versionStatus, type AliasState, type ObservedChange } from './state.js';
import type { FingerprintRecord, ModelMove, ModelRegistryStore, ModelVersionRecord, MoveAction, NewModelMove } from './types.js';

export interface ModelRegistryOptions {
  store: ModelRegistryStore;
  /** The config in force (its models seed the registry; its org webhook receives alerts). */
  config: () => ResolvedConfig;
  /** Append an entry to the evidence ledger; awaited, so an answer follows its entry. */
  record: (entry: LedgerEntryInput) => Promise<void>;
  clock?: () => number;
  fetch?: typeof fetch;
  onError?: (error: unknown, where: string) => void;
  /** Records each silent-change alert with its delivery (GET /admin/alerts) and posts it; without it, alerts are only posted. */
  alerts?: AlertRaiser;
  /** Each load hands over every mock provider's run-time settings from the store (the gateway applies them). */
  onMockSettings?: (settings: Map<string, Record<string, unknown>>) => void;
}

/** One version as the request path reads it. */
interface VersionRuntime {
  record: ModelVersionRecord;
  fingerprints: Set<string>;
  models: Set<string>;
  calls: number;
  headers: Record<string, string> | null;
  pendingCalls: number;
  pendingLastSeen: number | null;
  pendingShadowMicros: number;
  /** The ResolvedModel served for it, built once per config model it replaces. */
  resolved?: { base: ResolvedModel; model: ResolvedModel };
}

interface AliasRuntime {
  state: AliasState;
  versions: Map<string, VersionRuntime>;
}

/** The result of a move: what the alias serves now. */
export interface MoveResult {
  alias: string;
  action: MoveAction;
  from_version: string | null;
  to_version: string | null;
  by: string;
  at: string;
}

/** Evidence of material drift as the live monitor hands it over (figures against the contract's thresholds). */
export type DriftEvidence = Record<string, unknown>;


export class ModelRegistry {
  readonly #options: ModelRegistryOptions;
  #aliases = new Map<string, AliasRuntime>();
  #policies = new Map<string, AliasPolicy>();
  #counter = '';
  #pending = new Set<Promise<void>>();
  #judging: Promise<void> = Promise.resolve();
  /** Lexical unless replaced; the gateway sets the built-in embedding's cosine (app.ts). */
  similarity: TextSimilarity = lexicalSimilarity;

  constructor(options: ModelRegistryOptions) {
    this.#options = options;
  }

  #now(): number {
    return (this.#options.clock ?? Date.now)();
  }

  #policiesFrom(config: ResolvedConfig): void {
    this.#policies = new Map(config.raw.models.map((model) => [model.alias, aliasPolicy(model)]));
  }

  policy(alias: string): AliasPolicy | undefined {
    return this.#policies.get(alias);
  }

  /** Read everything from the store into memory. */
  async load(): Promise<void> {
    this.#policiesFrom(this.#options.config());
    const store = this.#options.store;
    const counter = await store.changeCounter();
    const [versions, fingerprints, moves, mocks] = await Promise.all([store.versions(), store.fingerprints(), store.moves(), store.mockSettings()]);
    const aliases = new Map<string, AliasRuntime>();
    const aliasOf = (alias: string): AliasRuntime => {
      let runtime = aliases.get(alias);
      if (!runtime) {
        runtime = { state: aliasState([]), versions: new Map() };
        aliases.set(alias, runtime);
      }
      return runtime;
    };
    for (const record of versions) {
      const previous = this.#aliases.get(record.alias)?.versions.get(record.version);
      aliasOf(record.alias).versions.set(record.version, {
        record, fingerprints: new Set(), models: new Set(), calls: record.calls + (previous?.pendingCalls ?? 0), headers: deprecationHeaders(record),
        pendingCalls: previous?.pendingCalls ?? 0, pendingLastSeen: previous?.pendingLastSeen ?? null, pendingShadowMicros: previous?.pendingShadowMicros ?? 0,
        resolved: previous?.resolved,
      });
    }
    for (const fingerprint of fingerprints) {
      const version = aliases.get(fingerprint.alias)?.versions.get(fingerprint.version);
      if (!version) continue;
      (fingerprint.kind === 'model' ? version.models : version.fingerprints).add(fingerprint.value);
    }
    const byAlias = new Map<string, ModelMove[]>();
    for (const move of moves) byAlias.set(move.alias, [...(byAlias.get(move.alias) ?? []), move]);
    for (const [alias, list] of byAlias) aliasOf(alias).state = aliasState(list);
    this.#aliases = aliases;
    this.#counter = counter;
    this.#options.onMockSettings?.(new Map(mocks.map((row) => [row.provider, row.settings])));
  }

  /** Store a mock provider's run-time settings (null: reset) and apply them here; other replicas at their next refresh. */
  async setMockSettings(provider: string, settings: Record<string, unknown> | null): Promise<void> {
    await this.#options.store.setMockSettings(provider, settings);
    await this.load();
  }

  /**
   * Seed the registry from the config's `models:` pins: each version is recorded, and an alias whose configured version
   * differs from the one the config last seeded is moved to it (a new config pin is a move too). Call at start and reload.
   */
  async seed(): Promise<void> {
    const config = this.#options.config();
    this.#policiesFrom(config);
    const store = this.#options.store;
    const now = this.#now();
    const seededBefore = new Map<string, string | null>();
    for (const move of await store.moves()) if (move.action === 'seeded') seededBefore.set(move.alias, move.toVersion);
    for (const model of config.models.values()) {
      const terms = versionTerms(this.#policies.get(model.alias)!.contract);
      const added = await store.addVersion({
        alias: model.alias, version: model.version, provider: model.provider, upstreamId: model.version, pricing: model.pricing, firstSeen: now, ...terms,
      });
      if (!added) await store.setTerms(model.alias, model.version, terms);
      if (seededBefore.get(model.alias) !== model.version) {
        const from = this.#aliases.get(model.alias)?.state.active ?? null;
        await this.#move({ alias: model.alias, action: 'seeded', fromVersion: from, toVersion: model.version, by: 'config', at: now, detail: { config_version: config.version } });
      }
    }
    await this.load();
  }

  /** Warnings about every alias's contract now (deprecation notice too short, support ending within the horizon). */
  contractWarnings(): string[] {
    const now = this.#now();
    return [...this.#policies.values()].flatMap((policy) => contractWarnings(policy.alias, policy.contract, now));
  }

  /** Reload from the store when another replica changed it (a cheap counter query when nothing did); flushes usage first. */
  async refresh(): Promise<boolean> {
    await this.flush();
    const counter = await this.#options.store.changeCounter();
    if (counter === this.#counter) return false;
    await this.load();
    return true;
  }

  /** Write the calls, last-seen times and shadow spend counted since the last flush. */
  async flush(): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const runtime of this.#aliases.values()) {
      for (const version of runtime.versions.values()) {
        if (version.pendingCalls === 0 && version.pendingShadowMicros === 0) continue;
        const use = { calls: version.pendingCalls, lastSeen: version.pendingLastSeen, shadowMicros: version.pendingShadowMicros };
        version.pendingCalls = 0;
        version.pendingShadowMicros = 0;
        version.pendingLastSeen = null;
        version.record.calls += use.calls;
        version.record.shadowSpentMicros += use.shadowMicros;
        if (use.lastSeen !== null) version.record.lastSeen = use.lastSeen;
        writes.push(this.#options.store.recordUse(version.record.alias, version.record.version, use));
      }
    }
    await Promise.all(writes);
  }

  /** The version an alias serves; undefined when the registry has none for it. O(1): the request path calls it. */
  activeVersion(alias: string): string | undefined {
    return this.#aliases.get(alias)?.state.active ?? undefined;
  }

  /** The model to call for an alias: the config's model when the registry serves its version, else the registry's version of it. */
  resolve(base: ResolvedModel): ResolvedModel {
    const runtime = this.#aliases.get(base.alias);
    const active = runtime?.state.active;
    if (!runtime || active === null || active === undefined || active === base.version) return base;
    const version = runtime.versions.get(active);
    return version ? this.#served(version, base) : base;
  }

  /**
   * The model to call for a version the caller asked for (x-covenant-model-version): any version the registry knows for
   * the alias (the candidate, an earlier one), else the config's pin; undefined when it knows no such version.
   */
  resolveVersion(base: ResolvedModel, requested: string): ResolvedModel | undefined {
    const version = this.#aliases.get(base.alias)?.versions.get(requested);
    if (version) return this.#served(version, base);
    return requested === base.version ? base : undefined;
  }

  #served(version: VersionRuntime, base: ResolvedModel): ResolvedModel {
    if (version.record.version === base.version && version.record.provider === base.provider) return base;
    if (version.resolved?.base !== base) {
      const provider = this.#options.config().providers.get(version.record.provider);
      version.resolved = {
        base,
        model: { ...base, provider: version.record.provider, providerType: provider?.type ?? base.providerType, version: version.record.version, pricing: version.record.pricing },
      };
    }
    return version.resolved.model;
  }

  /** The unacknowledged change blocking an alias; undefined when it serves. */
  blocked(alias: string): ModelMove | undefined {
    return this.#aliases.get(alias)?.state.blocked ?? undefined;
  }

  /** RFC 9745 / RFC 8594 headers of a version with a known end; null when none. */
  headers(alias: string, version: string): Record<string, string> | null {
    return this.#aliases.get(alias)?.versions.get(version)?.headers ?? null;
  }

  /** The staged candidate of an alias and its record; undefined when none. */
  candidate(alias: string): ModelVersionRecord | undefined {
    const runtime = this.#aliases.get(alias);
    const candidate = runtime?.state.candidate;
    return candidate ? runtime!.versions.get(candidate)?.record : undefined;
  }

  /** Shadow spend of a version so far (flushed and pending), micro-dollars. */
  shadowSpent(alias: string, version: string): number {
    const runtime = this.#aliases.get(alias)?.versions.get(version);
    return runtime ? runtime.record.shadowSpentMicros + runtime.pendingShadowMicros : 0;
  }

  addShadowSpend(alias: string, version: string, micros: number): void {
    const runtime = this.#aliases.get(alias)?.versions.get(version);
    if (runtime) runtime.pendingShadowMicros += micros;
  }

  /**
   * Count one served call and compare what the upstream returned with what this version returned before. Synchronous and
   * O(1) when nothing is new; a new value is recorded (and a change alerted) in the background, tracked by idle().
   */
  observe(alias: string, version: string, observed: { model: string | null; fingerprint: string | null }, requestId: string): void {
    const runtime = this.#aliases.get(alias)?.versions.get(version);
    if (!runtime) return;
    const now = this.#now();
    const seenCalls = runtime.calls;
    runtime.calls += 1;
    runtime.pendingCalls += 1;
    runtime.pendingLastSeen = now;
    const modelKnown = observed.model === null || runtime.models.has(observed.model);
    const fingerprintKnown = observed.fingerprint === null || runtime.fingerprints.has(observed.fingerprint);
    if (modelKnown && fingerprintKnown) return;
    // Known from now on in this process: one report per new value, not one per request.
    if (observed.model !== null) runtime.models.add(observed.model);
    if (observed.fingerprint !== null) runtime.fingerprints.add(observed.fingerprint);
    // One judgement at a time, so a value is judged against the ones recorded before it in this process.
    const judged = this.#judging.then(() => this.#judge(alias, version, seenCalls, observed, requestId, now));
    this.#judging = judged.catch(() => undefined);
    this.background(judged);
  }

  /**
   * Judge a new value against what the store holds for the version (another replica may have set the baseline first),
   * then record it: learnt values as expected, changes as a model_version_changed event.
   */
  async #judge(alias: string, version: string, calls: number, observed: { model: string | null; fingerprint: string | null }, requestId: string, now: number): Promise<void> {
    const stored = (await this.#options.store.fingerprints()).filter((row) => row.alias === alias && row.version === version);
    const seen = {
      fingerprints: new Set(stored.filter((row) => row.kind === 'fingerprint').map((row) => row.value)),
      models: new Set(stored.filter((row) => row.kind === 'model').map((row) => row.value)),
      calls,
    };
    const judgement = judge(seen, this.#policies.get(alias)?.fingerprintLearning ?? 0, version, observed);
    for (const value of judgement.learnt) {
      await this.#options.store.addFingerprint({ alias, version, kind: value.kind, value: value.value, firstSeen: now, expected: true });
    }
    for (const change of judgement.changes) await this.#changed(alias, version, change, requestId, now);
  }

  async #changed(alias: string, version: string, change: ObservedChange, requestId: string, now: number): Promise<void> {
    const fresh = await this.#options.store.addFingerprint({ alias, version, kind: change.kind, value: change.after, firstSeen: now, expected: false });
    // Another replica saw it first and reported it.
    if (!fresh) return;
    const policy = this.#policies.get(alias);
    const blocked = policy?.onSilentChange === 'block';
    const detail = { changed: change.kind, before: change.before, after: change.after, request_id: requestId, blocked, on_silent_change: policy?.onSilentChange ?? 'alert' };
    await this.#move({ alias, action: 'version_changed', fromVersion: version, toVersion: version, by: 'gateway', at: now, detail });
    const message = `model "${alias}" (${version}): ${change.kind === 'model' ? 'returned model id' : 'system_fingerprint'} changed from ${change.before.join(', ')} to ${change.after}`
      + (blocked ? `; the alias is blocked until a person runs covenant models ack ${alias}` : '');
    this.#options.onError?.(new Error(message), 'model_version_changed');
    const webhook = this.#options.config().org.alerts?.webhook;
    const body = { ...detail, kind: 'model_version_changed', alias, version, message, at: new Date(now).toISOString() };
    if (this.#options.alerts) {
      const evidence = { changed: change.kind, before: change.before, after: change.after, blocked, on_silent_change: detail.on_silent_change, request_id: requestId };
      await this.#options.alerts.raiseNow({ kind: 'model_version_changed', department: null, subject: `${alias}@${version}`, message, evidence, time: now },
        webhook ? { url: webhook, body } : undefined).catch((error) => this.#options.onError?.(error, 'model_version_changed alert'));
    } else if (webhook) {
      await deliverWebhook({
        fetch: this.#options.fetch ?? globalThis.fetch, url: webhook, maxAttempts: 3, baseDelayMs: 1000, timeoutMs: 5000,
        body: JSON.stringify(body),
        onAttempt: async () => undefined,
      });
    }
  }

  /** Run work in the background, its failure reported, tracked by idle(). */
  background(work: Promise<void>): void {
    const tracked = work.catch((error) => this.#options.onError?.(error, 'model registry')).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /** Resolves when every background recording started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Append a move and its ledger entry, and apply it here at once (other replicas see it at their next refresh). */
  async #move(move: NewModelMove): Promise<ModelMove> {
    const stored = await this.#options.store.appendMove(move);
    const kind = `model.${move.action === 'acknowledged' ? 'acknowledged' : move.action}`;
    await this.#options.record({
      ...(move.detail ?? {}), kind, time: new Date(move.at), alias: move.alias, from_version: move.fromVersion, to_version: move.toVersion, by: move.by,
      config_version: this.#options.config().version,
    });
    const moves = await this.#options.store.moves(move.alias);
    const runtime = this.#aliases.get(move.alias);
    if (runtime) runtime.state = aliasState(moves);
    return stored;
  }

  #alias(alias: string): AliasRuntime {
    const runtime = this.#aliases.get(alias);
    if (!runtime || runtime.state.active === null) throw new CovenantError('not_found', `There is no model alias "${alias}" in the registry.`);
    return runtime;
  }

  #result(move: ModelMove): MoveResult {
    return { alias: move.alias, action: move.action, from_version: move.fromVersion, to_version: move.toVersion, by: move.by, at: new Date(move.at).toISOString() };
  }

  /**
   * Stage a candidate version of an alias (provider: the alias's unless named; prices: given, else the built-in table's,
   * else the alias's). Shadow traffic (the alias's `shadow:`) goes to it until it is promoted.
   */
  async stage(alias: string, version: string, by: string, options: { provider?: string; pricing?: ModelPricing; reason?: string } = {}): Promise<MoveResult> {
    const runtime = this.#alias(alias);
    if (version === runtime.state.active) throw new CovenantError('invalid_request', `"${version}" is already the active version of "${alias}".`, { param: 'version' });
    const config = this.#options.config();
    const base = config.models.get(alias);
    const providerName = options.provider ?? runtime.versions.get(runtime.state.active!)?.record.provider ?? base?.provider;
    const provider = providerName === undefined ? undefined : config.providers.get(providerName);
    if (!provider || providerName === undefined) throw new CovenantError('invalid_request', `There is no provider "${providerName}" in the config.`, { param: 'provider' });
    const known = runtime.versions.get(version)?.record;
    const pricing = options.pricing ?? known?.pricing ?? builtInPricing(provider.type, version) ?? base?.pricing;
    if (!pricing) throw new CovenantError('invalid_request', `No price is known for "${version}": give one.`, { param: 'price' });
    const now = this.#now();
    await this.#options.store.addVersion({
      alias, version, provider: providerName, upstreamId: version, pricing, firstSeen: now, deprecationNoticeAt: null, supportUntil: null,
    });
    const move = await this.#move({ alias, action: 'staged', fromVersion: runtime.state.active, toVersion: version, by, at: now, detail: options.reason ? { reason: options.reason } : null });
    await this.load();
    return this.#result(move);
  }

  /** Make the staged candidate the active version; the next request on every replica is served by it. */
  async promote(alias: string, by: string, reason?: string): Promise<MoveResult> {
    const runtime = this.#alias(alias);
    const candidate = runtime.state.candidate;
    if (candidate === null) throw new CovenantError('invalid_request', `"${alias}" has no staged candidate: covenant models stage ${alias} --version V first.`);
    const move = await this.#move({ alias, action: 'promoted', fromVersion: runtime.state.active, toVersion: candidate, by, at: this.#now(), detail: reason ? { reason } : null });
    return this.#result(move);
  }

  /** Return to the last known-stable version (the latest earlier active one never rolled back from). */
  async rollback(alias: string, by: string, reason?: string, evidence?: DriftEvidence): Promise<MoveResult> {
    const runtime = this.#alias(alias);
    const target = rollbackTarget(runtime.state);
    if (target === undefined) throw new CovenantError('invalid_request', `"${alias}" has no earlier known-stable version to roll back to.`);
    const detail = reason || evidence ? { ...(reason ? { reason } : {}), ...(evidence ? { evidence } : {}) } : null;
    const move = await this.#move({ alias, action: 'rolled_back', fromVersion: runtime.state.active, toVersion: target, by, at: this.#now(), detail });
    return this.#result(move);
  }

  /** A person acknowledges a silent change: a blocked alias serves again, and the new values are the baseline. */
  async acknowledge(alias: string, by: string, reason?: string): Promise<MoveResult> {
    const runtime = this.#alias(alias);
    const blocked = runtime.state.blocked;
    const detail = { ...(reason ? { reason } : {}), ...(blocked ? { change: blocked.detail } : { was_blocked: false }) };
    const move = await this.#move({ alias, action: 'acknowledged', fromVersion: runtime.state.active, toVersion: runtime.state.active, by, at: this.#now(), detail });
    return this.#result(move);
  }

  /**
   * What the live drift monitor calls on material drift: rolls the alias back when its config says `on_drift: rollback`
   * (recorded as model.rolled_back by `drift-monitor`, with the evidence); otherwise does nothing and says so.
   * @example await registry.rollbackOnDrift('chat', { similarity: 0.81, min_similarity: 0.95 })
   */
  async rollbackOnDrift(alias: string, evidence: DriftEvidence): Promise<{ rolledBack: boolean; result?: MoveResult; reason?: string }> {
    if (this.#policies.get(alias)?.onDrift !== 'rollback') return { rolledBack: false, reason: 'on_drift is not rollback' };
    const runtime = this.#aliases.get(alias);
    if (!runtime || rollbackTarget(runtime.state) === undefined) return { rolledBack: false, reason: 'no earlier known-stable version' };
    const result = await this.rollback(alias, 'drift-monitor', 'material drift', evidence);
    return { rolledBack: true, result };
  }

  /** Every alias the registry knows, as GET /admin/models lists them. */
  list(): Record<string, unknown>[] {
    return [...this.#aliases.keys()].sort().map((alias) => this.describe(alias, false)!);
  }

  /** One alias with its versions (and, when `full`, the fingerprints seen), as GET /admin/models/:alias returns it. */
  describe(alias: string, full = true): Record<string, unknown> | undefined {
    const runtime = this.#aliases.get(alias);
    if (!runtime) return undefined;
    const now = this.#now();
    const state = runtime.state;
    const policy = this.#policies.get(alias);
    const iso = (value: number | null | undefined) => (value === null || value === undefined ? null : new Date(value).toISOString());
    const versions = [...runtime.versions.values()].map((version) => {
      const record = version.record;
      return {
        version: record.version, provider: record.provider, upstream_id: record.upstreamId,
        status: versionStatus(state, record, now), status_since: iso(state.since.get(record.version)),
        price: { input_per_mtok: record.pricing.inputMicrosPerMtok / 1_000_000, output_per_mtok: record.pricing.outputMicrosPerMtok / 1_000_000 },
        first_seen: iso(record.firstSeen), last_seen: iso(version.pendingLastSeen ?? record.lastSeen), calls: version.calls,
        deprecation_notice: iso(record.deprecationNoticeAt), support_until: iso(record.supportUntil),
        shadow_spent_usd_micros: record.shadowSpentMicros + version.pendingShadowMicros,
        ...(full ? { fingerprints: [...version.fingerprints], model_ids: [...version.models] } : {}),
      };
    });
    return {
      alias, active: state.active, candidate: state.candidate, rollback_to: rollbackTarget(state) ?? null,
      blocked: state.blocked === null ? null : { since: iso(state.blocked.at), ...state.blocked.detail },
      on_silent_change: policy?.onSilentChange ?? 'alert', fingerprint_learning: policy?.fingerprintLearning ?? 0,
      on_drift: policy?.onDrift ?? 'alert',
      shadow: policy?.shadow ? { share: policy.shadow.share, budget_usd_micros: policy.shadow.budgetMicros } : null,
      warnings: policy ? contractWarnings(alias, policy.contract, now) : [],
      ...(full ? { contract: policy?.contract ?? null } : {}),
      versions,
    };
  }

  /** Every move of an alias, oldest first, read from the store (so it includes other replicas' moves). */
  async history(alias: string): Promise<Record<string, unknown>[]> {
    const moves = await this.#options.store.moves(alias);
    return moves.map((move) => ({
      id: move.id, action: move.action, from_version: move.fromVersion, to_version: move.toVersion, by: move.by, at: new Date(move.at).toISOString(),
      ...(move.detail ? { detail: move.detail } : {}),
    }));
  }

  /** The fingerprints recorded for every version (for tests and exports). */
  fingerprints(): Promise<FingerprintRecord[]> {
    return this.#options.store.fingerprints();
  }
}

