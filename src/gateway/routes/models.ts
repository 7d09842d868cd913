// Admin API for the model registry: list, show and history of aliases, and the moves (stage, promote, rollback, ack) people make.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CovenantError } from '../../core/errors.js';
import { pricePerMtokToMicros } from '../../core/money.js';
import type { ModelRegistry } from '../../models/registry.js';
import { parseBody } from '../validate.js';

const reason = z.string().trim().min(1).max(2000).optional();
const stageSchema = z.strictObject({
  version: z.string().trim().min(1).max(200),
  provider: z.string().trim().min(1).optional(),
  price: z.strictObject({ input_per_mtok: z.number().nonnegative(), output_per_mtok: z.number().nonnegative() }).optional(),
  reason,
});
const moveSchema = z.strictObject({ reason });

/** Routes relative to the admin plugin's /admin prefix. Reading is open to every admin key; moves act on the whole organisation. */
export function registerModelRoutes(admin: FastifyInstance, registry: ModelRegistry): void {
  const aliasOf = (request: { params: unknown }) => {
    const { alias } = request.params as { alias: string };
    if (registry.activeVersion(alias) === undefined) throw new CovenantError('not_found', `There is no model alias "${alias}" in the registry.`);
    return alias;
  };

  admin.get('/models', { config: { access: 'read' } }, async () => ({ data: registry.list() }));

  admin.get('/models/:alias', { config: { access: 'read' } }, async (request) => registry.describe(aliasOf(request)));

  admin.get('/models/:alias/history', { config: { access: 'read' } }, async (request) => ({ data: await registry.history(aliasOf(request)) }));

  admin.post('/models/:alias/stage', { config: { access: 'organisation-write' } }, async (request) => {
    const alias = aliasOf(request);
    const body = parseBody(stageSchema, request.body ?? {});
    const pricing = body.price && {
      inputMicrosPerMtok: pricePerMtokToMicros(body.price.input_per_mtok), outputMicrosPerMtok: pricePerMtokToMicros(body.price.output_per_mtok),
      cachedInputMicrosPerMtok: pricePerMtokToMicros(body.price.input_per_mtok), cacheWriteMicrosPerMtok: pricePerMtokToMicros(body.price.input_per_mtok),
    };
    return registry.stage(alias, body.version, request.adminPrincipal.name, { provider: body.provider, pricing, reason: body.reason });
  });

  admin.post('/models/:alias/promote', { config: { access: 'organisation-write' } }, async (request) => {
    const alias = aliasOf(request);
    return registry.promote(alias, request.adminPrincipal.name, parseBody(moveSchema, request.body ?? {}).reason);
  });

  admin.post('/models/:alias/rollback', { config: { access: 'organisation-write' } }, async (request) => {
    const alias = aliasOf(request);
    return registry.rollback(alias, request.adminPrincipal.name, parseBody(moveSchema, request.body ?? {}).reason);
  });

  admin.post('/models/:alias/ack', { config: { access: 'organisation-write' } }, async (request) => {
    const alias = aliasOf(request);
    return registry.acknowledge(alias, request.adminPrincipal.name, parseBody(moveSchema, request.body ?? {}).reason);
  });
}
