// Blueprint policy packs A–E: each typical workload as concrete Covenant settings, a `systems:` config entry and its required clauses.
import { blueprintClauses, defaultRequirements, type BlueprintId, type ClauseId, type ClauseRequirement } from './clause-ids.js';
import type { Strategy } from './decision.js';

export interface BlueprintSetting {
  /** Where it lives: a config path, a gateway feature, or a process. */
  setting: string;
  value: string;
  why: string;
}

/** The decision-oversight policy of one system, in the config's `systems:` shape. */
export interface SystemPolicy {
  review?: { required_for: string[]; window: string };
  explanation?: { required: boolean; tolerance: number };
  adm?: 'solely_automated' | 'substantially_assisted';
  fairness?: { attribute: string; min_impact_ratio: number; window: string; min_group_size: number; on_breach: 'suspend' | 'alert' };
  sla?: { min_precision?: number; min_recall?: number; max_hallucination_rate?: number; window: string };
}

export interface Blueprint {
  id: BlueprintId;
  title: string;
  workload: string;
  strategy: Strategy;
  summary: string;
  settings: BlueprintSetting[];
  policy: SystemPolicy;
  /** Settings of the system's department, in the config's department shape (only fields the config has). */
  department: { retention?: { content: 'none' } };
  clauses: readonly ClauseId[];
}

const blueprints: Record<BlueprintId, Omit<Blueprint, 'id' | 'clauses'>> = {
  A: {
    title: 'Risk underwriting', workload: 'underwriting models fine-tuned on the insurer\'s loss history', strategy: 'PARTNER',
    summary: 'A strategic partnership: jointly owned fine-tuned weights, an exclusive licence back, milestone payouts.',
    settings: [
      { setting: 'contract: weight ownership', value: 'jointly owned derived weights, exclusive licence back', why: 'the fine-tune is built on your loss data' },
      { setting: 'contract: weight export', value: 'safetensors or ONNX within 10 business days', why: 'portability if the partnership ends' },
      { setting: 'models[].version', value: 'pinned per alias; promotions through staging', why: 'an immutable version registry backs every decision' },
      { setting: 'rollback', value: 'to the last known-stable version within 24 hours', why: 'a bad version must not keep pricing risk' },
      { setting: 'drift', value: 'similarity ≥ 0.95, variance ≤ 15%, no safety failures', why: 'the contract\'s material-drift definition' },
    ],
    policy: {
      review: { required_for: ['reject'], window: '72h' },
      explanation: { required: true, tolerance: 0.01 },
      adm: 'substantially_assisted',
      sla: { min_precision: 0.9, min_recall: 0.8, window: '30d' },
    },
    department: {},
  },
  B: {
    title: 'Policy administration', workload: 'an off-the-shelf policy administration suite with embedded AI', strategy: 'BUY',
    summary: 'Bought off the shelf: the vendor is a low-privilege participant, no training on logs, penalty-free exit with data portability.',
    settings: [
      { setting: 'keys', value: 'the vendor\'s key may use only its aliases, with rate limits and per-request cost caps', why: 'a low-privilege participant' },
      { setting: 'budgets', value: 'hard daily and monthly caps for the department', why: 'spend caps in the contract are enforced, not promised' },
      { setting: 'contract: no training', value: 'no training or refinement on prompts, outputs or logs', why: 'your data must not improve a competitor\'s product' },
      { setting: 'contract: exit', value: 'penalty-free exit with export of your data in open formats', why: 'anti-lock-in' },
    ],
    policy: { adm: 'substantially_assisted' },
    department: {},
  },
  C: {
    title: 'Claims triage', workload: 'claims triage models that recommend approve, investigate or reject', strategy: 'PARTNER',
    summary: 'Partner and integrate: explanations (SHAP/LIME values) exposed, no automated rejections, a human review window built in.',
    settings: [
      { setting: 'systems[].review', value: 'a person reviews every adverse (reject) recommendation within 48h', why: 'no automated rejections' },
      { setting: 'systems[].explanation', value: 'required for every decision; attributions sum to score minus base value (tolerance 0.01)', why: 'explanations are checked, not trusted' },
      { setting: 'systems[].adm', value: 'substantially_assisted', why: 'APP 1.7 and EU AI Act Art. 14 transparency' },
      { setting: 'systems[].sla', value: 'precision ≥ 0.9, recall ≥ 0.8 over 30 days; retraining below', why: 'the contract\'s performance SLA' },
      { setting: 'override log', value: 'every reviewer override recorded with rationale', why: 'human agency versus algorithmic influence' },
    ],
    policy: {
      review: { required_for: ['reject'], window: '48h' },
      explanation: { required: true, tolerance: 0.01 },
      adm: 'substantially_assisted',
      sla: { min_precision: 0.9, min_recall: 0.8, window: '30d' },
    },
    department: {},
  },
  D: {
    title: 'Advisor enablement', workload: 'assistants for financial advisors over client data', strategy: 'BUY',
    summary: 'Buy and orchestrate: every prompt isolated per tenant and excluded from upstream model refinement.',
    settings: [
      { setting: 'org.departments[].retention.content', value: 'none', why: 'prompts and outputs are not kept; the ledger holds hashes only' },
      { setting: 'tenant isolation', value: 'one department per tenant; department-scoped keys and admin keys', why: 'every prompt isolated per tenant' },
      { setting: 'contract: no training', value: 'prompts excluded from upstream model refinement', why: 'client data must not leave the tenant' },
      { setting: 'budgets', value: 'per-tenant budgets and rate limits', why: 'one tenant cannot exhaust another\'s capacity' },
    ],
    policy: { adm: 'substantially_assisted' },
    department: { retention: { content: 'none' } },
  },
  E: {
    title: 'Recruitment', workload: 'résumé screening and candidate scoring', strategy: 'BUY',
    summary: 'Buy and audit: differential performance testing across protected classes before deployment, a bias-audit trigger that can suspend scoring.',
    settings: [
      { setting: 'systems[].fairness', value: 'impact ratio ≥ 0.8 (four-fifths rule) over 30 days, groups ≥ 30; suspend on breach', why: 'a bias-audit trigger that suspends scoring' },
      { setting: 'pre-deployment audit', value: 'covenant bias audit on a held-out set by sex and race (and intersections)', why: 'NYC Local Law 144 bias audit' },
      { setting: 'systems[].review', value: 'a person reviews every reject within 72h', why: 'no automated rejections of candidates' },
      { setting: 'systems[].explanation', value: 'required', why: 'candidates may ask why' },
    ],
    policy: {
      review: { required_for: ['reject'], window: '72h' },
      explanation: { required: true, tolerance: 0.01 },
      adm: 'substantially_assisted',
      fairness: { attribute: 'sex', min_impact_ratio: 0.8, window: '30d', min_group_size: 30, on_breach: 'suspend' },
      sla: { min_precision: 0.9, min_recall: 0.8, window: '30d' },
    },
    department: {},
  },
};

export const blueprintIds: readonly BlueprintId[] = ['A', 'B', 'C', 'D', 'E'];

export function isBlueprintId(value: string): value is BlueprintId {
  return (blueprintIds as readonly string[]).includes(value);
}

export function blueprint(id: BlueprintId): Blueprint {
  return { id, ...blueprints[id], clauses: blueprintClauses[id] };
}

/** The clauses a system's contracts must contain: its blueprint's and its own, each once, with their default strength. */
export function requiredClauses(blueprintId: BlueprintId | undefined, extra: readonly ClauseId[] = []): { clause: ClauseId; requirements: readonly ClauseRequirement[] }[] {
  const ids = [...new Set([...(blueprintId ? blueprintClauses[blueprintId] : []), ...extra])];
  return ids.map((clause) => ({ clause, requirements: defaultRequirements[clause] ?? [] }));
}

/** The `systems:` entry for one system under a blueprint, in the decision-oversight config's shape. */
export function systemsEntry(id: BlueprintId, system: { name: string; department: string }): Record<string, unknown> {
  return { name: system.name, department: system.department, ...structuredClone(blueprints[id].policy) };
}
