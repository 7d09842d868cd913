// Vendor pre-qualification: the questionnaire per supply-chain layer, the weighted score and the pass/fail gate.
import { z } from 'zod';
import type { VendorLayer } from './inventory.js';

export interface Question {
  id: string;
  topic: string;
  text: string;
  /** Relative weight in the score, per layer (absent: not asked of that layer). */
  weights: Partial<Record<VendorLayer, number>>;
  /** Layers for which a "no" fails the gate whatever the score. */
  critical: VendorLayer[];
}

const all = (weight: number): Record<VendorLayer, number> => ({
  foundation_model_provider: weight, specialised_ai_vendor: weight, data_enrichment_provider: weight, system_integrator: weight,
});

export const questions: readonly Question[] = [
  { id: 'bias_testing', topic: 'bias and fairness testing', text: 'Do you test for differential performance across protected classes (which methods, metrics and thresholds)?',
    weights: { foundation_model_provider: 3, specialised_ai_vendor: 4, data_enrichment_provider: 2, system_integrator: 1 }, critical: ['specialised_ai_vendor'] },
  { id: 'demographic_balance', topic: 'bias and fairness testing', text: 'Can you provide demographic balance data for the training and evaluation sets?',
    weights: { foundation_model_provider: 2, specialised_ai_vendor: 3, data_enrichment_provider: 3 }, critical: [] },
  { id: 'data_provenance', topic: 'data provenance and copyright', text: 'Do you document the provenance of every training data source (lineage, licences, consent)?',
    weights: { foundation_model_provider: 4, specialised_ai_vendor: 3, data_enrichment_provider: 4 }, critical: ['foundation_model_provider', 'data_enrichment_provider'] },
  { id: 'copyright_warranty', topic: 'data provenance and copyright', text: 'Do you warrant that training data and outputs do not infringe copyright, with an indemnity?',
    weights: { foundation_model_provider: 3, specialised_ai_vendor: 2, data_enrichment_provider: 2 }, critical: [] },
  { id: 'privacy', topic: 'privacy', text: 'Do you process personal information only as instructed, with a DPA, breach notice and support for APP 1.7–1.9 and GDPR transparency?',
    weights: all(3), critical: ['foundation_model_provider', 'specialised_ai_vendor', 'data_enrichment_provider', 'system_integrator'] },
  { id: 'annotation_labour', topic: 'labour standards', text: 'Do your annotation workers (and subcontractors) receive a living wage, reasonable hours, psychological support for harmful content and an audited grievance channel?',
    weights: { foundation_model_provider: 2, specialised_ai_vendor: 1, data_enrichment_provider: 4 }, critical: ['data_enrichment_provider'] },
  { id: 'no_training', topic: 'no training on customer data', text: 'Do you contractually exclude our prompts, outputs and logs from training or refining any model?',
    weights: { foundation_model_provider: 4, specialised_ai_vendor: 4, system_integrator: 2 }, critical: ['foundation_model_provider', 'specialised_ai_vendor'] },
  { id: 'weight_ownership', topic: 'weight ownership and portability', text: 'Do we own (or jointly own) weights derived from our data, with export in open formats (safetensors, ONNX)?',
    weights: { foundation_model_provider: 1, specialised_ai_vendor: 3, system_integrator: 2 }, critical: [] },
  { id: 'version_support', topic: 'version support and notice', text: 'Do you keep a model version available for at least 24 months and give at least 60 days\' notice of changes?',
    weights: { foundation_model_provider: 3, specialised_ai_vendor: 3, system_integrator: 1 }, critical: [] },
  { id: 'drift_remedies', topic: 'drift remedies', text: 'Do you define material drift and commit to remedies (rollback within 24 hours, retraining, credits)?',
    weights: { foundation_model_provider: 2, specialised_ai_vendor: 3, system_integrator: 2 }, critical: [] },
  { id: 'liability_caps', topic: 'liability caps', text: 'Are your liability caps tiered by the risk of the use (higher caps for high-risk systems)?',
    weights: all(2), critical: [] },
];

/** The score (0–100) a vendor must reach, besides answering "yes" to every critical question of its layer. */
export const passScore = 70;

/** yes: full credit; partial: half; no: none. An answer without an evidence link earns half of what it would. */
export const answerSchema = z.strictObject({
  answer: z.enum(['yes', 'partial', 'no']),
  evidence: z.string().trim().min(1).optional(),
  notes: z.string().trim().optional(),
});
export type Answer = z.infer<typeof answerSchema>;

export const answersFileSchema = z.strictObject({
  layer: z.enum(['foundation_model_provider', 'specialised_ai_vendor', 'data_enrichment_provider', 'system_integrator']).optional(),
  answers: z.record(z.string(), answerSchema),
});

export interface QuestionResult {
  id: string;
  topic: string;
  weight: number;
  answer: Answer['answer'] | 'unanswered';
  evidence: string | null;
  credit: number;
  critical: boolean;
}

export interface QualificationResult {
  layer: VendorLayer;
  score: number;
  passed: boolean;
  /** Why it failed: the score and each critical question not answered "yes" with evidence. */
  reasons: string[];
  questions: QuestionResult[];
}

/** The questions asked of a layer. */
export function questionnaire(layer: VendorLayer): Question[] {
  return questions.filter((question) => question.weights[layer] !== undefined);
}

const credits = { yes: 1, partial: 0.5, no: 0 } as const;

/**
 * Score a layer's answers: Σ weight × credit / Σ weight × 100, rounded to one decimal. Passing needs the score
 * to reach `passScore` and every critical question of the layer answered "yes" with an evidence link.
 */
export function scoreQualification(layer: VendorLayer, answers: Record<string, Answer>): QualificationResult {
  const asked = questionnaire(layer);
  const unknown = Object.keys(answers).filter((id) => !asked.some((question) => question.id === id));
  if (unknown.length > 0) throw new Error(`not asked of a ${layer}: ${unknown.join(', ')} (questions: ${asked.map((question) => question.id).join(', ')})`);
  const results: QuestionResult[] = asked.map((question) => {
    const given = answers[question.id];
    const weight = question.weights[layer]!;
    const base = given ? credits[given.answer] : 0;
    const credit = given?.evidence ? base : base / 2;
    return {
      id: question.id, topic: question.topic, weight, answer: given?.answer ?? 'unanswered', evidence: given?.evidence ?? null,
      credit, critical: question.critical.includes(layer),
    };
  });
  const total = results.reduce((sum, result) => sum + result.weight, 0);
  const earned = results.reduce((sum, result) => sum + result.weight * result.credit, 0);
  const score = Math.round((earned / total) * 1000) / 10;
  const reasons: string[] = [];
  if (score < passScore) reasons.push(`score ${score} is below the pass mark of ${passScore}`);
  for (const result of results) {
    if (!result.critical) continue;
    if (result.answer !== 'yes') reasons.push(`critical question ${result.id} answered "${result.answer}"`);
    else if (!result.evidence) reasons.push(`critical question ${result.id} has no evidence link`);
  }
  return { layer, score, passed: reasons.length === 0, reasons, questions: results };
}
