// The Build / Partner / Buy / Invest decision tree and what each strategy asks of operations, contracts and Covenant's policies.
import type { ClauseId } from './clause-ids.js';

export type Strategy = 'BUILD' | 'PARTNER' | 'BUY' | 'INVEST';

export interface SourcingAnswers {
  /** Is the capability a competitive differentiator (not a commodity)? */
  differentiator: boolean;
  /** Does the enterprise hold proprietary data that others cannot get (a data moat)? */
  data_moat: boolean;
  /** Does speed to market matter more than control? */
  speed_priority: boolean;
}

export interface SourcingGuidance {
  strategy: Strategy;
  /** Why the tree led here, in one sentence. */
  reason: string;
  operational_focus: string[];
  trade_offs: string[];
  clauses: ClauseId[];
  policies: string[];
}

/**
 * The decision tree: differentiator with a data moat → BUILD; differentiator without one → PARTNER;
 * a commodity where speed matters → BUY; otherwise (a commodity with time to spare) → INVEST.
 */
export function decideStrategy(answers: SourcingAnswers): Strategy {
  if (answers.differentiator) return answers.data_moat ? 'BUILD' : 'PARTNER';
  return answers.speed_priority ? 'BUY' : 'INVEST';
}

const guidance: Record<Strategy, Omit<SourcingGuidance, 'strategy' | 'reason'>> = {
  BUILD: {
    operational_focus: [
      'Own the model lifecycle: fine-tune on your proprietary data, keep the weights and the training data lineage in-house.',
      'Run a version registry with staging, promotion and rollback; pin every production alias to a version.',
      'Staff MLOps: golden-dataset regression, live drift monitoring, retraining triggers.',
    ],
    trade_offs: [
      'Highest control and defensibility; the data moat compounds.',
      'Highest cost and slowest to market; you carry the talent, compute and maintenance risk.',
      'Foundation-model providers remain suppliers: their version changes still reach you.',
    ],
    clauses: ['weight_ownership', 'weight_export', 'no_training', 'data_ownership', 'version_support', 'change_notice', 'rollback', 'version_registry'],
    policies: [
      'models: pin each alias to an upstream version; promote through staging keys (route: mock) before production.',
      'budgets: department budgets for training and evaluation traffic with alerts at 50/80/100%.',
      'ledger: every model.changed, model.promoted and model.rolled_back is evidence for the weight-ownership audit.',
    ],
  },
  PARTNER: {
    operational_focus: [
      'Co-develop with a specialised vendor: joint roadmap, milestone payments, an exclusive licence back.',
      'Integrate the partner\'s model behind the gateway so your keys, budgets and evidence apply to it.',
      'Make the partner\'s explanations and performance measurable by you, not only reported by them.',
    ],
    trade_offs: [
      'Faster than building, and the differentiator stays yours if weights and derived data are jointly owned.',
      'Dependence on one partner: negotiate export of weights and a penalty-free exit up front.',
      'Shared governance costs: joint reviews, audits and change control.',
    ],
    clauses: ['weight_ownership', 'weight_export', 'explainability', 'performance_sla', 'drift_definition', 'change_notice', 'staging_access', 'rollback', 'liability_caps'],
    policies: [
      'systems: explanations required for every decision, checked for local accuracy.',
      'models: the partner\'s versions pinned; changes only after staging and the contractual notice period.',
      'drift: thresholds from the contract\'s drift definition (similarity, variance, safety-failure rate).',
    ],
  },
  BUY: {
    operational_focus: [
      'Buy a commodity capability off the shelf and treat the vendor as a low-privilege participant.',
      'Put the vendor behind the gateway with least-privilege keys (only its models), hard spend caps and tenant isolation.',
      'Plan the exit on day one: data export format, portability request process, a second vendor tested.',
    ],
    trade_offs: [
      'Fastest and cheapest to start; no differentiation.',
      'Lock-in and silent model changes are the main risks: contract for notice, version support and portability.',
      'The vendor\'s data use must be constrained in writing (no training on your prompts or logs).',
    ],
    clauses: ['no_training', 'data_ownership', 'exit_portability', 'spend_caps', 'change_notice', 'version_support', 'liability_caps', 'privacy_cooperation'],
    policies: [
      'keys: the vendor\'s key may use only its aliases, with rate limits and a worst-case cost cap per request.',
      'budgets: hard daily and monthly caps per department; alerts before they are reached.',
      'retention: content none for departments that send personal information.',
    ],
  },
  INVEST: {
    operational_focus: [
      'Take a stake in (or fund) an emerging provider of a capability that is not yet a differentiator but is not urgent either.',
      'Run it as a pilot behind the gateway with small budgets and staging keys while the market matures.',
      'Set milestones that convert the investment into preferred terms: licence, roadmap influence, data protections.',
    ],
    trade_offs: [
      'Option value and influence at moderate cost; the capability may later become BUY or PARTNER.',
      'Immature vendors: weaker SLAs and support; keep the blast radius small.',
      'Capital at risk if the provider fails: escrow of weights and data is the hedge.',
    ],
    clauses: ['weight_export', 'exit_portability', 'no_training', 'data_ownership', 'version_support', 'change_notice', 'liability_caps'],
    policies: [
      'keys: pilot keys with small budgets, staging routing for evaluation, rate limits.',
      'budgets: a fixed pilot budget per department with burn-rate alerts.',
      'ledger: pilot usage and incidents kept as evidence for the investment review.',
    ],
  },
};

const reasons: Record<Strategy, string> = {
  BUILD: 'A differentiator backed by a data moat: owning the model turns the proprietary data into lasting advantage.',
  PARTNER: 'A differentiator without a data moat: co-develop with a specialist and secure ownership of what is derived.',
  BUY: 'A commodity where speed matters: buy off the shelf and constrain the vendor by contract and gateway policy.',
  INVEST: 'A commodity where speed does not matter: invest in an emerging provider and keep options open.',
};

/** The strategy with its operational focus, trade-offs, required contract clauses and Covenant policies. */
export function sourcingGuidance(answers: SourcingAnswers): SourcingGuidance {
  const strategy = decideStrategy(answers);
  return { strategy, reason: reasons[strategy], ...guidance[strategy] };
}

/** Parse a yes/no answer as typed on the command line or in JSON. */
export function parseYesNo(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (['yes', 'y', 'true'].includes(text)) return true;
  if (['no', 'n', 'false'].includes(text)) return false;
  return undefined;
}
