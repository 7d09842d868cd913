// Group fairness metrics in Fairlearn's vocabulary: per-group rates, impact ratios (four-fifths rule), parity and odds gaps.
import { rateEstimate, type RateEstimate } from './intervals.js';

/** One scored subject: its protected attributes, the model's decision, and the true outcome when known. */
export interface FairnessRecord {
  /** Protected attribute values by name, e.g. { race: 'Caucasian', sex: 'Male' }. */
  attributes: Readonly<Record<string, string>>;
  /** The decision was the favorable (selected) one. */
  predicted: boolean;
  /** The true outcome was the favorable one; undefined or null while the outcome is unknown. */
  actual?: boolean | null;
}

/** Confusion counts over the records whose outcome is known; `selected` and `count` cover every record. */
export interface ConfusionCounts {
  count: number;
  selected: number;
  labelled: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

/** Rates of a confusion table, each with a Wilson interval; null where the denominator is zero. */
export interface ConfusionRates {
  /** P(ŷ=1): selected / count. */
  selectionRate: RateEstimate | null;
  /** Recall, P(ŷ=1 | y=1): TP / (TP + FN). */
  truePositiveRate: RateEstimate | null;
  /** P(ŷ=1 | y=0): FP / (FP + TN). */
  falsePositiveRate: RateEstimate | null;
  /** P(ŷ=0 | y=1): FN / (TP + FN). */
  falseNegativeRate: RateEstimate | null;
  /** P(y=1 | ŷ=1): TP / (TP + FP). */
  precision: RateEstimate | null;
  /** (TP + TN) / labelled. */
  accuracy: RateEstimate | null;
  /** Harmonic mean of precision and recall; null when either is undefined or both are zero. */
  f1: number | null;
}

/** One group (or intersection of groups) and its metrics. */
export interface GroupMetrics extends ConfusionRates {
  /** Display key: the attribute values joined by ' & ', e.g. 'African-American & Male'. */
  key: string;
  /** The attribute values, in the order of the report's attributes. */
  values: string[];
  counts: ConfusionCounts;
  /** This group's share of all records. */
  share: number;
  /** Under the minimum share or size: reported, but left out of ratios and differences. */
  small: boolean;
  /** Selection rate divided by the most-selected eligible group's; null for small groups or when no group is selected. */
  impactRatio: number | null;
}

export interface FairnessOptions {
  /** Groups below this share of all records are small (default 0.02). */
  minGroupShare?: number;
  /** Groups with fewer records are small (default 0). */
  minGroupSize?: number;
  /** The impact ratio below which the four-fifths rule fails (default 0.8). */
  minImpactRatio?: number;
  /** Confidence level of the intervals (default 0.95). */
  confidence?: number;
}

/** The fairness of one breakdown (one attribute, or the intersection of several). */
export interface FairnessReport {
  attributes: string[];
  total: number;
  groups: GroupMetrics[];
  /** Keys of the groups left out of the comparisons as small. */
  smallGroups: string[];
  /** The most-selected eligible group: the impact ratios' denominator. */
  referenceGroup: string | null;
  /** Fairlearn demographic_parity_difference: largest minus smallest selection rate. */
  demographicParityDifference: number | null;
  /** Fairlearn demographic_parity_ratio: smallest over largest selection rate. */
  demographicParityRatio: number | null;
  /** Fairlearn equalized_odds_difference: the greater of the TPR and FPR differences (largest minus smallest). */
  equalizedOddsDifference: number | null;
  /** Fairlearn true_positive_rate_difference, also called the equal opportunity difference. */
  equalOpportunityDifference: number | null;
  truePositiveRateDifference: number | null;
  falsePositiveRateDifference: number | null;
  minimumImpactRatio: number | null;
  /** The group with the lowest impact ratio. */
  minimumImpactGroup: string | null;
  minImpactRatioThreshold: number;
  /** No eligible group's impact ratio is below the threshold. */
  passesFourFifths: boolean;
}

/** Confusion counts of records; those without a known outcome count towards `count` and `selected` only. */
export function confusionCounts(records: Iterable<Pick<FairnessRecord, 'predicted' | 'actual'>>): ConfusionCounts {
  const counts: ConfusionCounts = { count: 0, selected: 0, labelled: 0, truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  for (const { predicted, actual } of records) {
    counts.count += 1;
    if (predicted) counts.selected += 1;
    if (actual === undefined || actual === null) continue;
    counts.labelled += 1;
    if (predicted && actual) counts.truePositives += 1;
    else if (predicted) counts.falsePositives += 1;
    else if (actual) counts.falseNegatives += 1;
    else counts.trueNegatives += 1;
  }
  return counts;
}

/** The rates of a confusion table with Wilson intervals at `confidence`. */
export function confusionRates(counts: ConfusionCounts, confidence = 0.95): ConfusionRates {
  const { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } = counts;
  const precision = rateEstimate(tp, tp + fp, confidence);
  const recall = rateEstimate(tp, tp + fn, confidence);
  const f1 = precision && recall && precision.value + recall.value > 0
    ? (2 * precision.value * recall.value) / (precision.value + recall.value) : null;
  return {
    selectionRate: rateEstimate(counts.selected, counts.count, confidence),
    truePositiveRate: recall,
    falsePositiveRate: rateEstimate(fp, fp + tn, confidence),
    falseNegativeRate: rateEstimate(fn, tp + fn, confidence),
    precision,
    accuracy: rateEstimate(tp + tn, counts.labelled, confidence),
    f1,
  };
}

/** The display key of a group's attribute values. */
export function groupKey(values: readonly string[]): string {
  return values.join(' & ');
}

function spread(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return Math.max(...values) - Math.min(...values);
}

function defined(estimates: readonly (RateEstimate | null)[]): number[] {
  return estimates.filter((estimate): estimate is RateEstimate => estimate !== null).map((estimate) => estimate.value);
}

/**
 * The fairness report of `records` grouped by the values of `attributes` (one attribute, or several for their
 * intersection). Groups are sorted by size, largest first.
 * @example fairnessReport(records, ['race'], { minGroupShare: 0.02 }).passesFourFifths
 */
export function fairnessReport(records: readonly FairnessRecord[], attributes: readonly string[], options: FairnessOptions = {}): FairnessReport {
  if (attributes.length === 0) throw new RangeError('fairnessReport needs at least one attribute');
  const minGroupShare = options.minGroupShare ?? 0.02;
  const minGroupSize = options.minGroupSize ?? 0;
  const threshold = options.minImpactRatio ?? 0.8;
  const confidence = options.confidence ?? 0.95;

  const byKey = new Map<string, { values: string[]; records: FairnessRecord[] }>();
  for (const record of records) {
    const values = attributes.map((attribute) => record.attributes[attribute] ?? '');
    const key = groupKey(values);
    let group = byKey.get(key);
    if (!group) byKey.set(key, (group = { values, records: [] }));
    group.records.push(record);
  }
  const total = records.length;
  const groups: GroupMetrics[] = [...byKey.entries()].map(([key, group]) => {
    const counts = confusionCounts(group.records);
    const share = total === 0 ? 0 : counts.count / total;
    return { key, values: group.values, counts, share, small: share < minGroupShare || counts.count < minGroupSize, impactRatio: null, ...confusionRates(counts, confidence) };
  });
  groups.sort((left, right) => right.counts.count - left.counts.count || left.key.localeCompare(right.key));

  const eligible = groups.filter((group) => !group.small);
  const selectionRates = defined(eligible.map((group) => group.selectionRate));
  let referenceGroup: string | null = null;
  let highest = 0;
  for (const group of eligible) {
    const rate = group.selectionRate?.value ?? 0;
    if (referenceGroup === null || rate > highest) { referenceGroup = group.key; highest = rate; }
  }
  let minimumImpactRatio: number | null = null;
  let minimumImpactGroup: string | null = null;
  if (highest > 0) {
    for (const group of eligible) {
      group.impactRatio = (group.selectionRate?.value ?? 0) / highest;
      if (minimumImpactRatio === null || group.impactRatio < minimumImpactRatio) {
        minimumImpactRatio = group.impactRatio;
        minimumImpactGroup = group.key;
      }
    }
  }
  const truePositiveRateDifference = spread(defined(eligible.map((group) => group.truePositiveRate)));
  const falsePositiveRateDifference = spread(defined(eligible.map((group) => group.falsePositiveRate)));
  const oddsGaps = [truePositiveRateDifference, falsePositiveRateDifference].filter((gap): gap is number => gap !== null);
  const smallest = selectionRates.length > 0 ? Math.min(...selectionRates) : null;
  return {
    attributes: [...attributes],
    total,
    groups,
    smallGroups: groups.filter((group) => group.small).map((group) => group.key),
    referenceGroup,
    demographicParityDifference: spread(selectionRates),
    demographicParityRatio: smallest === null || highest === 0 ? null : smallest / highest,
    equalizedOddsDifference: oddsGaps.length === 0 ? null : Math.max(...oddsGaps),
    equalOpportunityDifference: truePositiveRateDifference,
    truePositiveRateDifference,
    falsePositiveRateDifference,
    minimumImpactRatio,
    minimumImpactGroup,
    minImpactRatioThreshold: threshold,
    passesFourFifths: minimumImpactRatio === null || minimumImpactRatio >= threshold,
  };
}

/**
 * A report per attribute and, when there are several, one for their intersection (all attributes together).
 * @example fairnessAudit(records, ['race', 'sex']) // reports for race, sex and race & sex
 */
export function fairnessAudit(records: readonly FairnessRecord[], attributes: readonly string[], options: FairnessOptions = {}): FairnessReport[] {
  const reports = attributes.map((attribute) => fairnessReport(records, [attribute], options));
  if (attributes.length > 1) reports.push(fairnessReport(records, attributes, options));
  return reports;
}
