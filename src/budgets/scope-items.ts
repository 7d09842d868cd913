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

/** One budget in the window containing a time: the same for every scope holding that budget (every end user of a department). */
export interface WindowBudget extends Omit<AlertBudget, 'counterKey' | 'scope'> {
  /** What follows the scope in its counter key (counterKeyFor with an empty scope), e.g. `|usd:day|2024-05-01`. */
  counterSuffix: string;
}

/**
 * One budget of a scope in its current window, as a reservation holds it: the scope's own fields beside the window's,
 * which are shared, so an end user's item is one small object.
 */
export class HeldItem implements AlertBudget {
  constructor(
    readonly counterKey: string,
    readonly scope: string,
    readonly label: string | undefined,
    readonly alerts: AlertsConfig | undefined,
    readonly window: WindowBudget,
  ) {}

  get unit(): BudgetUnit {
    return this.window.unit;
  }

  get period(): Period {
    return this.window.period;
  }

  get windowKey(): string {
    return this.window.windowKey;
  }

  get limit(): number {
    return this.window.limit;
  }

  get periodStart(): number {
    return this.window.periodStart;
  }

  get periodEnd(): number {
    return this.window.periodEnd;
  }
}

/** A budgets array's windows at a time: worked out once for every scope holding the array, kept until one ends. */
interface BudgetWindows {
  budgets: readonly BudgetConfig[];
  timeZone: string;
  /** Where every window holds: the latest start and the earliest end. */
  from: number;
  until: number;
  windows: readonly WindowBudget[];
}

/** One scope's items in the windows that contain [from, until), for the config objects they were made from. */
export interface ScopeItems {
  windows: BudgetWindows;
  alerts?: AlertsConfig;
  label?: string;
  items: HeldItem[];
  counterKeys: string[];
}

/** Whether `cached` holds `scope`'s items at `now`: the same config objects, and windows that contain `now`. */
function current(cached: ScopeItems, scope: BudgetScope, timeZone: string, now: number): boolean {
  const windows = cached.windows;
  return windows.budgets === scope.budgets && cached.alerts === scope.alerts && cached.label === scope.label
    && windows.timeZone === timeZone && now >= windows.from && now < windows.until;
}

interface CachedWindow {
  key: string;
  start: number;
  end: number;
}

/** Scopes seen again whose items are kept; past it they start over. */
const keptLimit = 10_000;
/** Names of scopes seen once, remembered to know a scope seen again; past it they start over. */
const seenLimit = 10_000;

/**
 * Each scope's items, kept until the first of its windows ends or its config changes (a reload replaces the budget
 * and alert objects): requests arrive in time order, so a scope seen again is nearly always a hit. Only a scope seen
 * again among the last `seenLimit` new ones is kept (org, departments, busy keys and end users): of one seen once, only
 * its name is remembered. A million end users each seen once would otherwise fill the cache with items that live long
 * enough to leave V8's young generation and are then dropped, each costing work at a full collection. So a miss must
 * be cheap: the windows depend only on the budgets, the zone and the time, not on the scope, and are kept per budgets
 * array (one for all of a department's users) until they end; a miss then only names the scope's counters, one string
 * and one small object a budget.
 */
export class ScopeItemsCache {
  readonly #kept = new Map<string, ScopeItems>();
  readonly #seen = new Set<string>();
  readonly #budgetWindows = new WeakMap<readonly BudgetConfig[], BudgetWindows>();
  readonly #windows = new Map<string, Map<Period, CachedWindow>>();

  /** Scopes whose items are cached now: bounded however many end users come. */
  get size(): number {
    return this.#kept.size;
  }

  items(scope: BudgetScope, timeZone: string, now: number): ScopeItems {
    const name = scope.scope;
    const kept = this.#kept.get(name);
    if (kept !== undefined && current(kept, scope, timeZone, now)) return kept;
    const windows = this.#windowsOf(scope.budgets, timeZone, now);
    const items = windows.windows.map((window) => new HeldItem(name + window.counterSuffix, name, scope.label, scope.alerts, window));
    const entry: ScopeItems = { windows, alerts: scope.alerts, label: scope.label, items, counterKeys: items.map((item) => item.counterKey) };
    if (kept !== undefined || this.#seen.has(name)) {
      if (this.#kept.size >= keptLimit) this.#kept.clear();
      this.#kept.set(name, entry);
    } else {
      if (this.#seen.size >= seenLimit) this.#seen.clear();
      this.#seen.add(name);
    }
    return entry;
  }

  /** The windows of `budgets` containing `now`, kept per array until the first of them ends. */
  #windowsOf(budgets: readonly BudgetConfig[], timeZone: string, now: number): BudgetWindows {
    const known = this.#budgetWindows.get(budgets);
    if (known !== undefined && known.timeZone === timeZone && now >= known.from && now < known.until) return known;
    let from = Number.NEGATIVE_INFINITY;
    let until = Number.POSITIVE_INFINITY;
    const windows = budgets.map((budget): WindowBudget => {
      const unit: BudgetUnit = budget.usd !== undefined ? 'usd' : 'tokens';
      const window = this.#window(budget.period, timeZone, now);
      from = Math.max(from, window.start);
      until = Math.min(until, window.end);
      return {
        unit, period: budget.period, windowKey: window.key,
        limit: unit === 'usd' ? dollarsToMicros(budget.usd as number) : (budget.tokens as number),
        periodStart: window.start, periodEnd: window.end, counterSuffix: counterKeyFor('', unit, budget.period, window.key),
      };
    });
    const fresh = { budgets, timeZone, from, until, windows };
    this.#budgetWindows.set(budgets, fresh);
    return fresh;
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
