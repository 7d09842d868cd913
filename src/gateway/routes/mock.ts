// Admin API to change the built-in mock provider's behaviour at run time (fingerprint, model id, answer variant, latency, length).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ResolvedConfig } from '../../config/resolve.js';
import type { LedgerEntryInput } from '../../ledger/types.js';
import { CovenantError } from '../../core/errors.js';
import { mockBehaviour, mockVariants, setMockBehaviour } from '../../providers/mock/behaviour.js';
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

function payload(provider: string) {
  const live = mockBehaviour(provider);
  return {
    provider, fingerprint: live.fingerprint ?? null, model: live.model ?? null, variant: live.variant ?? null,
    latency_ms: live.latencyMs ?? null, output_tokens: live.outputTokens ?? null, version: live.version ?? null,
  };
}

/** Only in this process: on several replicas, each gets its own POST. Each change is a `mock.changed` entry naming its key. */
export function registerMockRoutes(admin: FastifyInstance, config: () => ResolvedConfig, record: (entry: LedgerEntryInput) => Promise<unknown>): void {
  const mockOf = (request: { params: unknown }) => {
    const { provider } = request.params as { provider: string };
    if (config().providers.get(provider)?.type !== 'mock') throw new CovenantError('not_found', `There is no mock provider "${provider}" in the config.`);
    return provider;
  };
  admin.get('/mock/:provider', { config: { access: 'organisation-read' } }, async (request) => payload(mockOf(request)));
  admin.post('/mock/:provider', { config: { access: 'organisation-write' } }, async (request) => {
    const provider = mockOf(request);
    const body = parseBody(changeSchema, request.body ?? {});
    if (body.reset) setMockBehaviour(provider, null);
    const change = Object.fromEntries(Object.entries({
      fingerprint: body.fingerprint, model: body.model, variant: body.variant, latencyMs: body.latency_ms, outputTokens: body.output_tokens, version: body.version,
    }).filter(([, value]) => value !== undefined));
    if (Object.keys(change).length > 0) setMockBehaviour(provider, change);
    const { provider: _provider, ...behaviour } = payload(provider);
    await record({ kind: 'mock.changed', by: request.adminPrincipal.name, provider, reset: body.reset === true, behaviour, config_version: config().version });
    return { provider, ...behaviour };
  });
}
