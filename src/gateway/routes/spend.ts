// Admin API for budgets: GET /admin/spend (every scope's limit, spent, reserved, remaining, window) and GET /admin/alerts.
import type { FastifyInstance } from 'fastify';
import { alertListEntry, type AlertStore } from '../../budgets/alerts.js';
import type { BudgetScope } from '../../budgets/guard.js';
import { spendReport } from '../../budgets/spend-report.js';
import type { BudgetStore } from '../../budgets/store.js';
import { CovenantError } from '../../core/errors.js';
import type { Gateway } from '../gateway.js';

/** Whether a scope string belongs to a department: the department itself, its keys, its users. */
function inDepartment(scope: string, department: string, keyDepartments: Map<string, string>): boolean {
  if (scope === `department:${department}`) return true;
  if (scope.startsWith(`user:${department}/`)) return true;
  if (scope.startsWith('key:')) return keyDepartments.get(scope.slice(4)) === department;
  return false;
}

/** Routes relative to the admin plugin's /admin prefix. */
export function registerSpendRoutes(admin: FastifyInstance, gateway: Gateway, stores: { budgets: BudgetStore; alerts: AlertStore }): void {
  admin.get('/spend', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { scope } = request.query as { scope?: string };
    if (scope !== undefined && !/^(org|department:.+|key:.+|user:.+\/.+)$/.test(scope)) {
      throw new CovenantError('invalid_request', 'scope must look like org, department:NAME, key:ID or user:DEPARTMENT/USER.', { param: 'scope' });
    }
    const config = gateway.config;
    const keys = (await gateway.keys.list()).filter((key) => key.revokedAt === null);
    const keyDepartments = new Map(keys.map((key) => [key.id, key.department]));
    const keyNames = new Map(keys.map((key) => [`key:${key.id}`, `${key.department}/${key.name}`]));
    const scopes: BudgetScope[] = [
      { scope: 'org', budgets: config.org.budgets },
      ...[...config.departments.values()].map((department) => ({ scope: `department:${department.name}`, budgets: department.budgets })),
      ...keys.map((key) => ({ scope: `key:${key.id}`, budgets: key.budgets })),
    ];
    const report = await spendReport({
      store: stores.budgets, now: Date.now(), timeZone: config.org.timeZone, scopes, scope,
      userBudgets: [...config.departments.values()].map((department) => ({ department: department.name, budgets: department.userBudgets })),
    });
    const visible = report.scopes.filter((entry) => principal.department === null || inDepartment(entry.scope, principal.department, keyDepartments));
    return { time: report.time, scopes: visible.map((entry) => (keyNames.has(entry.scope) ? { ...entry, key: keyNames.get(entry.scope) } : entry)) };
  });

  admin.get('/alerts', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { scope, limit } = request.query as { scope?: string; limit?: string };
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
