// The spend report behind GET /admin/spend and `covenant spend`: every scope's budgets in their current windows.
import { counterKeyFor, type BudgetUnit } from '../core/budget-math.js';
import type { BudgetConfig, Period } from '../core/budget-types.js';
import { dollarsToMicros } from '../core/money.js';
import { periodWindow } from '../core/periods.js';
import { parseScope, userScopePrefix } from '../core/scope.js';
import { amountFields } from './alerts.js';
import type { BudgetScope } from './guard.js';
import type { BudgetStore, CounterState } from './store.js';

export interface SpendReportOptions {
  store: BudgetStore;
  /** Epoch ms: the windows reported are the ones containing it. */
  now: number;
  timeZone?: string;
  /** Configured scopes (org, departments, keys), reported even before any spend. */
  scopes: readonly BudgetScope[];
  /** Per-user budgets of each department: every user seen in the store under `user:<department>/` is reported. */
  userBudgets?: readonly { department: string; budgets: readonly BudgetConfig[] }[];
  /** Narrow to one scope, e.g. "department:claims" or "user:claims/alice"; "user:claims" narrows to every user of claims. */
  scope?: string;
  /**
   * When a budget runs out at its recent spend rate (epoch ms), or undefined when not before its period ends; each
   * line's `projected_exhaustion_at`. Without it the field is null.
   */
  projection?: (budget: { counterKey: string; scope: string; spent: number; limit: number; periodEnd: number }, now: number) => number | undefined;
}

/** One budget's line: usd amounts as decimal strings plus `*_micros` integers; tokens as integers. */
export interface SpendLine {
  unit: BudgetUnit;
  period: Period;
  window: string;
  period_start: string;
  period_end: string;
  /** ISO time the recent spend rate uses the budget up, or null when it lasts the period. */
  projected_exhaustion_at: string | null;
  [amount: string]: string | number | null;
}

export interface SpendReport {
  time: string;
  scopes: { scope: string; budgets: SpendLine[] }[];
}

interface Row { scope: string; budget: BudgetConfig; counterKey: string; start: number; end: number; windowKey: string }

function rowsFor(scope: string, budgets: readonly BudgetConfig[], now: Date, timeZone: string): Row[] {
  return budgets.map((budget) => {
    const window = periodWindow(budget.period, now, timeZone);
    const unit: BudgetUnit = budget.usd !== undefined ? 'usd' : 'tokens';
    return {
      scope, budget, windowKey: window.key, start: window.start.getTime(), end: window.end.getTime(),
      counterKey: counterKeyFor(scope, unit, budget.period, window.key),
    };
  });
}

function line(row: Row, counter: CounterState | undefined, options: SpendReportOptions): SpendLine {
  const unit: BudgetUnit = row.budget.usd !== undefined ? 'usd' : 'tokens';
  const limit = unit === 'usd' ? dollarsToMicros(row.budget.usd as number) : (row.budget.tokens as number);
  const spent = counter?.spent ?? 0;
  const reserved = counter?.reserved ?? 0;
  const projected = options.projection?.({ counterKey: row.counterKey, scope: row.scope, spent, limit, periodEnd: row.end }, options.now);
  return {
    unit, period: row.budget.period, window: row.windowKey,
    period_start: new Date(row.start).toISOString(), period_end: new Date(row.end).toISOString(),
    projected_exhaustion_at: projected === undefined ? null : new Date(projected).toISOString(),
    ...amountFields('limit', unit, limit),
    ...amountFields('spent', unit, spent),
    ...amountFields('reserved', unit, reserved),
    ...amountFields('remaining', unit, Math.max(0, limit - spent - reserved)),
  };
}

/**
 * Every scope with each budget's limit, spent, reserved, remaining and current period.
 * @example await spendReport({store, now: Date.now(), scopes: [{scope: 'org', budgets: [{usd: 10000, period: 'month'}]}]})
 */
export async function spendReport(options: SpendReportOptions): Promise<SpendReport> {
  const now = new Date(options.now);
  const timeZone = options.timeZone ?? 'UTC';
  const wanted = (scope: string) => options.scope === undefined || options.scope === scope;
  const configured = options.scopes.filter((scope) => wanted(scope.scope) && scope.budgets.length > 0);
  const rows = configured.flatMap((scope) => rowsFor(scope.scope, scope.budgets, now, timeZone));
  const counters = await options.store.read(rows.map((row) => row.counterKey));
  const narrowed = options.scope === undefined ? undefined : parseScope(options.scope);

  for (const template of options.userBudgets ?? []) {
    if (template.budgets.length === 0) continue;
    // Unnarrowed, or narrowed to every user of this department: each user seen; narrowed to one user: that user.
    const oneUser = narrowed?.kind === 'user' && narrowed.department === template.department;
    const everyUser = options.scope === undefined || (narrowed?.kind === 'users' && narrowed.department === template.department);
    if (!oneUser && !everyUser) continue;
    // Only the windows the report shows: users of past windows are history (and may be many).
    const windowKeys = [...new Set(template.budgets.map((budget) => periodWindow(budget.period, now, timeZone).key))];
    const records = everyUser
      ? await options.store.spend({ scopePrefix: userScopePrefix(template.department), windowKeys })
      : await options.store.spend({ scope: options.scope, windowKeys });
    // A narrowed user scope is reported even before that user's first request.
    const users = oneUser ? [options.scope as string] : [...new Set(records.map((record) => record.scope))].sort();
    for (const user of users) rows.push(...rowsFor(user, template.budgets, now, timeZone));
    for (const record of records) counters.set(record.counterKey, record);
  }

  const scopes = new Map<string, SpendLine[]>();
  for (const row of rows) {
    const lines = scopes.get(row.scope) ?? [];
    lines.push(line(row, counters.get(row.counterKey), options));
    scopes.set(row.scope, lines);
  }
  return {
    time: now.toISOString(),
    scopes: [...scopes].map(([scope, budgets]) => ({ scope, budgets })),
  };
}
