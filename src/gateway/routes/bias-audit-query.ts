// GET /admin/systems/:name/bias-audit's query: attributes, the time window, the favorable outcome and the CLI's thresholds.
import type { ResolvedSystem } from '../../config/systems.js';
import { isFavorable, normalizeOutcome } from '../../core/decision-policy.js';
import { CovenantError } from '../../core/errors.js';
import type { AuditSettings } from '../../decisions/bias-audit.js';

/** The config schema's default `min_group_size`, for systems without a fairness monitor. */
const defaultMinGroupSize = 30;

export interface BiasAuditQuery {
  attributes: string[];
  from: number | undefined;
  to: number | undefined;
  favorable: (outcome: string) => boolean;
  prediction: string;
  settings: AuditSettings & { minGroupSize: number };
}

function time(text: unknown, param: string): number | undefined {
  if (text === undefined) return undefined;
  const value = typeof text === 'string' ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(value)) throw new CovenantError('invalid_request', `${param} must be an ISO 8601 time.`, { param });
  return value;
}

function fraction(text: unknown, param: string, fallback: number, { open }: { open: boolean }): number {
  if (text === undefined) return fallback;
  const value = typeof text === 'string' && text.trim() !== '' ? Number(text) : Number.NaN;
  const ok = Number.isFinite(value) && (open ? value > 0 && value < 1 : value >= 0 && value <= 1);
  if (!ok) throw new CovenantError('invalid_request', `${param} must be a number ${open ? 'between 0 and 1' : 'from 0 to 1'}.`, { param });
  return value;
}

/**
 * Defaults: the system's monitored attribute, its minimum impact ratio and group size; favorable means not adverse
 * under the system's policy; the CLI's minimum group share (0.02) and 95% intervals.
 */
export function parseBiasAuditQuery(query: Record<string, unknown>, system: ResolvedSystem): BiasAuditQuery {
  const given = query.attribute === undefined ? [] : [query.attribute].flat();
  const attributes = given.length > 0 ? given.map(String).map((name) => name.trim()) : system.fairness ? [system.fairness.attribute] : [];
  if (attributes.length === 0 || attributes.some((name) => name === '')) {
    throw new CovenantError('invalid_request', `attribute is required: ${system.name} has no fairness monitor naming one.`, { param: 'attribute' });
  }
  const from = time(query.from, 'from');
  const to = time(query.to, 'to');
  if (from !== undefined && to !== undefined && to <= from) throw new CovenantError('invalid_request', 'to must be after from.', { param: 'to' });
  const favorableText = typeof query.favorable === 'string' && query.favorable.trim() !== '' ? normalizeOutcome(query.favorable) : undefined;
  return {
    attributes, from, to,
    favorable: favorableText === undefined ? (outcome) => isFavorable(outcome, system.adverse) : (outcome) => normalizeOutcome(outcome) === favorableText,
    prediction: `final outcome (else recommendation) ${favorableText === undefined ? `not one of ${system.adverse.join(', ')}` : `= ${favorableText}`}`,
    settings: {
      minGroupShare: fraction(query.min_group_share, 'min_group_share', 0.02, { open: false }),
      minImpactRatio: fraction(query.min_impact_ratio, 'min_impact_ratio', system.fairness?.minImpactRatio ?? 0.8, { open: false }),
      confidence: fraction(query.confidence, 'confidence', 0.95, { open: true }),
      minGroupSize: system.fairness?.minGroupSize ?? defaultMinGroupSize,
    },
  };
}
