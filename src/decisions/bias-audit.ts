// The bias audit of stored decisions, shared by `covenant bias audit` and GET /admin/systems/:name/bias-audit.
import { fairnessAudit, type FairnessRecord, type FairnessReport } from '../core/fairness.js';
import type { RateEstimate } from '../core/intervals.js';

/** What the audit looked at, for the report's header. */
export interface AuditDescription {
  source: string;
  prediction: string;
  label: string | null;
  records: number;
  filtered: number;
  minGroupShare: number;
  confidence: number;
}

export interface BiasAudit {
  description: AuditDescription;
  reports: FairnessReport[];
  /** Every breakdown passes the four-fifths rule (or the minimum impact ratio given). */
  passes: boolean;
}

export interface AuditSettings {
  /** Groups under this share of records are reported but left out of ratios. */
  minGroupShare: number;
  /** Groups with fewer records are left out of ratios too (the admin API withholds them). */
  minGroupSize?: number;
  minImpactRatio: number;
  confidence: number;
}

/** A report per attribute (and their intersection), with the verdict over all of them. */
export function biasAudit(records: readonly FairnessRecord[], groups: readonly string[], about: Omit<AuditDescription, 'records' | 'minGroupShare' | 'confidence'>, settings: AuditSettings): BiasAudit {
  const reports = fairnessAudit(records, groups, settings);
  return {
    description: { source: about.source, prediction: about.prediction, label: about.label, records: records.length, filtered: about.filtered, minGroupShare: settings.minGroupShare, confidence: settings.confidence },
    reports,
    passes: reports.every((report) => report.passesFourFifths),
  };
}

/** A decision as GET /admin/systems/:name/decisions?include=protected answers it. */
export interface StoredDecision {
  id: string;
  system: string;
  recommendation: string | number | null;
  final_outcome?: string | number | null;
  outcome?: string | number | boolean | null;
  protected?: Record<string, string | number | boolean | null> | null;
}

function cellOf(value: string | number | boolean | null | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}

/**
 * Records from stored decisions: groups from `protected`, the prediction from the final outcome (else the model's
 * recommendation), the label from the ground-truth `outcome` (unknown while it has not arrived); `favorable` judges an
 * outcome. Decisions without any of the group attributes are left out and counted.
 */
export function recordsFromDecisions(decisions: readonly StoredDecision[], groups: readonly string[], favorable: (outcome: string) => boolean): { records: FairnessRecord[]; filtered: number } {
  const records: FairnessRecord[] = [];
  let filtered = 0;
  for (const decision of decisions) {
    const attributes = decision.protected ?? {};
    if (!groups.every((group) => cellOf(attributes[group]) !== '')) { filtered += 1; continue; }
    const decided = cellOf(decision.final_outcome) || cellOf(decision.recommendation);
    const outcome = cellOf(decision.outcome);
    records.push({
      attributes: Object.fromEntries(groups.map((group) => [group, cellOf(attributes[group])])),
      predicted: favorable(decided),
      actual: outcome === '' ? null : favorable(outcome),
    });
  }
  return { records, filtered };
}

/** The protected attribute names the decisions carry, in first-seen order. */
export function protectedAttributes(decisions: readonly StoredDecision[]): string[] {
  const names = new Set<string>();
  for (const decision of decisions) for (const name of Object.keys(decision.protected ?? {})) names.add(name);
  return [...names];
}

function rate(estimate: RateEstimate | null) {
  return estimate === null ? null : { value: estimate.value, lower: estimate.lower, upper: estimate.upper, successes: estimate.successes, trials: estimate.trials };
}

/**
 * The admin API's answer: each breakdown's groups with their rates and Wilson intervals, the impact ratios and the
 * four-fifths verdict. Groups under `minGroupSize` are withheld, only counted, as the live monitor's evidence does.
 */
export function biasAuditAnswer(audit: BiasAudit, minGroupSize: number): Record<string, unknown> {
  const { description } = audit;
  return {
    decisions: description.records, filtered: description.filtered, prediction: description.prediction, label: description.label,
    min_group_share: description.minGroupShare, min_group_size: minGroupSize, confidence: description.confidence, passes: audit.passes,
    reports: audit.reports.map((report) => {
      const withheld = report.groups.filter((group) => group.counts.count < minGroupSize);
      return {
        attributes: report.attributes, verdict: report.passesFourFifths ? 'pass' : 'fail', min_impact_ratio: report.minImpactRatioThreshold,
        minimum_impact_ratio: report.minimumImpactRatio, minimum_impact_group: report.minimumImpactGroup, reference_group: report.referenceGroup,
        demographic_parity_difference: report.demographicParityDifference, demographic_parity_ratio: report.demographicParityRatio,
        equalized_odds_difference: report.equalizedOddsDifference, equal_opportunity_difference: report.equalOpportunityDifference,
        false_positive_rate_difference: report.falsePositiveRateDifference,
        groups: report.groups.filter((group) => group.counts.count >= minGroupSize).map((group) => ({
          group: group.key, values: group.values, count: group.counts.count, selected: group.counts.selected, labelled: group.counts.labelled,
          share: group.share, small: group.small, impact_ratio: group.impactRatio, selection_rate: rate(group.selectionRate),
          true_positive_rate: rate(group.truePositiveRate), false_positive_rate: rate(group.falsePositiveRate),
          false_negative_rate: rate(group.falseNegativeRate), precision: rate(group.precision),
        })),
        withheld: { groups: withheld.length, decisions: withheld.reduce((sum, group) => sum + group.counts.count, 0) },
      };
    }),
  };
}
