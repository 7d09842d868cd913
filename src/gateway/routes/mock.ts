// Admin API to change the built-in mock provider's behaviour at run time (fingerprint, model id, answer variant, latency, length).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ResolvedConfig } from '../../config/resolve.js';
import type { LedgerEntryInput } from '../../ledger/types.js';
import { CovenantError } from '../../core/errors.js';
import type { ModelRegistry } from '../../models/registry.js';
import { mockBehaviour, mockVariants, type MockBehaviour, type MockBehaviours } from '../../providers/mock/behaviour.js';
import { parseBody } from '../validate.js';

const changeSchema = z.strictObject({
  fingerprint: z.string().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
  variant: z.enum(mockVariants).optional(),
  latency_ms: z.number().int().nonnegative().max(600_000).optional(),
  output_tokens: z.number().int().positive().max(100_000).optional(),
  /** Only calls for this model id change. */
  version: z.string().min(1).max(200).optional(),
  /** Back to the configured behaviour (applied before the other fields). */
  reset: z.boolean().optional(),
});

function payload(provider: string, shared: MockBehaviours) {
  const live = mockBehaviour(provider, shared);
  return {
    provider, fingerprint: live.fingerprint ?? null, model: live.model ?? null, variant: live.variant ?? null,
    latency_ms: live.latencyMs ?? null, output_tokens: live.outputTokens ?? null, version: live.version ?? null,
  };
}

/**
 * Kept in the registry store: every replica serves a switch within its registry refresh (a second).
 * Each change is a `mock.changed` entry naming its key.
 */
export function registerMockRoutes(
  admin: FastifyInstance, config: () => ResolvedConfig, shared: { registry: ModelRegistry; behaviours: MockBehaviours },
  record: (entry: LedgerEntryInput) => Promise<unknown>,
): void {
  const mockOf = (request: { params: unknown }) => {
    const { provider } = request.params as { provider: string };
    if (config().providers.get(provider)?.type !== 'mock') throw new CovenantError('not_found', `There is no mock provider "${provider}" in the config.`);
    return provider;
  };
  admin.get('/mock/:provider', { config: { access: 'organisation-read' } }, async (request) => payload(mockOf(request), shared.behaviours));
  admin.post('/mock/:provider', { config: { access: 'organisation-write' } }, async (request) => {
    const provider = mockOf(request);
    const body = parseBody(changeSchema, request.body ?? {});
    const change = Object.fromEntries(Object.entries({
      fingerprint: body.fingerprint, model: body.model, variant: body.variant, latencyMs: body.latency_ms, outputTokens: body.output_tokens, version: body.version,
    }).filter(([, value]) => value !== undefined)) as MockBehaviour;
    const next = { ...(body.reset ? {} : mockBehaviour(provider, shared.behaviours)), ...change };
    await shared.registry.setMockSettings(provider, Object.keys(next).length > 0 ? { ...next } : null);
    const { provider: _provider, ...behaviour } = payload(provider, shared.behaviours);
    await record({ kind: 'mock.changed', by: request.adminPrincipal.name, provider, reset: body.reset === true, behaviour, config_version: config().version });
    return { provider, ...behaviour };
  });
}
