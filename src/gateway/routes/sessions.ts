// Admin API for agent sessions: GET /admin/sessions (suspended ones) and POST /admin/sessions/:id/resume (a person, with a reason).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';
import { suspensionPayload, type SessionBreaker } from '../../sessions/breaker.js';
import { requireDepartmentAccess } from '../admin-auth.js';
import { parseBody } from '../validate.js';

const resumeSchema = z.strictObject({ reason: z.string().trim().min(1).max(2000) });

/** Routes relative to the admin plugin's /admin prefix; a department-scoped key sees and resumes its department's only. */
export function registerSessionRoutes(admin: FastifyInstance, breaker: SessionBreaker): void {
  admin.get('/sessions', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const query = request.query as { limit?: string; all?: string };
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CovenantError('invalid_request', 'limit must be a whole number from 1 to 10000.', { param: 'limit' });
    const records = await breaker.list({ department: principal.department, resumed: query.all === 'true' || query.all === '1', limit });
    return { data: records.map(suspensionPayload) };
  });

  admin.post('/sessions/:id/resume', { config: { access: 'write' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { id } = request.params as { id: string };
    const body = parseBody(resumeSchema, request.body ?? {});
    const active = await breaker.active(id);
    if (!active) throw new CovenantError('not_found', `There is no suspended session "${id}".`);
    requireDepartmentAccess(principal, active.department);
    const record = await breaker.resume(id, principal.name, body.reason);
    if (!record) throw new CovenantError('not_found', `There is no suspended session "${id}".`);
    return suspensionPayload(record);
  });
}
