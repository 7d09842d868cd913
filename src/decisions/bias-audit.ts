// The bias audit of stored decisions, shared by `covenant bias audit` and GET /admin/systems/:name/bias-audit.
import { fairnessAudit, type FairnessRecord, type FairnessReport } from '../core/fairness.js';

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
