// Each alias's registry policy from the config (contract terms, silent-change handling, shadow traffic), its warnings and its RFC headers.
import type { ContractConfig, ModelConfig } from '../config/schema.js';

const day = 86_400_000;

export interface DriftTerms {
  min_similarity: number;
  max_variance: number;
  max_safety_failures: number;
  window: string;
}

/** The contract as GET /admin/models/:alias returns it (defaults filled), for the drift tools to compare against. */
export interface ContractTerms {
  support_until: string | null;
  notice_days: number | null;
  deprecation: { announced: string; sunset: string | null } | null;
  horizon_days: number;
  drift: DriftTerms;
}

export interface AliasPolicy {
  alias: string;
  onSilentChange: 'alert' | 'block';
  fingerprintLearning: number;
  onDrift: 'rollback' | 'alert';
  shadow: { share: number; budgetMicros: number } | null;
  contract: ContractTerms;
}

export const defaultDrift: DriftTerms = { min_similarity: 0.95, max_variance: 0.15, max_safety_failures: 0, window: '24h' };
const defaultHorizonDays = 90;

/** Epoch milliseconds of a `YYYY-MM-DD` date (midnight UTC). */
export function dateMs(text: string): number {
  return Date.parse(`${text}T00:00:00Z`);
}

export function contractTerms(contract: ContractConfig | undefined): ContractTerms {
  return {
    support_until: contract?.support_until ?? null,
    notice_days: contract?.notice_days ?? null,
    deprecation: contract?.deprecation ? { announced: contract.deprecation.announced, sunset: contract.deprecation.sunset ?? null } : null,
    horizon_days: contract?.horizon_days ?? defaultHorizonDays,
    drift: { ...defaultDrift, ...contract?.drift },
  };
}

export function aliasPolicy(model: ModelConfig): AliasPolicy {
  return {
    alias: model.alias,
    onSilentChange: model.on_silent_change ?? 'alert',
    fingerprintLearning: model.fingerprint_learning ?? 0,
    onDrift: model.on_drift ?? 'alert',
    shadow: model.shadow ? { share: model.shadow.share, budgetMicros: Math.round(model.shadow.budget_usd * 1_000_000) } : null,
    contract: contractTerms(model.contract),
  };
}

/** The pinned version's deprecation notice and end, as the registry records them. */
export function versionTerms(terms: ContractTerms): { deprecationNoticeAt: number | null; supportUntil: number | null } {
  const sunset = terms.deprecation?.sunset ?? terms.support_until;
  return {
    deprecationNoticeAt: terms.deprecation ? dateMs(terms.deprecation.announced) : null,
    supportUntil: sunset === null ? null : dateMs(sunset),
  };
}

/**
 * What deserves a person's attention in an alias's contract at `now`: a deprecation notice shorter than the agreed
 * notice_days, support or a sunset within horizon_days, or already over.
 */
export function contractWarnings(alias: string, terms: ContractTerms, now: number): string[] {
  const warnings: string[] = [];
  const deprecation = terms.deprecation;
  if (deprecation?.sunset && terms.notice_days !== null) {
    const given = Math.round((dateMs(deprecation.sunset) - dateMs(deprecation.announced)) / day);
    if (given < terms.notice_days) {
      warnings.push(`model "${alias}": the deprecation announced ${deprecation.announced} ends ${deprecation.sunset}, ${given} days' notice; the contract agrees ${terms.notice_days}`);
    }
  }
  const ends: [string, string | null][] = [['support ends', terms.support_until], ['the announced sunset is', deprecation?.sunset ?? null]];
  for (const [what, date] of ends) {
    if (date === null) continue;
    const left = Math.floor((dateMs(date) - now) / day);
    if (left < 0) warnings.push(`model "${alias}": ${what} ${date}, ${-left} days ago`);
    else if (left <= terms.horizon_days) warnings.push(`model "${alias}": ${what} ${date}, in ${left} days (horizon ${terms.horizon_days})`);
  }
  return warnings;
}

/** Every alias's contract warnings in a config's models. */
export function configContractWarnings(models: readonly ModelConfig[], now: number): string[] {
  return models.flatMap((model) => contractWarnings(model.alias, contractTerms(model.contract), now));
}

/**
 * The response headers of a version with a known end: RFC 9745 `Deprecation: @<unix seconds>` (a structured-field
 * Date) from the announced notice, RFC 8594 `Sunset: <HTTP-date>` from its end; null when it has neither.
 */
export function deprecationHeaders(terms: { deprecationNoticeAt: number | null; supportUntil: number | null }): Record<string, string> | null {
  const headers: Record<string, string> = {};
  if (terms.deprecationNoticeAt !== null) headers.deprecation = `@${Math.floor(terms.deprecationNoticeAt / 1000)}`;
  if (terms.supportUntil !== null) headers.sunset = new Date(terms.supportUntil).toUTCString();
  return Object.keys(headers).length > 0 ? headers : null;
}
