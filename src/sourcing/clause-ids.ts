// The contract clauses Covenant knows, the ones each blueprint (A–E) requires, and the default strength each must have.

/** Every clause the checker can find; blueprints and systems name clauses by these ids. */
export const clauseIds = [
  'weight_ownership',      // the customer owns (or jointly owns) weights derived from its data
  'weight_export',         // export of weights within N business days, in open formats (safetensors, ONNX)
  'version_support',       // the base model version is kept at least N months
  'change_notice',         // at least N days' notice of any model change or deprecation
  'staging_access',        // an isolated staging environment with the proposed version
  'rollback',              // rollback to the last known-stable version within N hours
  'drift_definition',      // material drift defined: similarity threshold, variance percentage, safety-failure rate
  'spend_caps',            // hard real-time spend caps
  'no_training',           // no training or model refinement on customer data, prompts or logs
  'data_ownership',        // the customer owns its prompts and outputs
  'performance_sla',       // precision, recall and hallucination-rate SLAs
  'retraining_trigger',    // retraining when a metric falls below a threshold
  'version_registry',      // an immutable version registry
  'liability_caps',        // liability caps tiered by risk
  'explainability',        // explanations (SHAP/LIME values) exposed per decision
  'override_logging',      // every human override of a recommendation logged
  'privacy_cooperation',   // cooperation with privacy-policy updates (APP 1.7–1.9, GDPR/AI Act transparency)
  'human_review',          // no automated adverse decision; a human review window
  'tenant_isolation',      // every prompt isolated per tenant
  'bias_testing',          // differential performance testing across protected classes, bias-audit trigger
  'exit_portability',      // penalty-free exit with data portability
] as const;
export type ClauseId = (typeof clauseIds)[number];

export type BlueprintId = 'A' | 'B' | 'C' | 'D' | 'E';

/** The clauses each blueprint's contracts must contain. */
export const blueprintClauses: Record<BlueprintId, readonly ClauseId[]> = {
  A: ['weight_ownership', 'weight_export', 'version_support', 'change_notice', 'staging_access', 'rollback', 'drift_definition', 'version_registry', 'liability_caps', 'no_training', 'data_ownership'],
  B: ['no_training', 'exit_portability', 'data_ownership', 'spend_caps', 'change_notice', 'version_support', 'liability_caps', 'privacy_cooperation'],
  C: ['explainability', 'human_review', 'override_logging', 'performance_sla', 'retraining_trigger', 'drift_definition', 'change_notice', 'rollback', 'privacy_cooperation'],
  D: ['tenant_isolation', 'no_training', 'data_ownership', 'spend_caps', 'change_notice', 'privacy_cooperation'],
  E: ['bias_testing', 'human_review', 'override_logging', 'explainability', 'performance_sla', 'privacy_cooperation', 'no_training'],
};

/** A numeric requirement a clause's parameter must meet: at least `min` or at most `max`, in `unit`. */
export interface ClauseRequirement {
  parameter: string;
  unit: 'business_days' | 'days' | 'months' | 'hours' | 'ratio' | 'percent';
  min?: number;
  max?: number;
}

/** Default strength of clauses with a parameter (the mission's contract terms); a system may set its own. */
export const defaultRequirements: Partial<Record<ClauseId, readonly ClauseRequirement[]>> = {
  weight_export: [{ parameter: 'export_days', unit: 'business_days', max: 10 }],
  version_support: [{ parameter: 'support_months', unit: 'months', min: 24 }],
  change_notice: [{ parameter: 'notice_days', unit: 'days', min: 60 }],
  rollback: [{ parameter: 'rollback_hours', unit: 'hours', max: 24 }],
  drift_definition: [
    { parameter: 'min_similarity', unit: 'ratio', min: 0.95 },
    { parameter: 'max_variance', unit: 'percent', max: 15 },
    { parameter: 'max_safety_failure_rate', unit: 'percent', max: 0 },
  ],
  performance_sla: [{ parameter: 'min_precision', unit: 'percent', min: 90 }],
};
