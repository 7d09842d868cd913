// The automated decision-making transparency statement of one system, in plain language (APP 1.7–1.9; EU AI Act Art. 14 and 86).
import type { ResolvedSystem } from '../config/systems.js';
import { reviewStatistics, type ReviewStatistics } from '../core/review-stats.js';
import type { DecisionRecord } from './store.js';

export interface TransparencyReport {
  system: string;
  department: string;
  generated_at: string;
  adm_classification: 'solely_automated' | 'substantially_assisted';
  personal_information: {
    /** Feature names sent with decisions or explained by them (never their values). */
    features_used: string[];
    /** Kinds of protected attribute collected only to monitor fairness, never used to score. */
    collected_for_bias_monitoring: string[];
  };
  decisions: {
    total: number;
    final_without_a_person: number;
    signed_off_by_a_person: number;
    awaiting_a_person: number;
    with_explanation: number;
  };
  human_review: {
    outcomes_needing_a_person: string[];
    adverse_outcomes: string[];
    review_window: string;
    reviews: number;
    overrides: number;
    override_rate: number | null;
    median_seconds_to_review: number | null;
    p90_seconds_to_review: number | null;
    automation_bias_warnings: number;
  };
  fairness_monitoring: string | null;
  statement: string[];
}

const percent = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(1)}%`);

/** The report over `decisions` (the system's, newest first); no protected attribute value and no subject appears in it. */
export function transparencyReport(system: ResolvedSystem, decisions: readonly DecisionRecord[], now: number): TransparencyReport {
  const features = new Set<string>();
  for (const decision of decisions) {
    for (const name of Object.keys(decision.features ?? {})) features.add(name);
    for (const name of Object.keys(decision.explanation?.attributions ?? {})) features.add(name);
  }
  const reviewed = decisions.filter((decision) => decision.reviewedAt !== null);
  const stats: ReviewStatistics = reviewStatistics(reviewed.map((decision) => ({
    reviewer: decision.reviewer ?? 'unknown', system: decision.system, overridden: decision.overridden,
    seconds: ((decision.reviewedAt as number) - decision.createdAt) / 1000,
  })));
  const automatic = decisions.filter((decision) => decision.status === 'final' && decision.reviewedAt === null).length;
  const pending = decisions.filter((decision) => decision.status === 'pending_review').length;
  const withExplanation = decisions.filter((decision) => decision.explanation !== null).length;
  const featureList = [...features].sort();
  const protectedKinds = system.fairness ? [system.fairness.attribute] : [];
  const solely = system.adm === 'solely_automated';
  const statement = [
    `${system.name} is an AI system used by the ${system.department} department to help make decisions about people. `
      + (solely
        ? 'It is classified as solely automated: decisions it recommends that are not adverse to the person take effect without a person deciding them.'
        : 'It is classified as substantially assisted: it recommends, and people are substantially involved in the decisions.'),
    featureList.length > 0
      ? `The kinds of personal information it uses to make its recommendations are: ${featureList.join(', ')}.`
      : 'No decision recorded so far named the personal information it used.',
    protectedKinds.length > 0
      ? `Information about ${protectedKinds.join(', ')} is collected only to check that outcomes are fair between groups; it is kept apart from the decision, is not used to score, and only auditors (and administrators) can read it.`
      : 'No protected attribute is collected for this system.',
    `No adverse decision (${system.adverse.join(', ')}) is made without a person: a person must sign off ${system.reviewFor.join(', ')} recommendations within ${system.reviewWindow}, and may decide differently from the model.`,
    `Of ${decisions.length} decisions recorded, ${automatic} took effect without a person, ${reviewed.length} were signed off by a person and ${pending} are waiting for one.`,
    reviewed.length > 0
      ? `People changed the model's recommendation in ${stats.overall.overrides} of ${reviewed.length} reviews (${percent(stats.overall.overrideRate)}); the median time to review was ${stats.overall.medianSeconds?.toFixed(0)} seconds.`
      : 'No decision has been reviewed by a person yet.',
    `${withExplanation} of ${decisions.length} decisions carry an explanation of which information weighed how much`
      + (system.explanationRequired ? ' (required for every decision, and checked to add up to the score).' : '.'),
  ];
  if (system.fairness) {
    statement.push(`Outcomes are compared between groups of ${system.fairness.attribute} over ${system.fairness.window}; if any group's rate of favorable outcomes falls below ${system.fairness.minImpactRatio} of the highest group's, `
      + (system.fairness.onBreach === 'suspend' ? 'automated scoring stops and every decision goes to a person until someone responsible resumes it.' : 'the people responsible are alerted.'));
  }
  statement.push('A person affected by a decision may ask for an explanation of the role the system played in it and of the main elements of the decision.');
  return {
    system: system.name, department: system.department, generated_at: new Date(now).toISOString(), adm_classification: system.adm,
    personal_information: { features_used: featureList, collected_for_bias_monitoring: protectedKinds },
    decisions: { total: decisions.length, final_without_a_person: automatic, signed_off_by_a_person: reviewed.length, awaiting_a_person: pending, with_explanation: withExplanation },
    human_review: {
      outcomes_needing_a_person: system.reviewFor, adverse_outcomes: system.adverse, review_window: system.reviewWindow,
      reviews: stats.overall.reviews, overrides: stats.overall.overrides, override_rate: stats.overall.overrideRate,
      median_seconds_to_review: stats.overall.medianSeconds, p90_seconds_to_review: stats.overall.p90Seconds, automation_bias_warnings: stats.warnings.length,
    },
    fairness_monitoring: system.fairness ? `${system.fairness.attribute}: minimum impact ratio ${system.fairness.minImpactRatio} over ${system.fairness.window} (${system.fairness.onBreach} on breach)` : null,
    statement,
  };
}

/** The report as Markdown, for a privacy policy or an evidence file. */
export function transparencyMarkdown(report: TransparencyReport): string {
  const lines = [
    `# Automated decision-making: ${report.system}`,
    '',
    `Department: ${report.department}. ADM classification: ${report.adm_classification.replace('_', ' ')}. Generated ${report.generated_at}.`,
    '',
    ...report.statement.map((sentence) => `- ${sentence}`),
    '',
    '| | |',
    '| --- | --- |',
    `| Personal information used | ${report.personal_information.features_used.join(', ') || 'none named'} |`,
    `| Decisions final without a person | ${report.decisions.final_without_a_person} of ${report.decisions.total} |`,
    `| Decisions signed off by a person | ${report.decisions.signed_off_by_a_person} |`,
    `| Overrides | ${report.human_review.overrides} (${percent(report.human_review.override_rate)}) |`,
    `| Time to review (median, p90) | ${report.human_review.median_seconds_to_review?.toFixed(0) ?? 'n/a'} s, ${report.human_review.p90_seconds_to_review?.toFixed(0) ?? 'n/a'} s |`,
    '',
    'Prepared for privacy policy updates under the Australian Privacy Principles 1.7–1.9 and as evidence of human oversight (EU AI Act Art. 14) and of the right to an explanation (Art. 86).',
    '',
  ];
  return lines.join('\n');
}
