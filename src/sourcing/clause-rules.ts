// How each clause reads in a contract: the words that make a sentence about it, the words that turn it against the
// customer, and where its parameters are. Patterns run over one normalised sentence (or its paragraph for parameters).
import type { ClauseId, ClauseRequirement } from './clause-ids.js';
import { convertDuration, findDurations, findFractions, type Quantity } from './quantities.js';

export interface ParameterRule {
  parameter: string;
  unit: ClauseRequirement['unit'];
  /** The parameter's value in `unit`, with the words it came from; undefined when the text does not state it. */
  read(text: string): { value: number; text: string } | undefined;
  /** Read from the whole paragraph (a definition spread over sentences), not only the sentence that names the clause. */
  scope?: 'paragraph';
}

export interface ClauseRule {
  id: ClauseId;
  title: string;
  /** A sentence is about the clause when it matches every one of these. */
  topic: readonly RegExp[];
  /** A sentence about the clause that matches one of these is not about it after all (another clause's subject). */
  exclude?: readonly RegExp[];
  /** The sentence says the opposite of the clause ("may use customer data for training"): it is no such clause. */
  contrary(sentence: string): boolean;
  parameters?: readonly ParameterRule[];
  /** What the clause must also say to be as strong as required, each with the problem when it does not. */
  mustSay?: readonly { pattern: RegExp; problem: string }[];
}

/** A plain obligation turned off: "shall not", "is not required", "no obligation", "without notice". */
const negation = /\b(?:shall|will|does|do|is|are|must|need|can)\s+not\b|\b(?:cannot|won't|doesn't|isn't)\b|\bno obligation\b|\bnot\s+(?:required|obliged|obligated|entitled|responsible|liable to)\b|\bwithout (?:any |prior )?(?:notice|obligation)\b|\bat (?:its|their) (?:sole )?discretion\b/i;
/** A prohibition, for clauses whose whole point is one ("shall not train", "never", "excluded from"). */
const prohibition = /\b(?:shall|will|must|may|does|do|is|are)\s+not\b|\b(?:cannot|won't)\b|\bnever\b|\bprohibit\w*|\bno\s+(?:\w+\s+){0,3}(?:training|refinement|fine-tuning|use)\b|\bexclude[ds]?\b|\brefrain\w*|\bnot\s+(?:be\s+)?used\b|\bneither\b/i;
const vendorOwns = /\b(?:vendor|provider|supplier|licensor|contractor)\s+(?:shall\s+|will\s+)?(?:retains?|owns?|holds?|keeps?)\s+(?:all\s+)?(?:right|title|ownership|the)/i;

const plainContrary = (sentence: string): boolean => negation.test(sentence);

function durationReader(unit: 'business_days' | 'days' | 'months' | 'hours') {
  return (text: string) => {
    const quantity = findDurations(text).find((each) => convertDuration(each, unit) !== undefined);
    if (!quantity) return undefined;
    return { value: round(convertDuration(quantity, unit)!), text: quantity.text };
  };
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

/** The first fraction in the clause of the sentence after `near`, as a ratio (0.95) or a percentage (15). */
function fractionNear(near: RegExp, unit: 'ratio' | 'percent', zeroWords?: RegExp) {
  return (text: string) => {
    const at = text.search(near);
    if (at < 0) return undefined;
    const rest = text.slice(at);
    const end = rest.search(/[.;](?=\s|$)/);
    const clause = end < 0 ? rest : rest.slice(0, end);
    const quantity: Quantity | undefined = findFractions(clause)[0];
    if (!quantity) {
      const zero = zeroWords?.exec(clause);
      return zero ? { value: 0, text: zero[0] } : undefined;
    }
    const asRatio = quantity.unit === 'ratio' ? quantity.value : quantity.value / 100;
    return { value: round(unit === 'ratio' ? asRatio : asRatio * 100), text: quantity.text };
  };
}

/** The first duration in the sentence part that starts a little before `near` ("a rolling seven (7) day window"). */
function durationNear(near: RegExp) {
  return (text: string) => {
    for (const { index } of text.matchAll(new RegExp(near.source, 'gi'))) {
      const start = Math.max(0, text.lastIndexOf(' ', Math.max(0, index - 30)));
      const quantity = findDurations(text.slice(start, index + 60)).find((each) => convertDuration(each, 'days') !== undefined);
      if (quantity) return { value: round(convertDuration(quantity, 'days')!), text: quantity.text };
    }
    return undefined;
  };
}

const training = /\b(?:train(?:s|ed|ing)?|fine-tun(?:e|es|ing)|refine\w*|refinement|improv\w+ (?:its|the|any) (?:models?|services?)|develop\w* (?:its|new|other) models?)\b/i;
const customerData = /\b(?:customer|client|licensee)(?:'s)?\s+(?:data|content|prompts?|inputs?|outputs?|logs?|information|materials)\b|\bprompts?\b|\b(?:usage |request |interaction )?logs\b|\bcustomer data\b/i;

export const clauseRules: readonly ClauseRule[] = [
  {
    id: 'weight_ownership', title: 'Ownership of derived weights',
    topic: [/\b(?:weights?|fine-tuned (?:models?|parameters)|model parameters|derived models?|adapters?)\b/i, /\b(?:own|owns|owned|ownership|title|vest\w*|propert\w+)\b/i, /\b(?:customer|client|licensee|joint\w*)\b/i],
    contrary: (sentence) => vendorOwns.test(sentence) || plainContrary(sentence),
  },
  {
    id: 'weight_export', title: 'Export of weights in open formats',
    topic: [/\b(?:export\w*|deliver\w*|provide|transfer\w*|hand over|make available)\b/i, /\b(?:weights?|model parameters|checkpoints?)\b/i],
    exclude: [/\b(?:own|owns|owned|ownership)\b/i],
    contrary: plainContrary,
    parameters: [{ parameter: 'export_days', unit: 'business_days', read: durationReader('business_days') }],
    mustSay: [{ pattern: /\b(?:safetensors|onnx)\b/i, problem: 'names no open format (safetensors, ONNX)' }],
  },
  {
    id: 'version_support', title: 'Base version kept available',
    topic: [/\bversions?\b/i, /\b(?:maintain\w*|support\w*|keep|kept|available|retain\w*|remain\w*|preserv\w*|host\w*)\b/i, /\b(?:months?|years?)\b/i],
    exclude: [/\bnotice\b/i, /\bregistry\b/i],
    contrary: plainContrary,
    parameters: [{ parameter: 'support_months', unit: 'months', read: durationReader('months') }],
  },
  {
    id: 'change_notice', title: 'Notice of model changes',
    topic: [/\b(?:notice|notif\w+)\b/i, /\b(?:chang\w*|deprecat\w*|retir\w*|modif\w*|updat\w*|sunset\w*|replac\w*|versions?)\b/i],
    exclude: [/\bprivacy\b/i, /\bterminat\w*\b/i],
    contrary: plainContrary,
    parameters: [{ parameter: 'notice_days', unit: 'days', read: durationReader('days') }],
  },
  {
    id: 'staging_access', title: 'Isolated staging access',
    topic: [/\b(?:staging|sandbox|pre-production|test environment)\b/i],
    contrary: plainContrary,
    mustSay: [{ pattern: /\b(?:isolated|separate|dedicated|segregated)\b/i, problem: 'does not say the staging environment is isolated' }],
  },
  {
    id: 'rollback', title: 'Rollback to the last stable version',
    topic: [/\b(?:roll(?:\s|-)?back|revert\w*|restor\w+ (?:the |to the )?(?:previous|prior|last))\b/i],
    contrary: plainContrary,
    parameters: [{ parameter: 'rollback_hours', unit: 'hours', read: durationReader('hours') }],
  },
  {
    id: 'drift_definition', title: 'Definition of material drift',
    topic: [/\bdrift\b/i],
    contrary: plainContrary,
    parameters: [
      { parameter: 'min_similarity', unit: 'ratio', scope: 'paragraph', read: fractionNear(/similarity/i, 'ratio') },
      { parameter: 'max_variance', unit: 'percent', scope: 'paragraph', read: fractionNear(/variance|deviation/i, 'percent') },
      { parameter: 'max_safety_failure_rate', unit: 'percent', scope: 'paragraph', read: fractionNear(/safety/i, 'percent', /\b(?:any|a single|zero|one or more)\b/i) },
      { parameter: 'window_days', unit: 'days', scope: 'paragraph', read: durationNear(/\b(?:window|rolling|measured over|period of)\b/i) },
    ],
  },
  {
    id: 'spend_caps', title: 'Hard real-time spend caps',
    topic: [/\b(?:spend\w*|costs?|usage|fees?|charges?|billing)\b/i, /\b(?:caps?|capped|ceilings?|limits?)\b/i],
    exclude: [/\bliabilit\w*/i],
    contrary: (sentence) => /\b(?:soft|advisory|indicative|best[- ]efforts?)\b/i.test(sentence) && !/\bhard\b/i.test(sentence),
    mustSay: [{ pattern: /\b(?:hard|real-time|immediately|automatically|block\w*|refus\w*|shall not (?:be )?exceed\w*)\b/i, problem: 'does not make the cap hard and enforced in real time' }],
  },
  {
    id: 'no_training', title: 'No training on customer data',
    topic: [training, customerData],
    exclude: [/\bretrain\w*/i],
    contrary: (sentence) => !prohibition.test(sentence),
  },
  {
    id: 'data_ownership', title: 'Customer owns prompts and outputs',
    topic: [/\b(?:prompts?|inputs?)\b/i, /\b(?:outputs?|completions?|responses?)\b/i, /\b(?:own|owns|owned|ownership|title|property|belong\w*)\b/i],
    exclude: [/\bweights?\b/i],
    contrary: (sentence) => vendorOwns.test(sentence) || plainContrary(sentence),
  },
  {
    id: 'performance_sla', title: 'Precision, recall and hallucination SLAs',
    topic: [/\b(?:precision|recall|hallucination)\b/i],
    exclude: [/\bretrain\w*/i],
    contrary: plainContrary,
    parameters: [
      { parameter: 'min_precision', unit: 'percent', scope: 'paragraph', read: fractionNear(/precision/i, 'percent') },
      { parameter: 'min_recall', unit: 'percent', scope: 'paragraph', read: fractionNear(/recall/i, 'percent') },
      { parameter: 'max_hallucination_rate', unit: 'percent', scope: 'paragraph', read: fractionNear(/hallucination/i, 'percent') },
    ],
  },
  {
    id: 'retraining_trigger', title: 'Retraining trigger',
    topic: [/\b(?:retrain\w*|re-train\w*|recalibrat\w*)\b/i, /\b(?:falls?|drops?|below|under|trigger\w*|degrad\w*|threshold)\b/i],
    contrary: plainContrary,
  },
  {
    id: 'version_registry', title: 'Immutable version registry',
    topic: [/\b(?:registry|register|ledger|log)\b/i, /\bversions?\b/i],
    contrary: plainContrary,
    mustSay: [{ pattern: /\b(?:immutable|append-only|tamper-(?:evident|proof)|write-once|cannot be (?:altered|modified|deleted|overwritten))\b/i, problem: 'does not make the registry immutable' }],
  },
  {
    id: 'liability_caps', title: 'Liability caps tiered by risk',
    topic: [/\bliabilit\w*/i, /\b(?:caps?|capped|limit\w*|exceed|aggregate|maximum)\b/i],
    contrary: () => false,
    mustSay: [{ pattern: /\b(?:tier\w*|(?:high|medium|low|elevated)-risk|risk (?:class|level|categor|tier)\w*)\b/i, problem: 'is one flat cap, not tiered by risk' }],
  },
  {
    id: 'explainability', title: 'Explanations exposed per decision',
    topic: [/\b(?:explanations?|explainab\w*|shap|lime|feature attributions?|reason codes?)\b/i, /\b(?:each|every|per|all)\b/i],
    contrary: plainContrary,
  },
  {
    id: 'override_logging', title: 'Human overrides logged',
    topic: [/\boverrid\w*/i, /\b(?:log\w*|record\w*|audit trail)\b/i],
    contrary: plainContrary,
  },
  {
    id: 'privacy_cooperation', title: 'Cooperation with privacy-policy updates',
    topic: [/\b(?:privacy (?:policy|policies|notices?|statements?)|APP 1\.[789]|gdpr|transparency obligations?)\b/i, /\b(?:cooperat\w*|assist\w*|support\w*|provide\w*|updat\w*)\b/i],
    contrary: plainContrary,
  },
  {
    id: 'human_review', title: 'Human review of adverse decisions',
    topic: [/\b(?:human (?:review\w*|oversight|in the loop|decision-maker)|manual review|reviewed by a (?:qualified )?(?:person|human|individual|employee))\b/i],
    contrary: (sentence) => /\bwithout (?:any )?(?:human|manual) (?:review|intervention|oversight)\b/i.test(sentence)
      && !/\b(?:no|not|never)\b/i.test(sentence.slice(0, sentence.search(/\bwithout\b/i))),
  },
  {
    id: 'tenant_isolation', title: 'Prompts isolated per tenant',
    topic: [/\b(?:tenants?|each (?:customer|client|user)|other (?:customers|clients)|between customers)\b/i, /\b(?:isolat\w*|segregat\w*|separat\w*|commingl\w*|shar\w*|pool\w*)\b/i],
    contrary: (sentence) => /\b(?:may|can|will)\s+be\s+(?:shared|commingled|pooled|combined)\b/i.test(sentence) && !/\bnot\b/i.test(sentence),
  },
  {
    id: 'bias_testing', title: 'Bias testing across protected classes',
    topic: [/\b(?:bias|disparate|differential performance|adverse impact|fairness|parity)\b/i, /\b(?:test\w*|audit\w*|assess\w*|evaluat\w*|measur\w*)\b/i],
    contrary: plainContrary,
    mustSay: [
      { pattern: /\b(?:protected (?:class|characteristic|group|attribute)s?|race|gender|sex|ethnicity|disabilit\w*)\b/i, problem: 'names no protected classes' },
      { pattern: /\b(?:suspend\w*|paus\w*|halt\w*)\b/i, problem: 'has no bias-audit trigger that can suspend scoring' },
    ],
  },
  {
    id: 'exit_portability', title: 'Penalty-free exit with data portability',
    topic: [/\b(?:terminat\w*|exit\w*|end of (?:the )?(?:term|agreement)|expir\w*)\b/i, /\b(?:portab\w*|export\w*|return\w*|transfer\w*|migrat\w*|copy of)\b/i],
    contrary: plainContrary,
    mustSay: [{ pattern: /\b(?:without (?:any )?(?:penalty|penalties|termination fees?|charge|fees?)|penalty-free|no (?:early )?termination (?:fees?|charges?|penalt\w+))\b/i, problem: 'does not make exit free of penalties' }],
  },
];

export const clauseRule = (id: ClauseId): ClauseRule => clauseRules.find((rule) => rule.id === id)!;
