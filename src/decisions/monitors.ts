// Live monitors over a system's rolling window: parity of final outcomes (suspends scoring) and performance SLAs (retraining trigger).
import type { ResolvedSystem } from '../config/systems.js';
import { isFavorable } from '../core/decision-policy.js';
import { confusionCounts, confusionRates, fairnessReport, type FairnessRecord, type FairnessReport } from '../core/fairness.js';
import { rateEstimate, type RateEstimate } from '../core/intervals.js';
import type { DecisionRecord, DecisionStore } from './store.js';

/** Enough rows for any realistic window; a system with more decisions per window needs sampling, not this. */
const windowLimit = 100_000;

/** The parity of a system's final outcomes over its fairness window (decisions finalized since the last resumption only). */
export async function parityReport(store: DecisionStore, system: ResolvedSystem, now: number): Promise<{ report: FairnessReport; since: number } | null> {
  const fairness = system.fairness;
  if (!fairness) return null;
  const resumed = (await store.lastSuspension(system.name))?.resumedAt;
  // Decisions finalized strictly after the resumption: the person who lifted it judged the ones before.
  const since = Math.max(now - fairness.windowMs, resumed === null || resumed === undefined ? 0 : resumed + 1);
  const decisions = await store.list({ system: system.name, status: 'final', finalizedSince: since, limit: windowLimit });
  const attributes = await store.protectedOf(decisions.map((decision) => decision.id));
  const records: FairnessRecord[] = [];
  for (const decision of decisions) {
    const value = attributes.get(decision.id)?.[fairness.attribute];
    if (value === undefined) continue;
    records.push({ attributes: { [fairness.attribute]: value }, predicted: isFavorable(decision.finalOutcome ?? '', system.adverse) });
  }
  const report = fairnessReport(records, [fairness.attribute], { minGroupSize: fairness.minGroupSize, minGroupShare: 0, minImpactRatio: fairness.minImpactRatio });
  return { report, since };
}

/**
 * What a parity breach records: aggregates of the groups compared (none is one person's attribute), small groups only
 * counted. Null while the system is within its bounds.
 */
export function parityBreach(system: ResolvedSystem, report: FairnessReport, since: number, now: number): Record<string, unknown> | null {
  if (report.passesFourFifths || report.minimumImpactRatio === null) return null;
  const compared = report.groups.filter((group) => !group.small);
  return {
    attribute: report.attributes[0], min_impact_ratio: system.fairness?.minImpactRatio, impact_ratio: report.minimumImpactRatio,
    lowest_group: report.minimumImpactGroup, reference_group: report.referenceGroup,
    window: system.fairness?.window, window_start: new Date(since).toISOString(), window_end: new Date(now).toISOString(),
    decisions: report.total, small_groups: report.smallGroups.length, min_group_size: system.fairness?.minGroupSize,
    demographic_parity_difference: report.demographicParityDifference,
    groups: compared.map((group) => ({
      group: group.key, count: group.counts.count, selected: group.counts.selected, selection_rate: group.selectionRate?.value ?? null,
      impact_ratio: group.impactRatio,
    })),
  };
}

export interface MetricReading {
  metric: 'precision' | 'recall' | 'f1' | 'accuracy' | 'hallucination_rate';
  modelVersion: string;
  value: number;
  threshold: number;
  /** True when below a minimum (or above the maximum hallucination rate). */
  breached: boolean;
  estimate: RateEstimate | null;
  counts: Record<string, number>;
}

export interface PerformanceReport {
  since: number;
  until: number;
  versions: {
    modelVersion: string;
    labelled: number;
    counts: ReturnType<typeof confusionCounts>;
    rates: ReturnType<typeof confusionRates>;
    hallucination: RateEstimate | null;
  }[];
}

/**
 * Precision, recall, F1 and accuracy of the model's recommendations against the ground truth, with Wilson intervals, per
 * model version over the SLA window; the positive class is the outcome favorable to the person (as in the bias audit).
 * The hallucination rate is over the decisions a reviewer (or the outcome) labelled.
 */
export async function performanceReport(store: DecisionStore, system: ResolvedSystem, windowMs: number, now: number): Promise<PerformanceReport> {
  const since = now - windowMs;
  const decisions = await store.list({ system: system.name, since, limit: windowLimit });
  const byVersion = new Map<string, DecisionRecord[]>();
  for (const decision of decisions) {
    const group = byVersion.get(decision.modelVersion);
    if (group) group.push(decision);
    else byVersion.set(decision.modelVersion, [decision]);
  }
  const versions = [...byVersion].sort(([left], [right]) => left.localeCompare(right)).map(([modelVersion, group]) => {
    const counts = confusionCounts(group.filter((decision) => decision.outcome !== null).map((decision) => ({
      predicted: isFavorable(decision.recommendation, system.adverse), actual: isFavorable(decision.outcome as string, system.adverse),
    })));
    const labelledHallucination = group.filter((decision) => decision.hallucinated !== null);
    return {
      modelVersion, labelled: counts.labelled, counts, rates: confusionRates(counts),
      hallucination: rateEstimate(labelledHallucination.filter((decision) => decision.hallucinated).length, labelledHallucination.length),
    };
  });
  return { since, until: now, versions };
}

/** Each configured SLA metric of each version with enough labelled decisions, and whether it is out of bounds. */
export function slaReadings(system: ResolvedSystem, report: PerformanceReport): MetricReading[] {
  const sla = system.sla;
  if (!sla) return [];
  const readings: MetricReading[] = [];
  for (const version of report.versions) {
    const confusion = {
      labelled: version.counts.labelled, true_positives: version.counts.truePositives, false_positives: version.counts.falsePositives,
      true_negatives: version.counts.trueNegatives, false_negatives: version.counts.falseNegatives,
    };
    const minimums: [MetricReading['metric'], number | null, RateEstimate | null, number | null][] = [
      ['precision', sla.minPrecision, version.rates.precision, version.rates.precision?.value ?? null],
      ['recall', sla.minRecall, version.rates.truePositiveRate, version.rates.truePositiveRate?.value ?? null],
      ['f1', sla.minF1, null, version.rates.f1],
      ['accuracy', sla.minAccuracy, version.rates.accuracy, version.rates.accuracy?.value ?? null],
    ];
    if (version.labelled >= sla.minSamples) {
      for (const [metric, threshold, estimate, value] of minimums) {
        if (threshold === null || value === null) continue;
        readings.push({ metric, modelVersion: version.modelVersion, value, threshold, breached: value < threshold, estimate, counts: confusion });
      }
    }
    const hallucination = version.hallucination;
    if (sla.maxHallucinationRate !== null && hallucination && hallucination.trials >= sla.minSamples) {
      readings.push({
        metric: 'hallucination_rate', modelVersion: version.modelVersion, value: hallucination.value, threshold: sla.maxHallucinationRate,
        breached: hallucination.value > sla.maxHallucinationRate, estimate: hallucination,
        counts: { labelled: hallucination.trials, hallucinated: hallucination.successes },
      });
    }
  }
  return readings;
}
