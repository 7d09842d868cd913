// Admin API for AI systems under decision oversight: status, resumption, decisions (protected attributes for auditors), bias audits, performance, transparency.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ResolvedSystem } from '../../config/systems.js';
import { CovenantError } from '../../core/errors.js';
import { biasAudit, biasAuditAnswer, protectedAttributes, recordsFromDecisions } from '../../decisions/bias-audit.js';
import { performanceReport, slaReadings } from '../../decisions/monitors.js';
import type { DecisionOversight } from '../../decisions/oversight.js';
import { auditDecisionPayload, breachPayload, suspensionPayload } from '../../decisions/payload.js';
import { transparencyMarkdown, transparencyReport } from '../../decisions/transparency.js';
import { requireDepartmentAccess, type AdminPrincipal } from '../admin-auth.js';
import { parseBody } from '../validate.js';
import { parseBiasAuditQuery } from './bias-audit-query.js';

const resumeSchema = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

function rate(estimate: { value: number; lower: number; upper: number; successes: number; trials: number } | null) {
  return estimate === null ? null : { value: estimate.value, lower: estimate.lower, upper: estimate.upper, successes: estimate.successes, trials: estimate.trials };
}

/** Protected attributes (and audits grouped by them) are for auditor and admin keys only. */
function requireProtectedReader(principal: AdminPrincipal, what: string): void {
  if (principal.role !== 'auditor' && principal.role !== 'admin') throw new CovenantError('forbidden', `${what} readable by auditor and admin keys only.`);
}

/** Routes relative to /admin; a department-scoped key reaches its department's systems only. */
export function registerAiSystemRoutes(admin: FastifyInstance, oversight: DecisionOversight): void {
  const reach = (principal: AdminPrincipal, name: string): ResolvedSystem => {
    const system = oversight.system(name);
    requireDepartmentAccess(principal, system.department);
    return system;
  };

  admin.get('/systems', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const systems = oversight.systems().filter((system) => principal.department === null || system.department === principal.department);
    const data = [];
    for (const system of systems) {
      const suspension = await oversight.store.activeSuspension(system.name);
      const breaches = await oversight.store.openBreaches(system.name);
      const pending = await oversight.store.list({ system: system.name, status: 'pending_review', limit: 100_000 });
      data.push({
        name: system.name, department: system.department, adm: system.adm, status: suspension ? 'suspended' : 'active',
        suspension: suspension ? suspensionPayload(suspension) : null, pending_reviews: pending.length,
        review: { required_for: system.reviewFor, adverse: system.adverse, window: system.reviewWindow },
        explanation: { required: system.explanationRequired, tolerance: system.explanationTolerance },
        fairness: system.fairness, sla: system.sla, open_breaches: breaches.map(breachPayload),
      });
    }
    return { data };
  });

  admin.post('/systems/:name/resume', { config: { access: 'write' } }, async (request) => {
    const { name } = request.params as { name: string };
    reach(request.adminPrincipal, name);
    const body = parseBody(resumeSchema, request.body ?? {});
    return suspensionPayload(await oversight.resume(name, request.adminPrincipal.name, body.reason));
  });

  admin.get('/systems/:name/decisions', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { name } = request.params as { name: string };
    const system = reach(principal, name);
    const query = request.query as { include?: string; since?: string; limit?: string };
    const withProtected = query.include === 'protected';
    if (withProtected) requireProtectedReader(principal, 'Protected attributes are');
    const since = query.since === undefined ? undefined : Date.parse(query.since);
    if (since !== undefined && Number.isNaN(since)) throw new CovenantError('invalid_request', 'since must be an ISO 8601 time.', { param: 'since' });
    const limit = query.limit === undefined ? 100_000 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CovenantError('invalid_request', 'limit must be a positive whole number.', { param: 'limit' });
    const records = await oversight.store.list({ system: system.name, since, limit });
    const attributes = withProtected ? await oversight.store.protectedOf(records.map((record) => record.id)) : undefined;
    return { decisions: records.map((record) => auditDecisionPayload(record, attributes ? attributes.get(record.id) : null)) };
  });

  admin.get('/systems/:name/bias-audit', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { name } = request.params as { name: string };
    const system = reach(principal, name);
    requireProtectedReader(principal, 'Bias audits group by protected attributes and are');
    const query = parseBiasAuditQuery(request.query as Record<string, unknown>, system);
    const stored = (await oversight.store.list({ system: system.name, since: query.from, limit: 100_000 }))
      .filter((record) => query.to === undefined || record.createdAt < query.to);
    const attributes = await oversight.store.protectedOf(stored.map((record) => record.id));
    const decisions = stored.map((record) => ({
      id: record.id, system: record.system, recommendation: record.recommendation, final_outcome: record.finalOutcome, outcome: record.outcome,
      protected: attributes.get(record.id) ?? {},
    }));
    const { records, filtered } = recordsFromDecisions(decisions, query.attributes, query.favorable);
    const audit = biasAudit(records, query.attributes, { source: `system ${system.name}`, prediction: query.prediction, label: 'outcome, where it has arrived', filtered }, query.settings);
    return {
      system: system.name, department: system.department,
      window: { from: query.from === undefined ? null : new Date(query.from).toISOString(), to: query.to === undefined ? null : new Date(query.to).toISOString() },
      available_attributes: protectedAttributes(decisions),
      ...biasAuditAnswer(audit, query.settings.minGroupSize),
    };
  });

  admin.get('/systems/:name/performance', { config: { access: 'read' } }, async (request) => {
    const { name } = request.params as { name: string };
    const system = reach(request.adminPrincipal, name);
    const now = oversight.now();
    const windowMs = system.sla?.windowMs ?? 30 * 86_400_000;
    const report = await performanceReport(oversight.store, system, windowMs, now);
    return {
      system: system.name, window: system.sla?.window ?? '30d', window_start: new Date(report.since).toISOString(), window_end: new Date(now).toISOString(),
      versions: report.versions.map((version) => ({
        model_version: version.modelVersion, labelled: version.labelled, counts: version.counts,
        precision: rate(version.rates.precision), recall: rate(version.rates.truePositiveRate), f1: version.rates.f1,
        accuracy: rate(version.rates.accuracy), hallucination_rate: rate(version.hallucination),
      })),
      sla: slaReadings(system, report).map((reading) => ({ metric: reading.metric, model_version: reading.modelVersion, value: reading.value, threshold: reading.threshold, breached: reading.breached })),
      open_breaches: (await oversight.store.openBreaches(system.name)).map(breachPayload),
    };
  });

  admin.get('/systems/:name/transparency', { config: { access: 'read' } }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const system = reach(request.adminPrincipal, name);
    const format = (request.query as { format?: string }).format ?? 'json';
    if (format !== 'json' && format !== 'md') throw new CovenantError('invalid_request', 'format must be json or md.', { param: 'format' });
    const report = transparencyReport(system, await oversight.store.list({ system: system.name, limit: 100_000 }), oversight.now());
    if (format === 'md') {
      reply.type('text/markdown; charset=utf-8');
      return transparencyMarkdown(report);
    }
    return report;
  });
}
