// Admin API of the contract workbench: /admin/contract-checks, /admin/weights and /admin/portability-requests.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';
import { clauseIds } from '../../sourcing/clause-ids.js';
import type { ContractCheckRecord, PortabilityRequestRecord, WeightsRecord } from '../../sourcing/records.js';
import type { ContractWorkbench } from '../../sourcing/contract-workbench.js';
import type { AdminPrincipal } from '../admin-auth.js';
import { parseBody } from '../validate.js';

const name = z.string().trim().min(1).max(200);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const clauseList = z.array(z.enum(clauseIds));

const checkSchema = z.strictObject({
  file: z.string().min(1).max(2000), sha256: z.string().regex(/^[0-9a-f]{64}$/), format: z.enum(['md', 'txt', 'docx', 'pdf']),
  blueprint: z.enum(['A', 'B', 'C', 'D', 'E']).nullish(), system: name.nullish(), contract_id: name.nullish(), department: name.nullish(),
  passed: z.boolean(), missing: clauseList, weaker: clauseList, result: z.unknown(),
});
const weightsSchema = z.strictObject({
  path: z.string().min(1).max(2000), format: z.enum(['safetensors', 'onnx']), sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(), parameters: z.number().int().nonnegative(), summary: z.unknown().optional(),
  contract_id: name.nullish(), system: name.nullish(), department: name.nullish(),
}).refine((body) => body.contract_id || body.system, { message: 'name the contract_id or the system the artifact belongs to' });
const requestSchema = z.strictObject({
  contract_id: name, due_business_days: z.number().int().min(0).max(1000), requested_on: date.optional(), holidays: z.array(date).max(1000).optional(),
  system: name.nullish(), note: z.string().max(2000).nullish(), department: name.nullish(),
});
const deliverSchema = z.strictObject({ weights_id: z.number().int().positive() });

const iso = (time: number | null): string | null => (time === null ? null : new Date(time).toISOString());

export const checkPayload = (check: ContractCheckRecord) => ({
  id: check.id, file: check.file, sha256: check.sha256, format: check.format, blueprint: check.blueprint, system: check.system,
  contract_id: check.contractId, department: check.department, passed: check.passed, missing: check.missing, weaker: check.weaker,
  result: check.result, checked_by: check.checkedBy, checked_at: iso(check.checkedAt),
});
export const weightsPayload = (weights: WeightsRecord) => ({
  id: weights.id, path: weights.path, format: weights.format, sha256: weights.sha256, bytes: weights.bytes, parameters: weights.parameters,
  summary: weights.summary, contract_id: weights.contractId, system: weights.system, department: weights.department,
  registered_by: weights.registeredBy, registered_at: iso(weights.registeredAt),
});
export const requestPayload = (request: PortabilityRequestRecord) => ({
  id: request.id, contract_id: request.contractId, system: request.system, department: request.department, status: request.status,
  requested_on: request.requestedOn, due_business_days: request.dueBusinessDays, due_on: request.dueOn, holidays: request.holidays, note: request.note,
  requested_by: request.requestedBy, requested_at: iso(request.requestedAt), weights_id: request.weightsId, delivered_at: iso(request.deliveredAt),
  overdue_at: iso(request.overdueAt),
});

function parseId(value: string, what: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id < 1) throw new CovenantError('not_found', `There is no ${what} "${value}".`);
  return id;
}

function parseLimit(value: string | undefined): number {
  const limit = value === undefined ? 100 : Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CovenantError('invalid_request', 'limit must be a whole number from 1 to 10000.', { param: 'limit' });
  return limit;
}

/** A department-scoped key writes in its own department; an organisation key may name one. */
const departmentFor = (principal: AdminPrincipal, named: string | null | undefined): string | null => principal.department ?? named ?? null;

/** A record outside a scoped key's department does not exist for it. */
function visible<T extends { department: string | null }>(principal: AdminPrincipal, record: T | undefined, what: string, id: string): T {
  if (!record || (principal.department !== null && record.department !== principal.department)) throw new CovenantError('not_found', `There is no ${what} "${id}".`);
  return record;
}

/** Routes relative to the admin plugin's /admin prefix. */
export function registerContractRoutes(admin: FastifyInstance, workbench: ContractWorkbench): void {
  admin.get('/contract-checks', { config: { access: 'read' } }, async (request) => {
    const query = request.query as { system?: string; contract_id?: string; limit?: string };
    const checks = await workbench.listChecks({ department: request.adminPrincipal.department, system: query.system, contractId: query.contract_id, limit: parseLimit(query.limit) });
    return { data: checks.map(checkPayload) };
  });
  admin.get('/contract-checks/:id', { config: { access: 'read' } }, async (request) => {
    const { id } = request.params as { id: string };
    return checkPayload(visible(request.adminPrincipal, await workbench.getCheck(parseId(id, 'contract check')), 'contract check', id));
  });
  admin.post('/contract-checks', { config: { access: 'write' } }, async (request, reply) => {
    const principal = request.adminPrincipal;
    const body = parseBody(checkSchema, request.body ?? {});
    const stored = await workbench.recordCheck({
      file: body.file, sha256: body.sha256, format: body.format, blueprint: body.blueprint ?? null, system: body.system ?? null,
      contractId: body.contract_id ?? null, department: departmentFor(principal, body.department), passed: body.passed, missing: body.missing,
      weaker: body.weaker, result: body.result ?? null, checkedBy: principal.name,
    });
    reply.code(201);
    return checkPayload(stored);
  });

  admin.get('/weights', { config: { access: 'read' } }, async (request) => {
    const query = request.query as { system?: string; contract_id?: string; limit?: string };
    const weights = await workbench.listWeights({ department: request.adminPrincipal.department, system: query.system, contractId: query.contract_id, limit: parseLimit(query.limit) });
    return { data: weights.map(weightsPayload) };
  });
  admin.get('/weights/:id', { config: { access: 'read' } }, async (request) => {
    const { id } = request.params as { id: string };
    return weightsPayload(visible(request.adminPrincipal, await workbench.getWeights(parseId(id, 'weights artifact')), 'weights artifact', id));
  });
  admin.post('/weights', { config: { access: 'write' } }, async (request, reply) => {
    const principal = request.adminPrincipal;
    const body = parseBody(weightsSchema, request.body ?? {});
    const { weights, delivered } = await workbench.registerWeights({
      path: body.path, format: body.format, sha256: body.sha256, bytes: body.bytes, parameters: body.parameters, summary: body.summary ?? null,
      contractId: body.contract_id ?? null, system: body.system ?? null, department: departmentFor(principal, body.department), registeredBy: principal.name,
    });
    reply.code(201);
    return { ...weightsPayload(weights), delivered_requests: delivered.map(requestPayload) };
  });

  admin.get('/portability-requests', { config: { access: 'read' } }, async (request) => {
    const query = request.query as { status?: string; contract_id?: string; limit?: string };
    if (query.status !== undefined && !['open', 'delivered', 'overdue'].includes(query.status)) {
      throw new CovenantError('invalid_request', 'status must be open, delivered or overdue.', { param: 'status' });
    }
    const requests = await workbench.listRequests({
      department: request.adminPrincipal.department, contractId: query.contract_id, status: query.status as 'open' | undefined, limit: parseLimit(query.limit),
    });
    return { data: requests.map(requestPayload) };
  });
  admin.get('/portability-requests/:id', { config: { access: 'read' } }, async (request) => {
    const { id } = request.params as { id: string };
    return requestPayload(visible(request.adminPrincipal, await workbench.getRequest(parseId(id, 'portability request')), 'portability request', id));
  });
  admin.post('/portability-requests', { config: { access: 'write' } }, async (request, reply) => {
    const principal = request.adminPrincipal;
    const body = parseBody(requestSchema, request.body ?? {});
    let stored: PortabilityRequestRecord;
    try {
      stored = await workbench.openRequest({
        contractId: body.contract_id, dueBusinessDays: body.due_business_days, requestedOn: body.requested_on, holidays: body.holidays,
        system: body.system, note: body.note, department: departmentFor(principal, body.department), by: principal.name,
      });
    } catch (error) {
      if (error instanceof RangeError) throw new CovenantError('invalid_request', error.message);
      throw error;
    }
    reply.code(201);
    return requestPayload(stored);
  });
  admin.post('/portability-requests/:id/deliver', { config: { access: 'write' } }, async (request) => {
    const principal = request.adminPrincipal;
    const { id } = request.params as { id: string };
    const body = parseBody(deliverSchema, request.body ?? {});
    const waiting = visible(principal, await workbench.getRequest(parseId(id, 'portability request')), 'portability request', id);
    const weights = visible(principal, await workbench.getWeights(body.weights_id), 'weights artifact', String(body.weights_id));
    const delivered = await workbench.deliver(waiting.id, weights, principal.name);
    if (!delivered) throw new CovenantError('invalid_request', `Portability request ${id} is already delivered.`);
    return requestPayload(delivered);
  });
}
