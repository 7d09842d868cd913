// The config's `systems:` list made ready to use: each AI system's review, explanation, ADM, fairness and SLA policy.
import type { SystemConfig } from './schema.js';
import { durationMs as parseDuration } from '../core/burn-rate.js';

/** The schema accepted the text as a duration. */
const durationMs = (text: string): number => parseDuration(text) as number;

/** Outcomes adverse to the person decided about unless a system names its own. */
export const defaultAdverseOutcomes = ['reject', 'deny', 'decline'] as const;

export interface ResolvedFairness {
  attribute: string;
  minImpactRatio: number;
  windowMs: number;
  window: string;
  minGroupSize: number;
  onBreach: 'suspend' | 'alert';
}

export interface ResolvedSla {
  minPrecision: number | null;
  minRecall: number | null;
  minF1: number | null;
  minAccuracy: number | null;
  maxHallucinationRate: number | null;
  windowMs: number;
  window: string;
  minSamples: number;
  retrainWebhook: string | null;
}

export interface ResolvedSystem {
  name: string;
  department: string;
  /** Outcomes adverse to the person (lower-cased). */
  adverse: string[];
  /** Outcomes a person must sign off (lower-cased): the configured ones and every adverse one. */
  reviewFor: string[];
  reviewWindowMs: number;
  reviewWindow: string;
  explanationRequired: boolean;
  explanationTolerance: number;
  adm: 'solely_automated' | 'substantially_assisted';
  fairness: ResolvedFairness | null;
  sla: ResolvedSla | null;
}

const lower = (values: readonly string[]) => [...new Set(values.map((value) => value.trim().toLowerCase()))];

export function resolveSystem(system: SystemConfig): ResolvedSystem {
  const adverse = lower(system.review.adverse ?? defaultAdverseOutcomes);
  return {
    name: system.name,
    department: system.department,
    adverse,
    // No automated rejections: an adverse outcome always waits for a person, whatever required_for lists.
    reviewFor: lower([...(system.review.required_for ?? []), ...adverse]),
    reviewWindowMs: durationMs(system.review.window),
    reviewWindow: system.review.window,
    explanationRequired: system.explanation.required,
    explanationTolerance: system.explanation.tolerance,
    adm: system.adm,
    fairness: system.fairness ? {
      attribute: system.fairness.attribute, minImpactRatio: system.fairness.min_impact_ratio, windowMs: durationMs(system.fairness.window),
      window: system.fairness.window, minGroupSize: system.fairness.min_group_size, onBreach: system.fairness.on_breach,
    } : null,
    sla: system.sla ? {
      minPrecision: system.sla.min_precision ?? null, minRecall: system.sla.min_recall ?? null, minF1: system.sla.min_f1 ?? null,
      minAccuracy: system.sla.min_accuracy ?? null, maxHallucinationRate: system.sla.max_hallucination_rate ?? null,
      windowMs: durationMs(system.sla.window), window: system.sla.window, minSamples: system.sla.min_samples,
      retrainWebhook: system.sla.retrain_webhook ?? null,
    } : null,
  };
}

export function resolveSystems(systems: readonly SystemConfig[]): Map<string, ResolvedSystem> {
  return new Map(systems.map((system) => [system.name, resolveSystem(system)]));
}
