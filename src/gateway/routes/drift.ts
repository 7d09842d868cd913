// Admin API for drift: POST /admin/drift/runs (a golden run's verdict into the ledger), GET /admin/models/:alias/drift (live drift).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';
import type { LiveDrift } from '../../drift/live.js';
import type { LedgerStore } from '../../ledger/index.js';
import { requireDepartmentAccess } from '../admin-auth.js';
import type { Gateway } from '../gateway.js';
import { parseBody } from '../validate.js';

const checkSchema = z.strictObject({
  name: z.string().min(1).max(64),
  observed: z.number(),
  threshold: z.number(),
  pass: z.boolean(),
  breached_items: z.array(z.string().max(500)).max(10_000),
});

/** What `covenant drift run` records: the verdict, each threshold's outcome and the evidence that ties them to files. */
const runSchema = z.strictObject({
  model: z.string().min(1).max(200),
  requested_version: z.string().max(200).nullable(),
  verdict: z.enum(['pass', 'material_drift']),
  key: z.string().max(200),
  department: z.string().max(200).nullable(),
  suite: z.strictObject({ file: z.string().max(2000), sha256: z.string().regex(/^[0-9a-f]{64}$/), items: z.number().int().nonnegative() }),
  baseline_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  report_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  embedding: z.strictObject({ kind: z.enum(['lexical', 'model']), alias: z.string().max(200).nullable() }),
  versions_seen: z.array(z.string().max(200)).max(100),
  fingerprints_seen: z.array(z.string().max(200)).max(100),
  baseline_versions_seen: z.array(z.string().max(200)).max(100),
  checks: z.array(checkSchema).min(1).max(20),
  cost_usd_micros: z.number().int().nonnegative(),
});

export interface DriftRouteServices {
  ledger: LedgerStore;
  drift: LiveDrift;
}

/** Routes relative to the admin plugin's /admin prefix. */
export function registerDriftRoutes(admin: FastifyInstance, gateway: Gateway, services: DriftRouteServices): void {
  admin.post('/drift/runs', { config: { access: 'write' } }, async (request) => {
    const principal = request.adminPrincipal;
    const body = parseBody(runSchema, request.body ?? {});
    const department = body.department ?? principal.department;
    if (department !== null) {
      requireDepartmentAccess(principal, department);
      if (!gateway.config.departments.has(department)) throw new CovenantError('invalid_request', `There is no department "${department}".`, { param: 'department' });
    }
    const { seq } = await services.ledger.append({
      kind: 'drift.run', ...(department === null ? {} : { department }), key: body.key, by: principal.name, alias: body.model,
      requested_version: body.requested_version, verdict: body.verdict, suite: body.suite, baseline_sha256: body.baseline_sha256,
      report_sha256: body.report_sha256, embedding: body.embedding, versions_seen: body.versions_seen, fingerprints_seen: body.fingerprints_seen,
      baseline_versions_seen: body.baseline_versions_seen, checks: body.checks, cost_usd_micros: body.cost_usd_micros,
      config_version: gateway.config.version,
    });
    return { recorded: true, seq };
  });

  admin.get('/models/:alias/drift', { config: { access: 'read' } }, async (request) => {
    const { alias } = request.params as { alias: string };
    if (!gateway.config.models.has(alias)) throw new CovenantError('model_not_found', alias);
    return services.drift.report(alias);
  });
}
