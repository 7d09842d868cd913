// Admin API for provider scorecards: GET /admin/providers/scorecard, computed from the ledger's inference entries over a window.
import type { FastifyInstance } from 'fastify';
import type { Usage } from '../../core/chat-types.js';
import { CovenantError } from '../../core/errors.js';
import { costMicros, type ModelPricing } from '../../core/pricing.js';
import { percentileMethod, providerScorecard, type ScorecardSample } from '../../core/provider-scorecard.js';
import type { LedgerEntry, LedgerStore } from '../../ledger/index.js';
import type { Gateway } from '../gateway.js';

/** The window when `since` is not given: the last day. */
const defaultWindowMs = 86_400_000;
/** Entries read per ledger query. */
const page = 1000;

/** The inference entry fields the scorecard reads (written by the ledger stage). */
interface InferenceFields {
  provider?: string | null;
  model_version?: string | null;
  error?: string | null;
  ttft_ms?: number | null;
  latency_ms?: number;
  cost_usd_micros?: number;
  tokens?: { input?: number; output?: number; cached_input?: number };
  decision?: { outcome?: string };
}

function time(value: string | undefined, name: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new CovenantError('invalid_request', `${name} must be an ISO 8601 time, e.g. 2026-01-31T00:00:00Z.`, { param: name });
  return date;
}

/** A scorecard sample from an inference entry; undefined for requests refused before they had a provider. */
export function scorecardSample(entry: LedgerEntry, pricingOf: (provider: string, version: string) => ModelPricing | undefined): ScorecardSample | undefined {
  const fields = entry as LedgerEntry & InferenceFields;
  if (!fields.provider || !fields.model_version) return undefined;
  const tokens = fields.tokens ?? {};
  const input = tokens.input ?? 0;
  const pricing = pricingOf(fields.provider, fields.model_version);
  const usage: Usage = { inputTokens: input, outputTokens: 0, cachedInputTokens: tokens.cached_input ?? 0, cacheWriteTokens: 0, reasoningTokens: 0 };
  return {
    provider: fields.provider,
    modelVersion: fields.model_version,
    refused: fields.decision?.outcome === 'refused',
    failed: fields.error !== null && fields.error !== undefined,
    ttftMs: fields.ttft_ms ?? null,
    latencyMs: fields.latency_ms ?? 0,
    inputTokens: input,
    outputTokens: tokens.output ?? 0,
    costMicros: fields.cost_usd_micros ?? 0,
    inputCostMicros: pricing === undefined ? null : costMicros(usage, pricing),
  };
}

/** Routes relative to the admin plugin's /admin prefix. */
export function registerProviderRoutes(admin: FastifyInstance, gateway: Gateway, ledger: LedgerStore): void {
  admin.get('/providers/scorecard', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const query = request.query as { since?: string; until?: string };
    const until = time(query.until, 'until') ?? new Date();
    const since = time(query.since, 'since') ?? new Date(until.getTime() - defaultWindowMs);
    if (since.getTime() > until.getTime()) throw new CovenantError('invalid_request', 'since must not be after until.', { param: 'since' });
    const prices = new Map<string, ModelPricing>();
    for (const model of gateway.config.models.values()) prices.set(`${model.provider}\u0000${model.version}`, model.pricing);
    const pricingOf = (provider: string, version: string) => prices.get(`${provider}\u0000${version}`);
    const samples: ScorecardSample[] = [];
    const department = principal.department ?? undefined;
    for (let from = 0; ;) {
      const entries = await ledger.entries({ from, limit: page, since, kind: 'inference', department });
      for (const stored of entries) {
        if (new Date(stored.entry.time).getTime() > until.getTime()) continue;
        const sample = scorecardSample(stored.entry, pricingOf);
        if (sample) samples.push(sample);
      }
      if (entries.length < page) break;
      from = entries.at(-1)!.seq + 1;
    }
    return {
      since: since.toISOString(),
      until: until.toISOString(),
      department: principal.department,
      percentile_method: percentileMethod,
      providers: providerScorecard(samples),
    };
  });
}
