// Which budgets a config reload changed, scope by scope, for the ledger's budget.changed entries.
import type { ResolvedConfig } from '../config/resolve.js';
import type { BudgetConfig } from '../core/budget-types.js';
import { formatScope, scopeLabel, type Scope } from '../core/scope.js';
import { configKeyId } from './keys.js';

/** One scope's budgets before and after; `scope` is the name its counters, alerts and /admin/spend use. */
export interface BudgetChange {
  scope: string;
  /** How people read the scope (a key's department and name); never a substitute for `scope`. */
  label: string;
  /** The department the scope belongs to; absent for the org. */
  department?: string;
  before: BudgetConfig[];
  after: BudgetConfig[];
}

interface ScopeBudgets {
  label: string;
  department?: string;
  budgets: BudgetConfig[];
}

function scopesOf(config: ResolvedConfig): Map<string, ScopeBudgets> {
  const scopes = new Map<string, ScopeBudgets>();
  const add = (scope: Scope, budgets: BudgetConfig[], department?: string, key?: { department: string; name: string }) => {
    scopes.set(formatScope(scope), { label: scopeLabel(scope, key), department, budgets });
  };
  add({ kind: 'org' }, config.org.budgets);
  for (const department of config.departments.values()) {
    add({ kind: 'department', department: department.name }, department.budgets, department.name);
    add({ kind: 'users', department: department.name }, department.userBudgets, department.name);
  }
  // Config keys keep their id across reloads (it derives from department and name), so the counters' scope is known here.
  for (const key of config.configKeys) add({ kind: 'key', id: configKeyId(key.department, key.name) }, key.budgets, key.department, key);
  return scopes;
}

export function budgetChanges(previous: ResolvedConfig, next: ResolvedConfig): BudgetChange[] {
  const before = scopesOf(previous);
  const after = scopesOf(next);
  const changes: BudgetChange[] = [];
  for (const scope of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(scope);
    const updated = after.get(scope);
    const oldBudgets = old?.budgets ?? [];
    const updatedBudgets = updated?.budgets ?? [];
    if (JSON.stringify(oldBudgets) === JSON.stringify(updatedBudgets)) continue;
    const { label, department } = (updated ?? old) as ScopeBudgets;
    changes.push({ scope, label, ...(department === undefined ? {} : { department }), before: oldBudgets, after: updatedBudgets });
  }
  return changes;
}
