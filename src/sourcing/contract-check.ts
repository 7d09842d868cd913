// The contract clause check: each required clause present, missing or weaker than required, with its passage and place.
import { clauseIds, defaultRequirements, type ClauseId, type ClauseRequirement } from './clause-ids.js';
import { clauseRule, type ClauseRule } from './clause-rules.js';
import { describeLocation, sentences, type Block } from './document-blocks.js';

export type ClauseStatus = 'present' | 'missing' | 'weaker';

export interface Passage {
  quote: string;
  heading: string | null;
  paragraph: number;
  page: number | null;
  /** e.g. `section "4. Model versions", paragraph 7, page 2`. */
  location: string;
}

export interface FoundParameter {
  value: number;
  unit: ClauseRequirement['unit'];
  /** The words it was read from, e.g. "fifteen (15) business days". */
  text: string;
}

export interface ClauseFinding {
  clause: ClauseId;
  title: string;
  status: ClauseStatus;
  /** The passage that states it (present, weaker). */
  passage: Passage | null;
  parameters: Record<string, FoundParameter>;
  /** What makes it weaker than required, one line each. */
  problems: string[];
  /** Passages that say the opposite ("may use customer data for training"). */
  contrary: Passage[];
}

export interface ContractCheck {
  required: ClauseId[];
  findings: ClauseFinding[];
  /** Clauses found that nothing required, for the record. */
  alsoFound: ClauseId[];
  missing: ClauseId[];
  weaker: ClauseId[];
  passed: boolean;
}

export type Requirements = Partial<Record<ClauseId, readonly ClauseRequirement[]>>;

/** Straight quotes and apostrophes, plain hyphens, single spaces: what the patterns expect. */
export function normalise(text: string): string {
  return text.replace(/[\u2018\u2019\u02bc]/g, "'").replace(/[\u201c\u201d]/g, '"').replace(/[\u2010-\u2015\u2212]/g, '-').replace(/\s+/g, ' ').trim();
}

function passageOf(block: Block, quote: string): Passage {
  const text = quote.length > 600 ? `${quote.slice(0, 597)}...` : quote;
  return { quote: text, heading: block.heading, paragraph: block.paragraph, page: block.page, location: describeLocation(block) };
}

const unitWords: Record<ClauseRequirement['unit'], string> = {
  business_days: 'business days', days: 'days', months: 'months', hours: 'hours', ratio: '', percent: '%',
};
const verb = (value: number, unit: ClauseRequirement['unit']): string => value === 1 || unit === 'ratio' || unit === 'percent' ? 'is' : 'are';
const show = (value: number, unit: ClauseRequirement['unit']): string => unit === 'percent' ? `${value}%` : unit === 'ratio' ? String(value) : `${value} ${unitWords[unit]}`;

interface Candidate { block: Block; sentence: string; parameters: Record<string, FoundParameter>; problems: string[] }

function evaluate(rule: ClauseRule, block: Block, sentence: string, requirements: readonly ClauseRequirement[]): Candidate {
  const parameters: Record<string, FoundParameter> = {};
  for (const parameter of rule.parameters ?? []) {
    const read = parameter.read(sentence) ?? (parameter.scope === 'paragraph' || rule.parameters!.length === 1 ? parameter.read(normalise(block.text)) : undefined);
    if (read) parameters[parameter.parameter] = { value: read.value, unit: parameter.unit, text: read.text };
  }
  const problems: string[] = [];
  // A clause is its paragraph: what it must also say may be in the next sentence.
  const paragraph = normalise(block.text);
  for (const must of rule.mustSay ?? []) if (!must.pattern.test(paragraph)) problems.push(must.problem);
  for (const requirement of requirements) {
    const found = parameters[requirement.parameter];
    if (!found) {
      problems.push(`states no ${requirement.parameter.replace(/_/g, ' ')}`);
      continue;
    }
    if (requirement.min !== undefined && found.value < requirement.min) {
      problems.push(`"${found.text}" where at least ${show(requirement.min, requirement.unit)} ${verb(requirement.min, requirement.unit)} required`);
    }
    if (requirement.max !== undefined && found.value > requirement.max) {
      problems.push(`"${found.text}" where at most ${show(requirement.max, requirement.unit)} ${verb(requirement.max, requirement.unit)} allowed`);
    }
  }
  return { block, sentence, parameters, problems };
}

/** Find one clause in the document: the strongest passage about it, and any that say the opposite. */
export function findClause(blocks: readonly Block[], id: ClauseId, requirements: readonly ClauseRequirement[] = []): ClauseFinding {
  const rule = clauseRule(id);
  const candidates: Candidate[] = [];
  const contrary: Passage[] = [];
  for (const block of blocks) {
    for (const { text } of sentences(normalise(block.text))) {
      if (!rule.topic.every((pattern) => pattern.test(text))) continue;
      if (rule.exclude?.some((pattern) => pattern.test(text))) continue;
      if (rule.contrary(text)) contrary.push(passageOf(block, text));
      else candidates.push(evaluate(rule, block, text, requirements));
    }
  }
  const best = candidates.sort((left, right) => left.problems.length - right.problems.length)[0];
  if (!best) {
    return { clause: id, title: rule.title, status: 'missing', passage: null, parameters: {}, problems: contrary.length > 0 ? ['the contract says the opposite'] : [], contrary };
  }
  const problems = [...best.problems];
  if (contrary.length > 0) problems.push(`contradicted by ${contrary[0]!.location}`);
  const paragraphScoped = rule.parameters?.some((parameter) => parameter.scope === 'paragraph');
  return {
    clause: id, title: rule.title, status: problems.length === 0 ? 'present' : 'weaker',
    passage: passageOf(best.block, paragraphScoped ? normalise(best.block.text) : best.sentence), parameters: best.parameters, problems, contrary,
  };
}

/**
 * Check a document against the clauses required of it.
 * @example checkContract(markdownBlocks(text), blueprintClauses.B)
 */
export function checkContract(blocks: readonly Block[], required: readonly ClauseId[], requirements: Requirements = defaultRequirements): ContractCheck {
  const findings = required.map((id) => findClause(blocks, id, requirements[id] ?? []));
  const alsoFound = clauseIds.filter((id) => !required.includes(id) && findClause(blocks, id).status !== 'missing');
  const missing = findings.filter((finding) => finding.status === 'missing').map((finding) => finding.clause);
  const weaker = findings.filter((finding) => finding.status === 'weaker').map((finding) => finding.clause);
  return { required: [...required], findings, alsoFound, missing, weaker, passed: missing.length === 0 && weaker.length === 0 };
}
