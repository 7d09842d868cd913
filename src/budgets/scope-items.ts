// The budget items of a scope at a time: each budget in the window containing it, with its counter key, cached.
import type { AlertBudget } from './alerts.js';
import type { AlertsConfig } from '../config/schema.js';
import { counterKeyFor, type BudgetUnit } from '../core/budget-math.js';
import type { BudgetConfig, Period } from '../core/budget-types.js';
import { dollarsToMicros } from '../core/money.js';
import { periodWindow } from '../core/periods.js';

/** The budgets of one scope. */
export interface BudgetScope {
  /** The scope's string form (core/scope.ts formatScope): counters are keyed by it. */
  scope: string;
  /** How a refusal names this scope to people; default: scope. */
  label?: string;
  budgets: readonly BudgetConfig[];
  /** Thresholds and webhook for this scope's budgets (the department's or org's `alerts`). */
  alerts?: AlertsConfig;
}

/** One budget of a scope in its current window, as a reservation holds it. */
export interface HeldItem extends AlertBudget {
  label?: string;
  alerts?: AlertsConfig;
}

/** One scope's items in the windows that contain [from, until), for the config objects they were made from. */
export interface ScopeItems {
  budgets: readonly BudgetConfig[];
  alerts?: AlertsConfig;
  label?: string;
  timeZone: string;
  from: number;
  until: number;
  items: HeldItem[];
  counterKeys: string[];
}

interface CachedWindow {
  key: string;
  start: number;
  end: number;
}

/** Scopes whose items are cached; past it the cache starts over. */
const scopeCacheLimit = 10_000;

/**
 * Each scope's items, kept until the first of its windows ends or its config changes (a reload replaces the budget
 * and alert objects): requests arrive in time order, so a scope seen again is nearly always a hit. End users are too
 * many to stay cached, so a miss must be cheap too: the windows depend only on the period, the zone and the time, not
 * on the scope, and are kept per zone and period until they end; a miss then only names the scope's counters.
 */
export class ScopeItemsCache {
  readonly #scopes = new Map<string, ScopeItems>();
  readonly #windows = new Map<string, Map<Period, CachedWindow>>();

  /** Scopes cached now: bounded however many end users come. */
  get size(): number {
    return this.#scopes.size;
  }

  items(scope: BudgetScope, timeZone: string, now: number): ScopeItems {
    const cached = this.#scopes.get(scope.scope);
    if (cached && cached.budgets === scope.budgets && cached.alerts === scope.alerts && cached.label === scope.label
      && cached.timeZone === timeZone && now >= cached.from && now < cached.until) return cached;
    let from = Number.NEGATIVE_INFINITY;
    let until = Number.POSITIVE_INFINITY;
    const items = scope.budgets.map((budget): HeldItem => {
      const unit: BudgetUnit = budget.usd !== undefined ? 'usd' : 'tokens';
      const window = this.#window(budget.period, timeZone, now);
      from = Math.max(from, window.start);
      until = Math.min(until, window.end);
      return {
        counterKey: counterKeyFor(scope.scope, unit, budget.period, window.key),
        scope: scope.scope, label: scope.label, unit, period: budget.period, windowKey: window.key,
        limit: unit === 'usd' ? dollarsToMicros(budget.usd as number) : (budget.tokens as number),
        periodStart: window.start, periodEnd: window.end, alerts: scope.alerts,
      };
    });
    const entry: ScopeItems = {
      budgets: scope.budgets, alerts: scope.alerts, label: scope.label, timeZone, from, until,
      items, counterKeys: items.map((item) => item.counterKey),
    };
    if (this.#scopes.size >= scopeCacheLimit) this.#scopes.clear();
    this.#scopes.set(scope.scope, entry);
    return entry;
  }

  /** The window of `period` in `timeZone` containing `now`: every instant of a window has the same one. */
  #window(period: Period, timeZone: string, now: number): CachedWindow {
    let zone = this.#windows.get(timeZone);
    if (zone === undefined) {
      zone = new Map();
      this.#windows.set(timeZone, zone);
    }
    const cached = zone.get(period);
    if (cached !== undefined && now >= cached.start && now < cached.end) return cached;
    const window = periodWindow(period, new Date(now), timeZone);
    const fresh = { key: window.key, start: window.start.getTime(), end: window.end.getTime() };
    zone.set(period, fresh);
    return fresh;
  }
}
