// The review queue: GET /admin/reviews, GET /admin/reviews/stats, GET and POST /admin/reviews/:id (reviewer, admin; auditors read).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';
import { reviewStatistics } from '../../core/review-stats.js';
import type { DecisionOversight } from '../../decisions/oversight.js';
import { decisionPayload } from '../../decisions/payload.js';
import type { DecisionFilter } from '../../decisions/store.js';
import { requireDepartmentAccess } from '../admin-auth.js';
import { parseBody } from '../validate.js';

const reviewSchema = z.strictObject({
  /** The person deciding; default: the admin key's name. */
  reviewer: z.string().trim().min(1).max(200).optional(),
  outcome: z.union([z.string().trim().min(1).max(100), z.number().finite()]).transform(String),
  rationale: z.string().trim().min(1).max(5000),
  /** The generated text the decision rests on was hallucinated (feeds the hallucination-rate SLA). */
  hallucinated: z.boolean().optional(),
});

function positiveNumber(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new CovenantError('invalid_request', `${name} must be a positive number.`, { param: name });
  return value;
}

function sinceOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new CovenantError('invalid_request', 'since must be an ISO 8601 time.', { param: 'since' });
  return time;
}

/** Routes relative to /admin; a department-scoped key sees and decides its department's decisions only. */
export function registerReviewRoutes(admin: FastifyInstance, oversight: DecisionOversight): void {
  admin.get('/reviews', { config: { access: 'review-read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const query = request.query as { system?: string; status?: string; overdue?: string; limit?: string };
    const status = query.status ?? 'pending';
    if (!['pending', 'final', 'all'].includes(status)) throw new CovenantError('invalid_request', 'status must be pending, final or all.', { param: 'status' });
    const filter: DecisionFilter = { department: principal.department, limit: positiveNumber(query.limit, 'limit', 100) };
    if (query.system !== undefined) filter.system = oversight.system(query.system, 'system').name;
    if (status === 'pending') filter.status = 'pending_review';
    if (status === 'final') filter.reviewedSince = 0;
    const now = oversight.now();
    if (query.overdue === 'true' || query.overdue === '1') filter.dueBy = now;
    const records = await oversight.store.list(filter);
    return { data: records.map((record) => decisionPayload(record, now)) };
  });

  admin.get('/reviews/stats', { config: { access: 'review-read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const query = request.query as { system?: string; since?: string; fast_seconds?: string; min_reviews?: string; agreement?: string };
    const filter: DecisionFilter = { department: principal.department, reviewedSince: sinceOf(query.since) ?? 0, limit: 100_000 };
    if (query.system !== undefined) filter.system = oversight.system(query.system, 'system').name;
    const agreement = positiveNumber(query.agreement, 'agreement', 0.95);
    const options = {
      fastSeconds: positiveNumber(query.fast_seconds, 'fast_seconds', 30), minReviews: positiveNumber(query.min_reviews, 'min_reviews', 20), agreement,
    };
    const reviewed = await oversight.store.list(filter);
    const stats = reviewStatistics(reviewed.map((record) => ({
      reviewer: record.reviewer ?? 'unknown', system: record.system, overridden: record.overridden, seconds: ((record.reviewedAt as number) - record.createdAt) / 1000,
    })), options);
    return { automation_bias: { min_reviews: options.minReviews, agreement, fast_seconds: options.fastSeconds }, ...stats };
  });

  admin.get('/reviews/:id', { config: { access: 'review-read' } }, async (request) => {
    const { id } = request.params as { id: string };
    const record = await oversight.store.get(id);
    if (!record) throw new CovenantError('not_found', `There is no decision "${id}".`);
    requireDepartmentAccess(request.adminPrincipal, record.department);
    return decisionPayload(record, oversight.now());
  });

  admin.post('/reviews/:id', { config: { access: 'review-write' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { id } = request.params as { id: string };
    const body = parseBody(reviewSchema, request.body ?? {});
    const current = await oversight.store.get(id);
    if (!current) throw new CovenantError('not_found', `There is no decision "${id}".`);
    requireDepartmentAccess(principal, current.department);
    const record = await oversight.review(id, { reviewer: body.reviewer ?? principal.name, by: principal.name, outcome: body.outcome, rationale: body.rationale, hallucinated: body.hallucinated });
    return decisionPayload(record, oversight.now());
  });
}
