// Which budgets a config reload changed, scope by scope, for the ledger's budget.changed entries.
import type { ResolvedConfig } from '../config/resolve.js';
import type { BudgetConfig } from '../config/schema.js';

export interface BudgetChange {
  scope: string;
  before: BudgetConfig[];
  after: BudgetConfig[];
}

function scopesOf(config: ResolvedConfig): Map<string, BudgetConfig[]> {
  const scopes = new Map<string, BudgetConfig[]>([['org', config.org.budgets]]);
  for (const department of config.departments.values()) {
    scopes.set(`department:${department.name}`, department.budgets);
    scopes.set(`users:${department.name}`, department.userBudgets);
  }
  for (const key of config.configKeys) scopes.set(`key:${key.department}/${key.name}`, key.budgets);
  return scopes;
}

export function budgetChanges(previous: ResolvedConfig, next: ResolvedConfig): BudgetChange[] {
  const before = scopesOf(previous);
  const after = scopesOf(next);
  const changes: BudgetChange[] = [];
  for (const scope of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(scope) ?? [];
    const updated = after.get(scope) ?? [];
    if (JSON.stringify(old) !== JSON.stringify(updated)) changes.push({ scope, before: old, after: updated });
  }
  return changes;
}
