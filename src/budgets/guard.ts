// The gateway-facing budget guard: reserve before the provider is called, settle or release after, alert on crossings.
import { randomUUID } from 'node:crypto';
import type { AlertsConfig, BudgetConfig, Period } from '../config/schema.js';
import type { budgetSettingsSchema } from '../config/schema.js';
import type { z } from 'zod';
import {
  counterKeyFor, decideBudget, type BudgetDecision, type BudgetState, type BudgetUnit,
} from '../core/budget-math.js';
import type { Usage } from '../core/chat-types.js';
import { CovenantError } from '../core/errors.js';
import { dollarsToMicros, formatMicros } from '../core/money.js';
import { periodWindow } from '../core/periods.js';
import { costMicros, type ModelPricing } from '../core/pricing.js';
import type { AlertNotifier } from './alerts.js';
import { createMemoryBudgetStore } from './memory-store.js';
import type { BudgetStore, CounterState } from './store.js';

export type BudgetSettings = z.output<typeof budgetSettingsSchema>;

/** The budgets of one scope: `org`, `department:<name>`, `key:<id>` or `user:<department>/<user>`. */
export interface BudgetScope {
  scope: string;
  /** How a refusal names this scope to people; default: scope. */
  label?: string;
  budgets: readonly BudgetConfig[];
  /** Thresholds and webhook for this scope's budgets (the department's or org's `alerts`). */
  alerts?: AlertsConfig;
}

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

interface HeldItem {
  counterKey: string;
  scope: string;
  label?: string;
  unit: BudgetUnit;
  period: Period;
  windowKey: string;
  limit: number;
  periodStart: number;
  periodEnd: number;
  alerts?: AlertsConfig;
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
  /** Errors that cannot reach a client (a failed settle): log them. */
  onError?: (error: unknown, context: string) => void;
  /** tryReserve attempts when other requests take the headroom between read and reserve. */
  maxAttempts?: number;
}

const localCapKey = counterKeyFor('replica', 'usd', 'total', 'total');

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
  readonly #onError: (error: unknown, context: string) => void;
  readonly #maxAttempts: number;
  /** Serves under `local_cap_usd` per process while the shared store is down (on_store_unavailable: local_cap). */
  readonly #emergency = createMemoryBudgetStore();

  constructor(options: BudgetGuardOptions) {
    this.#store = options.store;
    this.#settings = options.settings;
    this.#clock = options.clock ?? Date.now;
    this.#alerts = options.alerts;
    this.#onError = options.onError ?? (() => {});
    this.#maxAttempts = options.maxAttempts ?? 8;
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
    const id = `${options.requestId}.${randomUUID().slice(0, 8)}`;
    const items = this.#items(options, now);
    const minimum = this.#settings.min_output_tokens;
    const decideWith = (promptTokens: number, counters: ReadonlyMap<string, CounterState>): BudgetDecision => decideBudget({
      budgets: items.map((item) => ({ ...item, spent: counters.get(item.counterKey)?.spent ?? 0, reserved: counters.get(item.counterKey)?.reserved ?? 0 })),
      pricing: options.pricing, promptTokens, requestedMaxTokens: options.requestedMaxTokens,
      modelMaxOutput: options.modelMaxOutput, minOutputTokens: minimum, choices: options.choices,
    });
    let promptTokens = options.prompt.bound;
    let promptCount: 'bound' | 'exact' = 'bound';
    let exactTried = false;
    if (items.length === 0) {
      const decision = decideWith(promptTokens, new Map()) as Extract<BudgetDecision, { allow: true }>;
      return new BudgetHandle(id, { maxTokens: decision.maxTokens, lowered: decision.lowered, promptTokens, promptCount }, [], options.pricing, undefined);
    }
    let counters: ReadonlyMap<string, CounterState>;
    try {
      counters = await this.#store.read(items.map((item) => item.counterKey));
    } catch (error) {
      return this.#reserveWhenStoreFails(error, id, now, options);
    }
    let lastConflict: BudgetState | undefined;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt += 1) {
      let decision = decideWith(promptTokens, counters);
      // Tokenizing costs time; it matters only when the bound makes a budget bind (the speed hint).
      const binding = !decision.allow || decision.tightest !== undefined;
      if (binding && !exactTried && options.prompt.exact) {
        exactTried = true;
        const exact = this.#exactCount(options.prompt.exact);
        if (exact !== undefined && exact < promptTokens) {
          promptTokens = exact;
          promptCount = 'exact';
          decision = decideWith(promptTokens, counters);
        }
      }
      if (!decision.allow) throw budgetExceededError(decision.budget, decision.affordableOutputTokens, minimum);
      let result;
      try {
        result = await this.#store.tryReserve({ id, createdAt: now, items: decision.amounts });
      } catch (error) {
        return this.#reserveWhenStoreFails(error, id, now, options);
      }
      if (result.ok) {
        return new BudgetHandle(id, { maxTokens: decision.maxTokens, lowered: decision.lowered, promptTokens, promptCount }, items, options.pricing, this.#store);
      }
      // Others took the headroom since the read: decide again on the fresh counters the store returned.
      counters = new Map(result.counters.map((counter) => [counter.counterKey, counter]));
      const conflicted = items.find((item) => item.counterKey === result.counterKey);
      const fresh = counters.get(result.counterKey);
      if (conflicted) lastConflict = { ...conflicted, spent: fresh?.spent ?? 0, reserved: fresh?.reserved ?? 0 };
    }
    throw budgetExceededError(lastConflict ?? { ...items[0], spent: 0, reserved: 0 }, 0, minimum);
  }

  /** Replace the reservation by what the provider billed, then raise any alert thresholds crossed. */
  async settle(handle: BudgetHandle, outcome: SettleOutcome): Promise<void> {
    if (handle.state === 'closed') return;
    handle.state = 'closed';
    if (!handle.store) return;
    const actual: Record<string, number> = {};
    if (outcome.usage) {
      const cost = outcome.costMicros ?? costMicros(outcome.usage, handle.pricing);
      const tokens = outcome.usage.inputTokens + outcome.usage.outputTokens;
      for (const item of handle.items) actual[item.counterKey] = item.unit === 'usd' ? cost : tokens;
    } else if (outcome.costMicros !== undefined) {
      for (const item of handle.items) if (item.unit === 'usd') actual[item.counterKey] = outcome.costMicros;
    }
    try {
      const result = await handle.store.settle(handle.id, actual);
      if (result.applied) this.#checkAlerts(handle, result.counters);
    } catch (error) {
      // The reservation stays in the store and counts at its worst case once recovered: never under-counted.
      this.#onError(error, `budget settle ${handle.id}`);
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
    }
  }

  /**
   * Convert reservations older than `maxAgeMs` to spend at their worst case. At start (single process)
   * use 0: every reservation left is a crashed process's. Periodically, use more than the longest a
   * request may run (upstream timeout plus grace), so leaked reservations end too.
   */
  async recoverOrphans(maxAgeMs = 0): Promise<number> {
    return this.#store.recoverOrphans(maxAgeMs === 0 ? Number.MAX_SAFE_INTEGER : this.#clock() - maxAgeMs);
  }

  #items(options: ReserveOptions, now: number): HeldItem[] {
    const items: HeldItem[] = [];
    const at = new Date(now);
    for (const scope of options.scopes) {
      for (const budget of scope.budgets) {
        const unit: BudgetUnit = budget.usd !== undefined ? 'usd' : 'tokens';
        const window = periodWindow(budget.period, at, options.timeZone ?? 'UTC');
        items.push({
          counterKey: counterKeyFor(scope.scope, unit, budget.period, window.key),
          scope: scope.scope, label: scope.label, unit, period: budget.period, windowKey: window.key,
          limit: unit === 'usd' ? dollarsToMicros(budget.usd as number) : (budget.tokens as number),
          periodStart: window.start.getTime(), periodEnd: window.end.getTime(), alerts: scope.alerts,
        });
      }
    }
    return items;
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
    if (!this.#alerts) return;
    for (const counter of counters) {
      const item = handle.items.find((each) => each.counterKey === counter.counterKey);
      if (!item?.alerts) continue;
      const { alerts, label: _label, ...fields } = item;
      this.#alerts.check({ ...fields, spent: counter.spent, alerts });
    }
  }

  /** Fail closed (503), or with local_cap serve under a small per-process dollar cap until the store is back. */
  async #reserveWhenStoreFails(error: unknown, id: string, now: number, options: ReserveOptions): Promise<BudgetHandle> {
    this.#onError(error, 'budget store');
    if (this.#settings.on_store_unavailable !== 'local_cap') throw new CovenantError('budget_store_unavailable');
    const cap: BudgetState = {
      scope: 'replica', unit: 'usd', period: 'total', counterKey: localCapKey,
      limit: dollarsToMicros(this.#settings.local_cap_usd), spent: 0, reserved: 0,
    };
    const counter = (await this.#emergency.read([localCapKey])).get(localCapKey);
    const decision = decideBudget({
      budgets: [{ ...cap, spent: counter?.spent ?? 0, reserved: counter?.reserved ?? 0 }],
      pricing: options.pricing, promptTokens: options.prompt.bound, requestedMaxTokens: options.requestedMaxTokens,
      modelMaxOutput: options.modelMaxOutput, minOutputTokens: this.#settings.min_output_tokens, choices: options.choices,
    });
    if (!decision.allow) throw new CovenantError('budget_store_unavailable');
    const result = await this.#emergency.tryReserve({ id, createdAt: now, items: decision.amounts });
    if (!result.ok) throw new CovenantError('budget_store_unavailable');
    const item: HeldItem = { counterKey: localCapKey, scope: 'replica', unit: 'usd', period: 'total', windowKey: 'total', limit: cap.limit, periodStart: 0, periodEnd: 8.64e15 };
    return new BudgetHandle(id, { maxTokens: decision.maxTokens, lowered: decision.lowered, promptTokens: options.prompt.bound, promptCount: 'bound' }, [item], options.pricing, this.#emergency);
  }
}
