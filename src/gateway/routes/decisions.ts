// The Decisions API for any model, called through Covenant or not: POST /v1/decisions, GET /v1/decisions/:id, POST /v1/decisions/:id/outcome.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';
import type { DecisionOversight } from '../../decisions/oversight.js';
import { decisionPayload } from '../../decisions/payload.js';
import type { Gateway } from '../gateway.js';
import { parseBody } from '../validate.js';
import { header } from './openai.js';

const outcomeName = z.union([z.string().trim().min(1).max(100), z.number().finite()]);

export const decisionRequestSchema = z.strictObject({
  system: z.string().min(1),
  /** The caller's reference to the person decided about (a case or application id, not a name). */
  subject_ref: z.string().min(1).max(500),
  recommendation: outcomeName,
  score: z.number().finite().optional(),
  explanation: z.strictObject({
    method: z.string().min(1).max(100),
    base_value: z.number().finite(),
    attributions: z.record(z.string(), z.number().finite()),
  }).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  model_version: z.string().min(1).max(200),
  /** Protected attributes (stored apart, readable by auditors only). */
  protected: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
});

const outcomeSchema = z.strictObject({ outcome: outcomeName, hallucinated: z.boolean().optional() });

/** Routes authenticated by a virtual key; the key's department must be the system's. */
export function registerDecisionRoutes(app: FastifyInstance, gateway: Gateway, oversight: DecisionOversight): void {
  const sender = (authorization: string | undefined) => {
    const key = gateway.authenticate(authorization);
    return { id: key.id, name: key.name, department: key.department };
  };

  app.post('/v1/decisions', async (request, reply) => {
    const key = sender(header(request, 'authorization'));
    const body = parseBody(decisionRequestSchema, request.body);
    const record = await oversight.submit(body, key);
    reply.code(201);
    return decisionPayload(record, oversight.now());
  });

  app.get('/v1/decisions/:id', async (request) => {
    const key = sender(header(request, 'authorization'));
    const { id } = request.params as { id: string };
    const record = await oversight.store.get(id);
    if (!record || record.department !== key.department) throw new CovenantError('not_found', `There is no decision "${id}" in department "${key.department}".`);
    return decisionPayload(record, oversight.now());
  });

  app.post('/v1/decisions/:id/outcome', async (request) => {
    const key = sender(header(request, 'authorization'));
    const { id } = request.params as { id: string };
    const body = parseBody(outcomeSchema, request.body);
    const record = await oversight.recordOutcome(id, body, key);
    return decisionPayload(record, oversight.now());
  });
}
