// Admin API: virtual keys (create returns the secret once, edit, revoke), the request log, and config reload; registered under /admin.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';
import { budgetSchema, keyGuardsSchema, type KeyGuardsConfig } from '../../config/schema.js';
import { isRevisionConflict, type KeyChanges, type KeyRecord } from '../../stores/records.js';
import { requireDepartmentAccess, type AdminPrincipal } from '../admin-auth.js';
import { entityTag, ifMatchRevisions } from '../entity-tag.js';
import type { Gateway } from '../gateway.js';
import { parseBody } from '../validate.js';

const createKeySchema = z.strictObject({
  department: z.string().min(1),
  name: z.string().min(1).max(200),
  models: z.array(z.string()).optional(),
  budgets: z.array(budgetSchema).optional(),
  // The same guards and routing a config key takes, checked by the same schemas.
  ...keyGuardsSchema.shape,
});

/**
 * An edit of an admin-API key: each field given replaces the key's, each left out stays; null clears the key's
 * models (every alias) or a guard. Fields are checked as on create.
 */
const editKeySchema = z.strictObject({
  department: createKeySchema.shape.department.optional(),
  name: createKeySchema.shape.name.optional(),
  models: z.array(z.string()).nullable().optional(),
  budgets: z.array(budgetSchema).optional(),
  agent: keyGuardsSchema.shape.agent.nullable(),
  rate_limit: keyGuardsSchema.shape.rate_limit.nullable(),
  limits: keyGuardsSchema.shape.limits.nullable(),
  environment: keyGuardsSchema.shape.environment.nullable(),
  route: keyGuardsSchema.shape.route.nullable(),
});

const guardNames = ['agent', 'rate_limit', 'limits', 'environment', 'route'] as const;

/** The key's fields after an edit: the body's where it gave one (null clears), the key's own elsewhere. */
function editedKey(key: KeyRecord, body: z.infer<typeof editKeySchema>): KeyChanges {
  const policy: Record<string, unknown> = { ...(key.policy ?? {}) };
  for (const name of guardNames) {
    if (body[name] === null) delete policy[name];
    else if (body[name] !== undefined) policy[name] = body[name];
  }
  return {
    department: body.department ?? key.department,
    name: body.name ?? key.name,
    models: body.models === undefined ? key.models : body.models,
    budgets: body.budgets ?? key.budgets,
    policy: Object.keys(policy).length === 0 ? null : (policy as KeyGuardsConfig),
  };
}

/** What an edit changed, field by field (guards by name), with the value before and after; never the secret. */
export function keyChanges(before: KeyChanges, after: KeyChanges): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  const same = (left: unknown, right: unknown) => JSON.stringify(left ?? null) === JSON.stringify(right ?? null);
  for (const field of ['department', 'name', 'models', 'budgets'] as const) {
    if (!same(before[field], after[field])) changes[field] = { before: before[field], after: after[field] };
  }
  for (const name of guardNames) {
    const was = before.policy?.[name] ?? null;
    const now = after.policy?.[name] ?? null;
    if (!same(was, now)) changes[name] = { before: was, after: now };
  }
  return changes;
}

/** The checks create and edit share: the department and every alias exist; only a staging key may route to the mock. */
function checkKeyFields(gateway: Gateway, fields: { department: string; models: string[] | null; environment?: string; route?: string }): void {
  if (!gateway.config.departments.has(fields.department)) {
    throw new CovenantError('invalid_request', `There is no department "${fields.department}".`, { param: 'department' });
  }
  for (const alias of fields.models ?? []) {
    if (!gateway.config.models.has(alias)) throw new CovenantError('invalid_request', `There is no model alias "${alias}".`, { param: 'models' });
  }
  // Only a staging key may be answered by the mock: a production key silently served by it would be an outage.
  if (fields.route === 'mock' && fields.environment !== 'staging') {
    throw new CovenantError('invalid_request', 'Invalid request: "route": route: mock needs environment: staging on the same key.', { param: 'route' });
  }
}

/** The guards and routing the body set, or null for none (the key then has only its department's). */
function guardsOf(body: z.infer<typeof createKeySchema>): KeyGuardsConfig | null {
  const guards: KeyGuardsConfig = {};
  if (body.agent !== undefined) guards.agent = body.agent;
  if (body.rate_limit !== undefined) guards.rate_limit = body.rate_limit;
  if (body.limits !== undefined) guards.limits = body.limits;
  if (body.environment !== undefined) guards.environment = body.environment;
  if (body.route !== undefined) guards.route = body.route;
  return Object.keys(guards).length === 0 ? null : guards;
}

function publicKey(key: KeyRecord) {
  return {
    id: key.id, department: key.department, name: key.name, models: key.models, budgets: key.budgets,
    ...(key.policy ?? {}), source: key.source, created_at: key.createdAt, revoked_at: key.revokedAt, revision: key.revision,
  };
}

/** The 412 of an edit whose If-Match names a revision the key no longer has; nothing was written. */
function keyChangedError(key: KeyRecord, currentRevision: number, action: 'edit' | 'revocation' = 'edit'): CovenantError {
  const undone = action === 'edit' ? 'this edit was not saved' : 'the key was not revoked';
  return new CovenantError('precondition_failed', `The key "${key.name}" was changed by someone else: it is now at revision ${currentRevision} `
    + `(ETag ${entityTag(currentRevision)}), not the one If-Match names, and ${undone}. Read it again `
    + `(GET /admin/keys/${key.id}) and send the ${action} with If-Match: ${entityTag(currentRevision)}.`);
}

export interface AdminHooks {
  /** Called after a key is created, edited (with what changed) or revoked (ledger entries, budget refresh). */
  onKeyEvent?(kind: 'key.created' | 'key.updated' | 'key.revoked', key: KeyRecord, principal: AdminPrincipal, changes?: ReturnType<typeof keyChanges>): Promise<void> | void;
  /** Reload the config file; returns a short summary. */
  reload?(principal: AdminPrincipal): Promise<Record<string, unknown>>;
}

/** Routes relative to the admin plugin's /admin prefix; the plugin has authenticated and authorized the principal. */
export function registerAdminRoutes(admin: FastifyInstance, gateway: Gateway, hooks: AdminHooks = {}): void {
  admin.post('/keys', { config: { access: 'write', area: 'finops' } }, async (request, reply) => {
    const principal = request.adminPrincipal;
    const body = parseBody(createKeySchema, request.body);
    requireDepartmentAccess(principal, body.department);
    checkKeyFields(gateway, { department: body.department, models: body.models ?? null, environment: body.environment, route: body.route });
    const { key, secret } = await gateway.keys.create({
      department: body.department, name: body.name, models: body.models ?? null, budgets: body.budgets ?? [], policy: guardsOf(body), now: new Date(),
    });
    await hooks.onKeyEvent?.('key.created', key, principal);
    reply.code(201);
    return { ...publicKey(key), key: secret };
  });

  admin.get('/keys', { config: { access: 'read', area: 'finops' } }, async (request) => {
    const principal = request.adminPrincipal;
    const keys = await gateway.keys.list();
    return { data: keys.filter((key) => principal.department === null || key.department === principal.department).map(publicKey) };
  });

  // One key, with its revision in ETag (the If-Match of an edit); a department-scoped admin reads its department's keys.
  admin.get('/keys/:id', { config: { access: 'read', area: 'finops' } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const key = await gateway.keys.stored(id);
    if (!key) throw new CovenantError('not_found', `There is no key "${id}".`);
    requireDepartmentAccess(request.adminPrincipal, key.department);
    reply.header('etag', entityTag(key.revision));
    return publicKey(key);
  });

  // An admin-API key's budgets, guards, models, name or department; the next request on every replica reads them.
  // With If-Match, only if the key is still at a revision it names (two admins editing at once: the second gets 412).
  admin.patch('/keys/:id', { config: { access: 'write', area: 'finops' } }, async (request, reply) => {
    const principal = request.adminPrincipal;
    const { id } = request.params as { id: string };
    const body = parseBody(editKeySchema, request.body);
    if (Object.keys(body).length === 0) {
      throw new CovenantError('invalid_request', `An edit sets at least one of: ${Object.keys(editKeySchema.shape).join(', ')}.`);
    }
    const existing = await gateway.keys.stored(id);
    if (!existing) throw new CovenantError('not_found', `There is no key "${id}".`);
    requireDepartmentAccess(principal, existing.department);
    if (body.department !== undefined) requireDepartmentAccess(principal, body.department);
    if (existing.source === 'config') {
      throw new CovenantError('invalid_request', `The key "${existing.name}" is defined in the config file: change it there and reload the config.`);
    }
    if (existing.revokedAt !== null) throw new CovenantError('invalid_request', `The key "${existing.name}" is revoked; a revoked key cannot be edited.`);
    const accepted = ifMatchRevisions(request.headers['if-match']);
    if (accepted !== null && !accepted.includes(existing.revision)) throw keyChangedError(existing, existing.revision);
    const after = editedKey(existing, body);
    checkKeyFields(gateway, { department: after.department, models: after.models, environment: after.policy?.environment, route: after.policy?.route });
    // The store checks the revision read above in the statement that writes: an edit landing in between is caught.
    const key = await gateway.keys.update(id, after, accepted === null ? undefined : existing.revision);
    if (isRevisionConflict(key)) throw keyChangedError(existing, key.revision);
    // Revoked between the read above and this write.
    if (!key) throw new CovenantError('invalid_request', `The key "${existing.name}" is revoked; a revoked key cannot be edited.`);
    await hooks.onKeyEvent?.('key.updated', key, principal, keyChanges(existing, key));
    reply.header('etag', entityTag(key.revision));
    return publicKey(key);
  });

  admin.delete('/keys/:id', { config: { access: 'write', area: 'finops' } }, async (request, reply) => {
    const principal = request.adminPrincipal;
    const { id } = request.params as { id: string };
    const existing = await gateway.keys.stored(id);
    if (!existing) throw new CovenantError('not_found', `There is no key "${id}".`);
    requireDepartmentAccess(principal, existing.department);
    const accepted = ifMatchRevisions(request.headers['if-match']);
    if (accepted !== null && existing.revokedAt === null && !accepted.includes(existing.revision)) throw keyChangedError(existing, existing.revision, 'revocation');
    // The store checks the revision read above in the statement that writes: an edit landing in between is caught.
    const key = await gateway.keys.revoke(id, new Date(), accepted === null ? undefined : existing.revision);
    if (isRevisionConflict(key)) throw keyChangedError(existing, key.revision, 'revocation');
    if (key) await hooks.onKeyEvent?.('key.revoked', key, principal);
    reply.header('etag', entityTag((key ?? existing).revision));
    return publicKey(key ?? existing);
  });

  admin.get('/requests', { config: { access: 'read', area: 'finops' } }, async (request) => {
    const principal = request.adminPrincipal;
    const query = request.query as { limit?: string };
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new CovenantError('invalid_request', 'limit must be a whole number from 1 to 10000.', { param: 'limit' });
    }
    const rows = await gateway.requestLog.recent(limit, principal.department);
    return {
      data: rows.map((row) => ({
        id: row.id, time: row.time, key_id: row.keyId, key: row.keyName, department: row.department, user: row.user,
        route: row.route, alias: row.alias, provider: row.provider, upstream_model: row.upstreamModel, stream: row.stream,
        status: row.status, error_code: row.errorCode, max_tokens: row.maxTokens,
        tokens: { input: row.inputTokens, output: row.outputTokens, cached_input: row.cachedInputTokens, reasoning: row.reasoningTokens },
        cost_usd: (row.costMicros / 1_000_000).toFixed(6), cost_micros: row.costMicros, latency_ms: Math.round(row.latencyMs * 100) / 100,
      })),
    };
  });

  // A reload replaces every department's keys, budgets and models, so a department-scoped admin may not.
  admin.post('/reload', { config: { access: 'organisation-write' } }, async (request) => {
    const principal = request.adminPrincipal;
    if (!hooks.reload) throw new CovenantError('invalid_request', 'This gateway runs without a config file; there is nothing to reload.');
    try {
      return await hooks.reload(principal);
    } catch (error) {
      // A bad file keeps the running config; the caller sees why.
      throw new CovenantError('invalid_request', `The config was not reloaded: ${(error as Error).message}`);
    }
  });
}
