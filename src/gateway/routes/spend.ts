// Admin API for budgets and spend: GET /admin/spend (every budget, or spend by tag), GET /admin/spend/export and GET /admin/alerts.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { alertListEntry, type AlertStore } from '../../budgets/alerts.js';
import { burnRateWindows, type BurnRateTracker } from '../../budgets/burn-rate.js';
import type { BudgetScope } from '../../budgets/guard.js';
import { spendReport } from '../../budgets/spend-report.js';
import type { BudgetStore } from '../../budgets/store.js';
import { periods, type Period } from '../../core/budget-types.js';
import { CovenantError } from '../../core/errors.js';
import { dailyUsage } from '../../finops/daily-usage.js';
import { exportContentType, exportFormats, exportLines, isExportFormat } from '../../finops/export.js';
import { spendEntries } from '../../finops/spend-entries.js';
import { tagOfGrouping, tagSpend } from '../../finops/tag-spend.js';
import { periodSpendWindow, windowBound } from '../../finops/window.js';
import type { LedgerStore } from '../../ledger/index.js';
import { counterScopeForms, formatScope, parseScope, scopeDepartment, scopeForms } from '../../core/scope.js';
import type { SessionBreaker } from '../../sessions/breaker.js';
import { governanceAlertEntry, type GovernanceAlertKind, type GovernanceAlertStore } from '../../alerts/store.js';
import { alertKindsParameter, mergeAlerts, sinceParameter } from './alert-list.js';
import type { Gateway } from '../gateway.js';

const budgetOrSessionKinds = new Set(['threshold', 'projected_exhaustion', 'rate_jump', 'session_suspended']);

/** Whether a scope string belongs to a department: the department itself, its keys, its users. */
function inDepartment(scope: string, department: string, departmentOf: (keyId: string) => string | undefined): boolean {
  const parsed = parseScope(scope);
  return parsed !== undefined && scopeDepartment(parsed, departmentOf) === department;
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

/** A `from` or `to` query parameter: a date (YYYY-MM-DD, a whole UTC day) or an ISO 8601 time. */
function boundParameter(value: string | undefined, side: 'from' | 'to'): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const bound = windowBound(value, side);
  if (!bound) throw new CovenantError('invalid_request', `${side} must be a date (YYYY-MM-DD) or an ISO 8601 time.`, { param: side });
  return bound;
}

interface WindowQuery { from?: string; to?: string; period?: string }

/** `from`/`to` when given (both or neither), else the current window of `period` (default: month). */
function windowParameters(query: WindowQuery, timeZone: string, required: boolean): { from: Date; to: Date } {
  const from = boundParameter(query.from, 'from');
  const to = boundParameter(query.to, 'to');
  if (from && to) {
    if (from.getTime() >= to.getTime()) throw new CovenantError('invalid_request', 'from must be before to.', { param: 'from' });
    return { from, to };
  }
  if (from || to || required) throw new CovenantError('invalid_request', 'Give both from and to.', { param: from ? 'to' : 'from' });
  const period = query.period ?? 'month';
  if (!(periods as readonly string[]).includes(period)) throw new CovenantError('invalid_request', `period must be one of ${periods.join(', ')}.`, { param: 'period' });
  return periodSpendWindow(period as Period, new Date(), timeZone);
}

/** Routes relative to the admin plugin's /admin prefix. */
export function registerSpendRoutes(admin: FastifyInstance, gateway: Gateway, stores: { budgets: BudgetStore; alerts: AlertStore; ledger: LedgerStore; burnRate?: BurnRateTracker; sessions?: SessionBreaker; governanceAlerts?: GovernanceAlertStore }): void {
  admin.get('/spend', { config: { access: 'read', area: 'finops' } }, async (request) => {
    const principal = request.adminPrincipal;
    const query = request.query as WindowQuery & { group_by?: string };
    if (query.group_by !== undefined) {
      // Spend by tag is computed from the ledger's inference entries, so it covers any window, not only budgets' current ones.
      const tag = tagOfGrouping(query.group_by);
      if (tag === undefined || !gateway.config.tags.keys.has(tag)) {
        const declared = [...gateway.config.tags.keys].map((key) => `tag:${key}`).join(', ') || 'none: no tags are configured';
        throw new CovenantError('invalid_request', `group_by must name a configured tag (${declared}).`, { param: 'group_by' });
      }
      const window = windowParameters(query, gateway.config.org.timeZone, false);
      return tagSpend(spendEntries(stores.ledger, { ...window, department: principal.department }), tag, window);
    }
    const scope = scopeParameter((request.query as { scope?: string }).scope, true);
    const config = gateway.config;
    // The key index's copy (current within the refresh interval): no read of every key in the store per report.
    const keys = [...gateway.keys.active()];
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
    const visible = report.scopes.filter((entry) => principal.department === null || inDepartment(entry.scope, principal.department, (id) => keyDepartments.get(id)));
    return { time: report.time, scopes: visible.map((entry) => (keyNames.has(entry.scope) ? { ...entry, key: keyNames.get(entry.scope) } : entry)) };
  });

  admin.get('/spend/export', { config: { access: 'read', area: 'finops' } }, async (request, reply) => {
    const principal = request.adminPrincipal;
    const query = request.query as WindowQuery & { format?: string };
    const format = query.format ?? 'focus';
    if (!isExportFormat(format)) throw new CovenantError('invalid_request', `format must be one of ${exportFormats.join(', ')}.`, { param: 'format' });
    const window = windowParameters(query, gateway.config.org.timeZone, true);
    const rows = await dailyUsage(spendEntries(stores.ledger, { ...window, department: principal.department }));
    reply.type(exportContentType(format));
    // Browsers and curl -OJ save it under a name that says what it holds.
    const name = `covenant-spend-${format}-${window.from.toISOString().slice(0, 10)}-${window.to.toISOString().slice(0, 10)}.${format === 'json' ? 'json' : 'csv'}`;
    reply.header('content-disposition', `attachment; filename="${name}"`);
    return reply.send(Readable.from(exportLines(rows, format, { organisation: gateway.config.org.name, ...window })));
  });

  admin.get('/alerts', { config: { access: 'read', area: 'finops' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { limit } = request.query as { limit?: string };
    const scope = scopeParameter((request.query as { scope?: string }).scope, false);
    const count = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new CovenantError('invalid_request', 'limit must be a whole number from 1 to 10000.', { param: 'limit' });
    const query = request.query as { kind?: string; since?: string };
    const kinds = alertKindsParameter(query.kind);
    const since = sinceParameter(query.since);
    const wants = (kind: string) => kinds === undefined || kinds.includes(kind);
    const lists: Record<string, unknown>[][] = [];
    if (['threshold', 'projected_exhaustion', 'rate_jump'].some(wants)) {
      const records = await stores.alerts.list({ scope, limit: count });
      lists.push(records
        .filter((record) => principal.department === null || inDepartment(record.scope, principal.department, (id) => gateway.keys.known(id)?.department))
        .map(alertListEntry));
    }
    // Session suspensions and governance alerts name no budget scope, so a scope filter leaves them out.
    if (scope === undefined && stores.sessions && wants('session_suspended')) {
      lists.push(await stores.sessions.alerts({ department: principal.department, limit: count }));
    }
    const governanceKinds = kinds?.filter((kind) => !budgetOrSessionKinds.has(kind));
    if (scope === undefined && stores.governanceAlerts && (kinds === undefined || (governanceKinds?.length ?? 0) > 0)) {
      // A department's key sees its department's alerts; organisation-wide ones (model changes, drift, contracts) only unscoped keys.
      const records = await stores.governanceAlerts.list({
        department: principal.department ?? undefined, kinds: governanceKinds as GovernanceAlertKind[] | undefined, since, limit: count,
      });
      lists.push(records.map(governanceAlertEntry));
    }
    return { data: mergeAlerts(lists, { kinds, since, limit: count }) };
  });
}
