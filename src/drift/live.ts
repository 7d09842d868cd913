// Live drift: per alias and version, latency and output length of identically shaped prompts against their baseline period.
import type { LedgerEntryInput } from '../ledger/types.js';
import { RollingSums, variance } from './window.js';

/** The contract's live-drift terms for an alias: the variance allowed and how long a breach must last. */
export interface LiveDriftTerms {
  /** 0.15: a 15% change in mean latency or output tokens against the baseline is a breach. */
  maxVariance: number;
  /** A breach that lasts this long is material drift (the contract's rolling window, default 24 h). */
  windowMs: number;
}

export const defaultLiveDriftTerms: LiveDriftTerms = { maxVariance: 0.15, windowMs: 24 * 3_600_000 };

/** One finished call as the gateway's observer hands it over. */
export interface LiveObservation {
  alias: string;
  version: string;
  /** The request's structure (roles, message count, tool names; never content): only like is compared with like. */
  shape: string;
  latencyMs: number;
  outputTokens: number;
}

/** What is raised when a breach has lasted the contract's window. */
export interface MaterialDriftEvent {
  alias: string;
  version: string;
  /** ISO 8601. */
  breach_since: string;
  detected_at: string;
  window_ms: number;
  max_variance: number;
  variance: { latency: number; output_tokens: number };
  baseline: VersionDrift['baseline'];
  current: VersionDrift['current'];
}

export interface LiveDriftOptions {
  /** The alias's terms (the config's contract.drift, wired at assembly); undefined: the defaults. */
  terms?: (alias: string) => LiveDriftTerms | undefined;
  clock?: () => number;
  /** How long each prompt shape's baseline period lasts from its first call (default 1 h). */
  baselineMs?: number;
  /** The rolling window the current means are taken over (default 1 h); a breach is judged on it at every call. */
  currentMs?: number;
  /** Calls needed in a shape's baseline, and in the current window, before anything is compared (default 20). */
  minSamples?: number;
  /** Prompt shapes tracked per alias and version at most; calls of further shapes are not compared (default 1000). */
  maxShapes?: number;
  /** Append the material_drift entry to the evidence ledger. */
  record?: (entry: LedgerEntryInput) => Promise<void>;
  /** Deliver the alert (a webhook); its failure is reported through onError. */
  alert?: (event: MaterialDriftEvent) => Promise<void>;
  /** Called once per material drift (the registry's rollback when `on_drift: rollback`). */
  onMaterialDrift?: (event: MaterialDriftEvent) => void | Promise<void>;
  onError?: (error: unknown, where: string) => void;
}

interface ShapeBaseline {
  firstAt: number;
  samples: number;
  latency: number;
  tokens: number;
  frozen: boolean;
}

interface VersionState {
  alias: string;
  version: string;
  shapes: Map<string, ShapeBaseline>;
  /** Per compared call: [latency, expected latency, tokens, expected tokens, 1]. */
  current: RollingSums;
  /** Totals of the frozen shapes' baselines, for the report. */
  baselineSamples: number;
  baselineLatency: number;
  baselineTokens: number;
  breachSince: number | null;
  materialDrift: boolean;
  lastVariance: { latency: number; output_tokens: number };
}

const currentSlots = 60;

/** One alias and version's window as saved to the store (per replica), and added back at start. */
export interface SavedDriftWindow {
  alias: string;
  version: string;
  state: {
    shapes: [string, ShapeBaseline][];
    slots: { index: number; values: number[] }[];
    breachSince: number | null;
    materialDrift: boolean;
  };
}

/** One version as GET /admin/models/:alias/drift shows it; means are null until there is something to average. */
export interface VersionDrift {
  version: string;
  baseline: { latency_ms: number | null; output_tokens: number | null; samples: number };
  current: { latency_ms: number | null; output_tokens: number | null; samples: number };
  variance: { latency: number; output_tokens: number };
  breach_since: string | null;
  material_drift: boolean;
  /** Prompt shapes seen (each compared only with itself). */
  shapes: number;
}

/**
 * Watches every finished call's latency and output length, per alias, version and prompt shape. A shape's first
 * `baselineMs` (and at least `minSamples` calls) is its baseline; later calls add their value and their shape's
 * baseline mean to a rolling window, so the version's variance compares like with like whatever the mix of shapes.
 * A variance above the alias's `maxVariance` that lasts `windowMs` raises material drift once (ledger entry, alert,
 * callback); it is raised again only after the breach has cleared. Each call costs O(1).
 */
export class LiveDrift {
  readonly #options: LiveDriftOptions;
  readonly #clock: () => number;
  readonly #versions = new Map<string, VersionState>();
  /** The same states by alias then version: found per call without building a key string. */
  readonly #byAlias = new Map<string, Map<string, VersionState>>();
  /** One call's values for the rolling window, reused (add() copies them into its slot). */
  readonly #sample = [0, 0, 0, 0, 0];
  readonly #pending = new Set<Promise<void>>();

  constructor(options: LiveDriftOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  #terms(alias: string): LiveDriftTerms {
    return this.#options.terms?.(alias) ?? defaultLiveDriftTerms;
  }

  #state(alias: string, version: string): VersionState {
    let versions = this.#byAlias.get(alias);
    if (!versions) {
      versions = new Map();
      this.#byAlias.set(alias, versions);
    }
    let state = versions.get(version);
    if (!state) {
      state = {
        alias, version, shapes: new Map(), current: new RollingSums(this.#options.currentMs ?? 3_600_000, currentSlots, 5),
        baselineSamples: 0, baselineLatency: 0, baselineTokens: 0, breachSince: null, materialDrift: false, lastVariance: { latency: 0, output_tokens: 0 },
      };
      this.#versions.set(`${alias}\u0000${version}`, state);
      versions.set(version, state);
    }
    return state;
  }

  observe(observation: LiveObservation): void {
    const now = this.#clock();
    const state = this.#state(observation.alias, observation.version);
    let shape = state.shapes.get(observation.shape);
    if (!shape) {
      if (state.shapes.size >= (this.#options.maxShapes ?? 1000)) return;
      shape = { firstAt: now, samples: 0, latency: 0, tokens: 0, frozen: false };
      state.shapes.set(observation.shape, shape);
    }
    const minSamples = this.#options.minSamples ?? 20;
    if (!shape.frozen) {
      if (now - shape.firstAt < (this.#options.baselineMs ?? 3_600_000) || shape.samples < minSamples) {
        shape.samples += 1;
        shape.latency += observation.latencyMs;
        shape.tokens += observation.outputTokens;
        return;
      }
      shape.frozen = true;
      state.baselineSamples += shape.samples;
      state.baselineLatency += shape.latency;
      state.baselineTokens += shape.tokens;
    }
    const sample = this.#sample;
    sample[0] = observation.latencyMs;
    sample[1] = shape.latency / shape.samples;
    sample[2] = observation.outputTokens;
    sample[3] = shape.tokens / shape.samples;
    sample[4] = 1;
    state.current.add(now, sample);
    this.#evaluate(state, now, minSamples);
  }

  #evaluate(state: VersionState, now: number, minSamples: number): void {
    const [latency, expectedLatency, tokens, expectedTokens, count] = state.current.totals(now) as readonly [number, number, number, number, number];
    if (count < minSamples) return;
    const terms = this.#terms(state.alias);
    // Updated in place (read only by #view, which copies it).
    state.lastVariance.latency = variance(latency, expectedLatency);
    state.lastVariance.output_tokens = variance(tokens, expectedTokens);
    if (Math.max(state.lastVariance.latency, state.lastVariance.output_tokens) <= terms.maxVariance) {
      state.breachSince = null;
      state.materialDrift = false;
      return;
    }
    state.breachSince ??= now;
    if (!state.materialDrift && now - state.breachSince >= terms.windowMs) {
      state.materialDrift = true;
      this.#raise(this.#event(state, now, terms));
    }
  }

  #event(state: VersionState, now: number, terms: LiveDriftTerms): MaterialDriftEvent {
    const view = this.#view(state, now);
    return {
      alias: state.alias, version: state.version, breach_since: new Date(state.breachSince ?? now).toISOString(), detected_at: new Date(now).toISOString(),
      window_ms: terms.windowMs, max_variance: terms.maxVariance, variance: view.variance, baseline: view.baseline, current: view.current,
    };
  }

  #raise(event: MaterialDriftEvent): void {
    const work = (async () => {
      await this.#options.record?.({
        kind: 'drift.material', alert: 'material_drift', alias: event.alias, version: event.version, breach_since: event.breach_since,
        window_ms: event.window_ms, max_variance: event.max_variance, variance: event.variance, baseline: event.baseline, current: event.current,
      });
      await Promise.allSettled([
        this.#options.alert?.(event).catch((error) => this.#options.onError?.(error, 'material drift alert')),
        Promise.resolve().then(() => this.#options.onMaterialDrift?.(event)).catch((error) => this.#options.onError?.(error, 'material drift callback')),
      ]);
    })().catch((error) => this.#options.onError?.(error, 'ledger drift.material'));
    const tracked = work.finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  #view(state: VersionState, now: number): VersionDrift {
    const [latency, , tokens, , count] = state.current.totals(now) as readonly [number, number, number, number, number];
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return {
      version: state.version,
      baseline: {
        latency_ms: state.baselineSamples === 0 ? null : round(state.baselineLatency / state.baselineSamples),
        output_tokens: state.baselineSamples === 0 ? null : round(state.baselineTokens / state.baselineSamples),
        samples: state.baselineSamples,
      },
      current: { latency_ms: count === 0 ? null : round(latency / count), output_tokens: count === 0 ? null : round(tokens / count), samples: count },
      variance: { latency: round(state.lastVariance.latency), output_tokens: round(state.lastVariance.output_tokens) },
      breach_since: state.breachSince === null ? null : new Date(state.breachSince).toISOString(),
      material_drift: state.materialDrift,
      shapes: state.shapes.size,
    };
  }

  /** GET /admin/models/:alias/drift: each version's baseline and current means, variance, breach and material drift. */
  report(alias: string): { alias: string; max_variance: number; window_ms: number; versions: VersionDrift[] } {
    const now = this.#clock();
    const terms = this.#terms(alias);
    const versions = [...this.#versions.values()].filter((state) => state.alias === alias).map((state) => this.#view(state, now));
    return { alias, max_variance: terms.maxVariance, window_ms: terms.windowMs, versions };
  }

  /** Every alias and version's baselines, current window and breach, to save (the gateway writes them every minute and at close). */
  saved(): SavedDriftWindow[] {
    const now = this.#clock();
    return [...this.#versions.values()].map((state) => ({
      alias: state.alias, version: state.version,
      state: { shapes: [...state.shapes].map(([shape, baseline]) => [shape, { ...baseline }]), slots: state.current.saved(now), breachSince: state.breachSince, materialDrift: state.materialDrift },
    }));
  }

  /**
   * Add saved windows back (at start; rows of several replicas are summed): baselines add up per shape, the current
   * window's slots per slot, a breach counts from the earliest start, material drift stays raised.
   */
  restore(windows: readonly SavedDriftWindow[]): void {
    for (const saved of windows) {
      const state = this.#state(saved.alias, saved.version);
      for (const [name, baseline] of saved.state.shapes) {
        const shape = state.shapes.get(name);
        if (!shape) {
          state.shapes.set(name, { ...baseline });
        } else {
          shape.firstAt = Math.min(shape.firstAt, baseline.firstAt);
          shape.samples += baseline.samples;
          shape.latency += baseline.latency;
          shape.tokens += baseline.tokens;
          shape.frozen ||= baseline.frozen;
        }
      }
      state.current.restore(saved.state.slots);
      if (saved.state.breachSince !== null) state.breachSince = Math.min(state.breachSince ?? saved.state.breachSince, saved.state.breachSince);
      state.materialDrift ||= saved.state.materialDrift;
    }
    for (const state of this.#versions.values()) {
      state.baselineSamples = 0;
      state.baselineLatency = 0;
      state.baselineTokens = 0;
      for (const shape of state.shapes.values()) {
        if (!shape.frozen) continue;
        state.baselineSamples += shape.samples;
        state.baselineLatency += shape.latency;
        state.baselineTokens += shape.tokens;
      }
    }
  }

  /** Resolves when every ledger entry, alert and callback started so far has finished (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
