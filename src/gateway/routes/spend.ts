// Admin API for budgets: GET /admin/spend (every scope's limit, spent, reserved, remaining, window) and GET /admin/alerts.
import type { FastifyInstance } from 'fastify';
import { alertListEntry, type AlertStore } from '../../budgets/alerts.js';
import { burnRateWindows, type BurnRateTracker } from '../../budgets/burn-rate.js';
import type { BudgetScope } from '../../budgets/guard.js';
import { spendReport } from '../../budgets/spend-report.js';
import type { BudgetStore } from '../../budgets/store.js';
import { CovenantError } from '../../core/errors.js';
import { counterScopeForms, formatScope, parseScope, scopeDepartment, scopeForms } from '../../core/scope.js';
import type { Gateway } from '../gateway.js';

/** Whether a scope string belongs to a department: the department itself, its keys, its users. */
function inDepartment(scope: string, department: string, keyDepartments: Map<string, string>): boolean {
  const parsed = parseScope(scope);
  return parsed !== undefined && scopeDepartment(parsed, (id) => keyDepartments.get(id)) === department;
}

/**
 * The `scope` query parameter, checked against the scope grammar. `everyUser`: whether the route takes a department's
 * per-user policy (`user:<department>`); alerts are raised per counter, so they always name one user.
 */
function scopeParameter(scope: string | undefined, everyUser: boolean): string | undefined {
  if (scope === undefined) return undefined;
  const parsed = parseScope(scope);
  if (parsed && (everyUser || parsed.kind !== 'users')) return scope;
  throw new CovenantError('invalid_request', `scope must look like ${everyUser ? scopeForms : counterScopeForms}.`, { param: 'scope' });
}

/** Routes relative to the admin plugin's /admin prefix. */
export function registerSpendRoutes(admin: FastifyInstance, gateway: Gateway, stores: { budgets: BudgetStore; alerts: AlertStore; burnRate?: BurnRateTracker }): void {
  admin.get('/spend', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const scope = scopeParameter((request.query as { scope?: string }).scope, true);
    const config = gateway.config;
    const keys = (await gateway.keys.list()).filter((key) => key.revokedAt === null);
    const keyDepartments = new Map(keys.map((key) => [key.id, key.department]));
    const keyNames = new Map(keys.map((key) => [formatScope({ kind: 'key', id: key.id }), `${key.department}/${key.name}`]));
    const scopes: BudgetScope[] = [
      { scope: formatScope({ kind: 'org' }), budgets: config.org.budgets },
      ...[...config.departments.values()].map((department) => ({ scope: formatScope({ kind: 'department', department: department.name }), budgets: department.budgets })),
      ...keys.map((key) => ({ scope: formatScope({ kind: 'key', id: key.id }), budgets: key.budgets })),
    ];
    // Each department's burn_rate window (or the org's, or the default) measures the rate its budgets project from.
    const windowOf = (counterScope: string) => {
      const parsed = parseScope(counterScope);
      const department = parsed ? scopeDepartment(parsed, (id) => keyDepartments.get(id)) : undefined;
      const alerts = (department === undefined ? undefined : config.departments.get(department)?.alerts) ?? config.org.alerts;
      return burnRateWindows(alerts?.burn_rate);
    };
    const tracker = stores.burnRate;
    const report = await spendReport({
      store: stores.budgets, now: Date.now(), timeZone: config.org.timeZone, scopes, scope,
      // The tracker's samples come from settles, whose counters are the shared store's: every replica's spend.
      projection: tracker && ((line, now) => tracker.reading(line.counterKey, now, line, windowOf(line.scope)).projectedAt),
      userBudgets: [...config.departments.values()].map((department) => ({ department: department.name, budgets: department.userBudgets })),
    });
    const visible = report.scopes.filter((entry) => principal.department === null || inDepartment(entry.scope, principal.department, keyDepartments));
    return { time: report.time, scopes: visible.map((entry) => (keyNames.has(entry.scope) ? { ...entry, key: keyNames.get(entry.scope) } : entry)) };
  });

  admin.get('/alerts', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { limit } = request.query as { limit?: string };
    const scope = scopeParameter((request.query as { scope?: string }).scope, false);
    const count = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new CovenantError('invalid_request', 'limit must be a whole number from 1 to 10000.', { param: 'limit' });
    const keyDepartments = new Map((await gateway.keys.list()).map((key) => [key.id, key.department]));
    const records = await stores.alerts.list({ scope, limit: count });
    return {
      data: records
        .filter((record) => principal.department === null || inDepartment(record.scope, principal.department, keyDepartments))
        .map(alertListEntry),
    };
  });
}
