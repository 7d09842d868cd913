// The gateway-facing budget guard: reserve before the provider is called, settle or release after, alert on crossings.
import { randomBytes } from 'node:crypto';
import type { budgetSettingsSchema } from '../config/schema.js';
import type { z } from 'zod';
import {
  counterKeyFor, decideBudget, type BudgetAllow, type BudgetDecision, type BudgetState, type BudgetUnit,
} from '../core/budget-math.js';
import type { Usage } from '../core/chat-types.js';
import { CovenantError } from '../core/errors.js';
import { dollarsToMicros, formatMicros } from '../core/money.js';
import { costMicros, type ModelPricing } from '../core/pricing.js';
import type { AlertNotifier } from './alerts.js';
import type { BurnRateTracker } from './burn-rate.js';
import { HeldItem, ScopeItemsCache, type BudgetScope } from './scope-items.js';
import type { BudgetStore, CounterState, CounterValues, SettleAmounts } from './store.js';

export type { BudgetScope } from './scope-items.js';

export type BudgetSettings = z.output<typeof budgetSettingsSchema>;

export interface ReserveOptions {
  /** Identifies the request in logs; the reservation id adds a random suffix, so a repeated id is harmless. */
  requestId: string;
  scopes: readonly BudgetScope[];
  /** IANA zone of the calendar periods (org.timezone); default UTC. */
  timeZone?: string;
  pricing: ModelPricing;
  /** `bound` is never below the bill (promptTokenUpperBound); `exact`, when the tokenizer is public, is used near a limit. */
  prompt: { bound: number; exact?: () => number };
  requestedMaxTokens?: number | null;
  modelMaxOutput: number;
  /** `n`: completions requested, each up to max_tokens. */
  choices?: number;
}

export interface SettleOutcome {
  /** Usage as the provider billed it; undefined when unknown (the reservation's worst case is then kept). */
  usage?: Usage;
  /** The cost of `usage`; computed from the reservation's pricing when absent. */
  costMicros?: number;
}

/** One request's reservation. The caller ends it with exactly one of settle or release; more calls are no-ops. */
export class BudgetHandle {
  /** The max_tokens to send upstream and to report in x-covenant-max-tokens. */
  readonly maxTokens: number;
  /** True when maxTokens is below what the client asked for. */
  readonly lowered: boolean;
  /** The prompt tokens the reservation assumed, and whether they came from the exact count or the bound. */
  readonly promptTokens: number;
  readonly promptCount: 'bound' | 'exact';
  /** @internal */ state: 'open' | 'closed' = 'open';

  constructor(
    readonly id: string,
    fields: { maxTokens: number; lowered: boolean; promptTokens: number; promptCount: 'bound' | 'exact' },
    /** @internal */ readonly items: readonly HeldItem[],
    /** @internal */ readonly pricing: ModelPricing,
    /** @internal */ readonly store: BudgetStore | undefined,
  ) {
    this.maxTokens = fields.maxTokens;
    this.lowered = fields.lowered;
    this.promptTokens = fields.promptTokens;
    this.promptCount = fields.promptCount;
  }
}

export interface BudgetGuardOptions {
  store: BudgetStore;
  settings: BudgetSettings;
  clock?: () => number;
  alerts?: AlertNotifier;
  /** Notes every settled counter's spent, for burn-rate alerts and projected exhaustion. */
  burnRate?: BurnRateTracker;
  /** Errors that cannot reach a client (a failed settle): log them. */
  onError?: (error: unknown, context: string) => void;
  /** tryReserve attempts when other requests take the headroom between read and reserve. */
  maxAttempts?: number;
  /**
   * An in-process store (stores/memory) that counts the per-process cap of on_store_unavailable: local_cap while the
   * shared store is down; without one, local_cap fails closed like fail_closed.
   */
  localCapStore?: BudgetStore;
}

/** The per-process cap's counter: not a scope of the grammar, since it lives only in this process and is never reported. */
const replicaScope = 'replica';
const localCapKey = counterKeyFor(replicaScope, 'usd', 'total', 'total');

/**
 * A settle or release the store could not take (PostgreSQL cut off) is tried again after this, doubling up to the
 * longest delay while it keeps failing. Past `unsettledLimit` waiting, the orphan sweep ends the rest at worst case.
 */
const retryFirstMs = 250;
const retryLongestMs = 5000;
const unsettledLimit = 10_000;

/** A budget's state for decideBudget: the item's budget with its counter (absent: never used, so zero). */
function budgetState(item: HeldItem, counter: CounterValues | undefined): BudgetState {
  return {
    scope: item.scope, label: item.label, unit: item.unit, period: item.period, counterKey: item.counterKey,
    limit: item.limit, spent: counter?.spent ?? 0, reserved: counter?.reserved ?? 0,
  };
}

/** One request's decisions: on the prompt bound, and on the exact prompt count once the bound makes a budget bind. */
class Decider {
  promptTokens: number;
  promptCount: 'bound' | 'exact' = 'bound';
  #exactTried = false;

  constructor(
    readonly options: ReserveOptions,
    readonly items: readonly HeldItem[],
    readonly minimum: number,
    readonly exactCount: (exact: () => number) => number | undefined,
  ) {
    this.promptTokens = options.prompt.bound;
  }

  /** `counters` are the items' counters, in the same order. */
  decide(counters: readonly (CounterValues | undefined)[]): BudgetDecision {
    const budgets = new Array<BudgetState>(this.items.length);
    for (let index = 0; index < budgets.length; index += 1) budgets[index] = budgetState(this.items[index], counters[index]);
    let decision = this.#decideWith(budgets);
    // Tokenizing costs time; it matters only when the bound makes a budget bind (the speed hint).
    const binding = !decision.allow || decision.tightest !== undefined;
    if (binding && !this.#exactTried && this.options.prompt.exact) {
      this.#exactTried = true;
      const exact = this.exactCount(this.options.prompt.exact);
      if (exact !== undefined && exact < this.promptTokens) {
        this.promptTokens = exact;
        this.promptCount = 'exact';
        decision = this.#decideWith(budgets);
      }
    }
    return decision;
  }

  handle(id: string, decision: BudgetAllow, store: BudgetStore | undefined): BudgetHandle {
    const fields = { maxTokens: decision.maxTokens, lowered: decision.lowered, promptTokens: this.promptTokens, promptCount: this.promptCount };
    return new BudgetHandle(id, fields, store ? this.items : [], this.options.pricing, store);
  }

  #decideWith(budgets: readonly BudgetState[]): BudgetDecision {
    const options = this.options;
    return decideBudget({
      budgets, pricing: options.pricing, promptTokens: this.promptTokens, requestedMaxTokens: options.requestedMaxTokens,
      modelMaxOutput: options.modelMaxOutput, minOutputTokens: this.minimum, choices: options.choices,
    });
  }
}

function describe(amount: number, unit: BudgetUnit): string {
  return unit === 'usd' ? `$${formatMicros(amount)}` : `${amount} tokens`;
}

/** The 402 a refused client sees, naming the budget that stopped it. */
export function budgetExceededError(budget: BudgetState, affordable: number, minimum: number): CovenantError {
  const unitName = budget.unit === 'usd' ? 'usd' : 'tokens';
  return new CovenantError('budget_exceeded',
    `Budget exceeded for ${budget.label ?? budget.scope} (${unitName} per ${budget.period}): limit ${describe(budget.limit, budget.unit)}, `
    + `spent ${describe(budget.spent, budget.unit)}, reserved ${describe(budget.reserved, budget.unit)}; `
    + `it affords ${affordable} output tokens, the minimum is ${minimum}.`);
}

export class BudgetGuard {
  #settings: BudgetSettings;
  readonly #store: BudgetStore;
  readonly #clock: () => number;
  readonly #alerts: AlertNotifier | undefined;
  readonly #burnRate: BurnRateTracker | undefined;
  readonly #onError: (error: unknown, context: string) => void;
  readonly #maxAttempts: number;
  /** Serves under `local_cap_usd` per process while the shared store is down (on_store_unavailable: local_cap). */
  readonly #emergency: BudgetStore | undefined;
  /** Reservation ids: the request id, this guard's random prefix and a sequence number (unique without a UUID each). */
  readonly #idPrefix = randomBytes(4).toString('hex');
  #sequence = 0;
  readonly #scopes = new ScopeItemsCache();
  /** Settlements (actual amounts) and releases (null) the store failed to take, by reservation id, to be retried. */
  readonly #unsettled = new Map<string, { handle: BudgetHandle; actual: SettleAmounts | null }>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = retryFirstMs;
  #stopped = false;

  constructor(options: BudgetGuardOptions) {
    this.#store = options.store;
    this.#settings = options.settings;
    this.#clock = options.clock ?? Date.now;
    this.#alerts = options.alerts;
    this.#burnRate = options.burnRate;
    this.#onError = options.onError ?? (() => {});
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#emergency = options.localCapStore;
  }

  /** Scopes whose budget windows are cached now: bounded however many end users come (per-user scopes are many). */
  get cachedScopes(): number {
    return this.#scopes.size;
  }

  /** Apply reloaded settings at once; limits come with each reserve, so spend is untouched. */
  updateSettings(settings: BudgetSettings): void {
    this.#settings = settings;
  }

  /**
   * Reserve the request's worst case in every applicable budget at once, lowering max_tokens to what the
   * tightest affords. Throws CovenantError budget_exceeded (402) when less than min_output_tokens is
   * affordable, or budget_store_unavailable (503) when the store fails and the settings say fail_closed.
   */
  async reserve(options: ReserveOptions): Promise<BudgetHandle> {
    const now = this.#clock();
    const id = `${options.requestId}.${this.#idPrefix}${(this.#sequence += 1).toString(36)}`;
    const { items, counterKeys } = this.#items(options, now);
    const decider = new Decider(options, items, this.#settings.min_output_tokens, (exact) => this.#exactCount(exact));
    if (items.length === 0) return decider.handle(id, decider.decide([]) as BudgetAllow, undefined);
    const store = this.#store;
    if (store.decideAndReserve) {
      // The counters are in this process: decide and reserve in one step, so nothing can take the headroom between.
      let decision = undefined as BudgetDecision | undefined;
      let reserved: boolean;
      try {
        reserved = await store.decideAndReserve(id, now, counterKeys, (counters) => {
          decision = decider.decide(counters);
          return decision.allow ? decision.amounts : undefined;
        });
      } catch (error) {
        return this.#reserveWhenStoreFails(error, id, now, options);
      }
      if (decision === undefined) throw new Error('The budget store reserved without a decision');
      if (!decision.allow) throw budgetExceededError(decision.budget, decision.affordableOutputTokens, decider.minimum);
      // Every amount fits its budget's headroom (decideBudget), so the store can only refuse on a defect.
      if (!reserved) throw new Error(`The budget store refused reservation ${id}, which fits every budget`);
      return decider.handle(id, decision, store);
    }
    let counters: readonly (CounterValues | undefined)[];
    try {
      const read = await store.read(counterKeys);
      counters = counterKeys.map((key) => read.get(key));
    } catch (error) {
      return this.#reserveWhenStoreFails(error, id, now, options);
    }
    let lastConflict: BudgetState | undefined;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt += 1) {
      const decision = decider.decide(counters);
      if (!decision.allow) throw budgetExceededError(decision.budget, decision.affordableOutputTokens, decider.minimum);
      let result;
      try {
        result = await store.tryReserve({ id, createdAt: now, items: decision.amounts });
      } catch (error) {
        return this.#reserveWhenStoreFails(error, id, now, options);
      }
      if (result.ok) return decider.handle(id, decision, store);
      // Others took the headroom since the read: decide again on the fresh counters the store returned.
      const fresh = new Map(result.counters.map((counter) => [counter.counterKey, counter]));
      counters = counterKeys.map((key) => fresh.get(key));
      const conflicted = items.findIndex((item) => item.counterKey === result.counterKey);
      if (conflicted >= 0) lastConflict = budgetState(items[conflicted], counters[conflicted]);
    }
    throw budgetExceededError(lastConflict ?? budgetState(items[0], undefined), 0, decider.minimum);
  }

  /** Replace the reservation by what the provider billed, then raise any alert thresholds crossed. */
  async settle(handle: BudgetHandle, outcome: SettleOutcome): Promise<void> {
    if (handle.state === 'closed') return;
    handle.state = 'closed';
    if (!handle.store) return;
    // In the items' order: an item left undefined settles at its reservation.
    const actual = new Array<number | undefined>(handle.items.length);
    if (outcome.usage) {
      const cost = outcome.costMicros ?? costMicros(outcome.usage, handle.pricing);
      const tokens = outcome.usage.inputTokens + outcome.usage.outputTokens;
      for (let index = 0; index < actual.length; index += 1) actual[index] = handle.items[index].unit === 'usd' ? cost : tokens;
    } else if (outcome.costMicros !== undefined) {
      for (let index = 0; index < actual.length; index += 1) if (handle.items[index].unit === 'usd') actual[index] = outcome.costMicros;
    }
    try {
      const result = await handle.store.settle(handle.id, actual);
      if (result.applied) this.#checkAlerts(handle, result.counters);
    } catch (error) {
      // The reservation stays in the store at its worst case (never under-counted) until a retry settles it.
      this.#onError(error, `budget settle ${handle.id}`);
      this.#retryLater(handle, actual);
    }
  }

  /** Drop the reservation: the provider was not billed (failed before the call, or refused it). */
  async release(handle: BudgetHandle): Promise<void> {
    if (handle.state === 'closed') return;
    handle.state = 'closed';
    if (!handle.store) return;
    try {
      await handle.store.release(handle.id);
    } catch (error) {
      this.#onError(error, `budget release ${handle.id}`);
      this.#retryLater(handle, null);
    }
  }

  /** Stop retrying (the gateway closes): what is left stays reserved in the store, recovered at its worst case. */
  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /**
   * Convert reservations older than `maxAgeMs` to spend at their worst case. At start (single process)
   * use 0: every reservation left is a crashed process's. Periodically, use more than the longest a
   * request may run (upstream timeout plus grace), so leaked reservations end too.
   */
  async recoverOrphans(maxAgeMs = 0): Promise<number> {
    return this.#store.recoverOrphans(maxAgeMs === 0 ? Number.MAX_SAFE_INTEGER : this.#clock() - maxAgeMs);
  }

  /**
   * Keep a settle (or release: `actual` null) that failed, and try it again until the store takes it: once the store
   * is back, the reservation ends at what the provider billed without waiting for a restart or the orphan sweep.
   * Retrying is safe: a store applies a reservation's end once (a repeat changes nothing).
   */
  #retryLater(handle: BudgetHandle, actual: SettleAmounts | null): void {
    if (this.#stopped || this.#unsettled.size >= unsettledLimit) return;
    this.#unsettled.set(handle.id, { handle, actual });
    this.#retryTimer ??= this.#armRetry();
  }

  #armRetry(): NodeJS.Timeout {
    const timer = setTimeout(() => void this.#retryUnsettled(), this.#retryMs);
    timer.unref();
    return timer;
  }

  async #retryUnsettled(): Promise<void> {
    let failed = false;
    await Promise.all([...this.#unsettled].map(async ([id, { handle, actual }]) => {
      const store = handle.store as BudgetStore;
      try {
        const result = actual === null ? await store.release(id) : await store.settle(id, actual);
        this.#unsettled.delete(id);
        if (result.applied && actual !== null) this.#checkAlerts(handle, result.counters);
      } catch {
        failed = true; // reported when it first failed
      }
    }));
    if (this.#retryTimer === undefined) return; // stopped meanwhile
    this.#retryMs = failed ? Math.min(this.#retryMs * 2, retryLongestMs) : retryFirstMs;
    this.#retryTimer = this.#unsettled.size > 0 ? this.#armRetry() : undefined;
  }

  /** The items of every scope's budgets in the windows containing `now`, and their counter keys, in scope order. */
  #items(options: ReserveOptions, now: number): { items: readonly HeldItem[]; counterKeys: readonly string[] } {
    const timeZone = options.timeZone ?? 'UTC';
    if (options.scopes.length === 1) return this.#scopes.items(options.scopes[0], timeZone, now);
    const items: HeldItem[] = [];
    const counterKeys: string[] = [];
    for (const scope of options.scopes) {
      const cached = this.#scopes.items(scope, timeZone, now);
      for (let index = 0; index < cached.items.length; index += 1) {
        items.push(cached.items[index]);
        counterKeys.push(cached.counterKeys[index]);
      }
    }
    return { items, counterKeys };
  }

  #exactCount(exact: () => number): number | undefined {
    try {
      return exact();
    } catch (error) {
      this.#onError(error, 'exact prompt count');
      return undefined;
    }
  }

  #checkAlerts(handle: BudgetHandle, counters: readonly CounterState[]): void {
    const tracker = this.#burnRate;
    if (tracker) {
      const now = this.#clock();
      for (const counter of counters) tracker.observe(counter.counterKey, now, counter.spent);
    }
    const notifier = this.#alerts;
    if (!notifier) return;
    const items = handle.items;
    for (let index = 0; index < counters.length; index += 1) {
      const counter = counters[index];
      // Stores return the counters in the reservation's order; the search is for one that does not.
      const item = items[index]?.counterKey === counter.counterKey ? items[index] : items.find((each) => each.counterKey === counter.counterKey);
      if (item?.alerts) notifier.check(item, item.alerts, counter.spent);
    }
  }

  /** Fail closed (503), or with local_cap serve under a small per-process dollar cap until the store is back. */
  async #reserveWhenStoreFails(error: unknown, id: string, now: number, options: ReserveOptions): Promise<BudgetHandle> {
    this.#onError(error, 'budget store');
    const emergency = this.#emergency;
    if (this.#settings.on_store_unavailable !== 'local_cap' || emergency === undefined) throw new CovenantError('budget_store_unavailable');
    const cap: BudgetState = {
      scope: replicaScope, unit: 'usd', period: 'total', counterKey: localCapKey,
      limit: dollarsToMicros(this.#settings.local_cap_usd), spent: 0, reserved: 0,
    };
    const counter = (await emergency.read([localCapKey])).get(localCapKey);
    const decision = decideBudget({
      budgets: [{ ...cap, spent: counter?.spent ?? 0, reserved: counter?.reserved ?? 0 }],
      pricing: options.pricing, promptTokens: options.prompt.bound, requestedMaxTokens: options.requestedMaxTokens,
      modelMaxOutput: options.modelMaxOutput, minOutputTokens: this.#settings.min_output_tokens, choices: options.choices,
    });
    if (!decision.allow) throw new CovenantError('budget_store_unavailable');
    const result = await emergency.tryReserve({ id, createdAt: now, items: decision.amounts });
    if (!result.ok) throw new CovenantError('budget_store_unavailable');
    const item = new HeldItem(localCapKey, replicaScope, undefined, undefined,
      { unit: 'usd', period: 'total', windowKey: 'total', limit: cap.limit, periodStart: 0, periodEnd: 8.64e15, counterSuffix: localCapKey.slice(replicaScope.length) });
    return new BudgetHandle(id, { maxTokens: decision.maxTokens, lowered: decision.lowered, promptTokens: options.prompt.bound, promptCount: 'bound' }, [item], options.pricing, emergency);
  }
}
