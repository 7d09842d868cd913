// Decision oversight: records decisions under their system's policy, takes people's reviews and ground truth, runs the live monitors.
import { createHash, randomUUID } from 'node:crypto';
import type { ResolvedSystem } from '../config/systems.js';
import { CovenantError } from '../core/errors.js';
import { localAccuracy, normalizeOutcome, reviewReason } from '../core/decision-policy.js';
import type { LedgerEntryInput } from '../ledger/types.js';
import type { AlertSender } from './alerts.js';
import { decisionPayload, suspensionPayload } from './payload.js';
import { parityBreach, parityReport, performanceReport, slaReadings, type MetricReading } from './monitors.js';
import type { DecisionRecord, DecisionStore, Explanation, NewDecision, SystemSuspension } from './store.js';

/** A decision as a client submits it (POST /v1/decisions, already validated). */
export interface DecisionInput {
  system: string;
  subject_ref: string;
  recommendation: string | number;
  score?: number;
  explanation?: Explanation;
  features?: Record<string, unknown>;
  model_version: string;
  protected?: Record<string, string>;
}

/** Who sent it: the virtual key. */
export interface DecisionSender {
  id: string;
  name: string;
  department: string;
}

export interface DecisionOversightOptions {
  store: DecisionStore;
  /** The systems in force now (they change on reload). */
  systems: () => Map<string, ResolvedSystem>;
  /** Append a governance entry to the evidence ledger (awaited: an answer follows its entry). */
  record: (entry: LedgerEntryInput) => Promise<void>;
  configVersion: () => string;
  /** A department's alerts webhook, for overdue reviews and suspensions. */
  alertWebhook: (department: string) => string | undefined;
  alerts: AlertSender;
  clock?: () => number;
  onError?: (error: unknown, where: string) => void;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class DecisionOversight {
  readonly #options: DecisionOversightOptions;
  readonly #clock: () => number;

  constructor(options: DecisionOversightOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  get store(): DecisionStore {
    return this.#options.store;
  }

  now(): number {
    return this.#clock();
  }

  /** The configured system, or a 404 that lists the configured ones. */
  system(name: string, param?: string): ResolvedSystem {
    const system = this.#options.systems().get(name);
    if (!system) {
      const known = [...this.#options.systems().keys()].join(', ') || 'none';
      throw new CovenantError('not_found', `There is no system "${name}" in the config's systems: list (configured: ${known}).`, { param: param ?? null });
    }
    return system;
  }

  systems(): ResolvedSystem[] {
    return [...this.#options.systems().values()];
  }

  /** Record a decision: final at once, or waiting for a person (adverse, required by policy, or the system is suspended). */
  async submit(input: DecisionInput, sender: DecisionSender): Promise<DecisionRecord> {
    const system = this.system(input.system, 'system');
    if (system.department !== sender.department) {
      throw new CovenantError('forbidden', `System "${system.name}" belongs to department "${system.department}"; this key belongs to "${sender.department}".`);
    }
    this.#checkExplanation(system, input);
    const now = this.#clock();
    const recommendation = normalizeOutcome(input.recommendation);
    const suspension = await this.#options.store.activeSuspension(system.name);
    const reason = reviewReason(system, recommendation, suspension ? suspension.reason : null);
    const decision: NewDecision = {
      id: `dec_${randomUUID().replaceAll('-', '').slice(0, 24)}`, system: system.name, department: system.department,
      subjectRef: input.subject_ref, recommendation, score: input.score ?? null, explanation: input.explanation ?? null,
      features: input.features ?? null, modelVersion: input.model_version, keyId: sender.id, keyName: sender.name, adm: system.adm,
      status: reason === null ? 'final' : 'pending_review', reviewReason: reason, dueAt: reason === null ? null : now + system.reviewWindowMs,
      createdAt: now, finalOutcome: reason === null ? recommendation : null, finalizedAt: reason === null ? now : null,
    };
    const record = await this.#options.store.insert(decision, input.protected ?? null);
    const gap = record.explanation && record.score !== null ? localAccuracy(record.explanation, record.score, system.explanationTolerance).gap : null;
    // The ledger holds a hash of the subject reference and never the protected attributes.
    await this.#options.record({
      kind: 'decision.recorded', department: record.department, key: record.keyName, key_id: record.keyId, decision_id: record.id,
      system: record.system, subject_ref_sha256: sha256(record.subjectRef), recommendation: record.recommendation, score: record.score,
      model_version: record.modelVersion, adm: record.adm, status: record.status, review_reason: record.reviewReason,
      due_at: record.dueAt === null ? null : new Date(record.dueAt).toISOString(),
      explanation: record.explanation ? { method: record.explanation.method, base_value: record.explanation.base_value, features: Object.keys(record.explanation.attributions).length, local_accuracy_gap: gap } : null,
      config_version: this.#options.configVersion(),
    });
    if (record.status === 'final') await this.#monitorParity(system);
    return record;
  }

  #checkExplanation(system: ResolvedSystem, input: DecisionInput): void {
    if (!input.explanation) {
      if (system.explanationRequired) throw new CovenantError('invalid_explanation', `System "${system.name}" requires an explanation (explanation.required): send explanation {method, base_value, attributions}.`, { param: 'explanation' });
      return;
    }
    if (input.score === undefined) {
      throw new CovenantError('invalid_explanation', 'An explanation needs the score it explains: send score, so that the attributions can be checked to add up to score − base_value.', { param: 'score' });
    }
    const accuracy = localAccuracy(input.explanation, input.score, system.explanationTolerance);
    if (!accuracy.accurate) {
      throw new CovenantError('invalid_explanation', `The explanation is not locally accurate: its attributions sum to ${accuracy.sum} but score − base_value is ${accuracy.expected} `
        + `(${input.score} − ${input.explanation.base_value}); the gap ${accuracy.gap} is over the tolerance ${system.explanationTolerance}.`, { param: 'explanation.attributions' });
    }
  }

  /** A person signs a pending decision off; an outcome other than the model's recommendation is an override. */
  async review(id: string, review: { reviewer: string; by: string; outcome: string; rationale: string; hallucinated?: boolean }): Promise<DecisionRecord> {
    const current = await this.#options.store.get(id);
    if (!current) throw new CovenantError('not_found', `There is no decision "${id}".`);
    if (current.status !== 'pending_review') throw new CovenantError('review_closed', `Decision "${id}" is already final (${current.finalOutcome}); it has no pending review.`);
    const outcome = normalizeOutcome(review.outcome);
    const overridden = outcome !== current.recommendation;
    const at = this.#clock();
    const record = await this.#options.store.review(id, {
      reviewer: review.reviewer, by: review.by, outcome, rationale: review.rationale, at, overridden, hallucinated: review.hallucinated ?? null,
    });
    if (!record) throw new CovenantError('review_closed', `Decision "${id}" was reviewed by someone else a moment ago.`);
    await this.#options.record({
      kind: overridden ? 'decision.overridden' : 'decision.reviewed', department: record.department, decision_id: record.id, system: record.system,
      reviewer: review.reviewer, by: review.by, reviewed_at: new Date(at).toISOString(), model_recommendation: record.recommendation,
      model_score: record.score, model_version: record.modelVersion, decided: outcome, overridden, rationale: review.rationale,
      hallucinated: record.hallucinated, seconds_to_review: (at - record.createdAt) / 1000, review_reason: record.reviewReason,
      config_version: this.#options.configVersion(),
    });
    const system = this.#options.systems().get(record.system);
    if (system) {
      await this.#monitorParity(system);
      if (review.hallucinated !== undefined) await this.#monitorSla(system);
    }
    return record;
  }

  /** Ground truth arrives: recorded, then the SLA monitor looks at the window again. */
  async recordOutcome(id: string, outcome: { outcome: string | number; hallucinated?: boolean }, sender: DecisionSender): Promise<DecisionRecord> {
    const current = await this.#options.store.get(id);
    if (!current || current.department !== sender.department) throw new CovenantError('not_found', `There is no decision "${id}" in department "${sender.department}".`);
    const record = await this.#options.store.recordOutcome(id, { outcome: normalizeOutcome(outcome.outcome), hallucinated: outcome.hallucinated, at: this.#clock() });
    if (!record) throw new CovenantError('not_found', `There is no decision "${id}".`);
    await this.#options.record({
      kind: 'decision.outcome', department: record.department, key: sender.name, key_id: sender.id, decision_id: record.id, system: record.system,
      outcome: record.outcome, model_recommendation: record.recommendation, model_version: record.modelVersion,
      ...(outcome.hallucinated === undefined ? {} : { hallucinated: outcome.hallucinated }), config_version: this.#options.configVersion(),
    });
    const system = this.#options.systems().get(record.system);
    if (system) await this.#monitorSla(system);
    return record;
  }

  /** Alert each pending review past its due time, once (the claim is durable, so replicas and restarts do not alert again). */
  async sweepOverdue(): Promise<number> {
    const now = this.#clock();
    const due = await this.#options.store.list({ dueBy: now, unalerted: true, limit: 1000 });
    let alerted = 0;
    for (const decision of due) {
      if (decision.overdueAlertedAt !== null) continue;
      if (!(await this.#options.store.claimOverdueAlert(decision.id, now))) continue;
      alerted += 1;
      const overdueSeconds = Math.round((now - (decision.dueAt ?? now)) / 1000);
      await this.#options.record({
        kind: 'decision.review_overdue', department: decision.department, decision_id: decision.id, system: decision.system,
        due_at: new Date(decision.dueAt ?? now).toISOString(), overdue_seconds: overdueSeconds, review_reason: decision.reviewReason,
        config_version: this.#options.configVersion(),
      });
      const dueAt = new Date(decision.dueAt ?? now).toISOString();
      const message = `The review of decision ${decision.id} (${decision.system}) was due at ${dueAt}; it is still waiting for a person.`;
      this.#options.alerts.alert(
        { kind: 'review_overdue', department: decision.department, subject: decision.id, message, time: now,
          evidence: { system: decision.system, due_at: dueAt, overdue_seconds: overdueSeconds, review_reason: decision.reviewReason } },
        this.#options.alertWebhook(decision.department),
        { event: 'decision.review_overdue', message, decision: decisionPayload(decision, now) }, 'overdue review alert');
    }
    return alerted;
  }

  /** A person lifts a system's suspension: on record with who and why. */
  async resume(name: string, by: string, reason: string): Promise<SystemSuspension> {
    const system = this.system(name);
    const record = await this.#options.store.resumeSystem(system.name, { by, reason, at: this.#clock() });
    if (!record) throw new CovenantError('not_found', `System "${name}" is not suspended.`);
    await this.#options.record({
      kind: 'system.resumed', department: record.department, system: record.system, by, reason,
      suspended_at: new Date(record.suspendedAt).toISOString(), config_version: this.#options.configVersion(),
    });
    return record;
  }

  async #monitorParity(system: ResolvedSystem): Promise<void> {
    try {
      const now = this.#clock();
      const parity = await parityReport(this.#options.store, system, now);
      if (!parity || !system.fairness) return;
      const evidence = parityBreach(system, parity.report, parity.since, now);
      if (!evidence) {
        // An alert-only breach is closed once parity is back within bounds, so a later breach alerts again.
        if (system.fairness.onBreach === 'alert') {
          for (const breach of await this.#options.store.openBreaches(system.name)) {
            if (breach.metric === 'impact_ratio' && parity.report.minimumImpactRatio !== null) await this.#options.store.clearBreach(breach.id, now);
          }
        }
        return;
      }
      if (system.fairness.onBreach === 'suspend') await this.#suspend(system, evidence, now);
      else await this.#openBreach(system, { metric: 'impact_ratio', modelVersion: '*', value: evidence.impact_ratio as number, threshold: system.fairness.minImpactRatio, breached: true, estimate: null, counts: {} }, evidence, null);
    } catch (error) {
      this.#options.onError?.(error, `parity monitor of ${system.name}`);
    }
  }

  async #suspend(system: ResolvedSystem, evidence: Record<string, unknown>, now: number): Promise<void> {
    const ratio = (evidence.impact_ratio as number).toFixed(3);
    const reason = `impact ratio ${ratio} by ${String(evidence.attribute)} is below ${system.fairness?.minImpactRatio} over ${system.fairness?.window}`;
    const suspension = await this.#options.store.suspendSystem({ system: system.name, department: system.department, reason, evidence, suspendedAt: now });
    if (!suspension) return;
    await this.#options.record({
      kind: 'system.suspended', department: system.department, system: system.name, reason, evidence, config_version: this.#options.configVersion(),
    });
    const message = `Automated scoring of ${system.name} is suspended: ${reason}. Every new decision goes to a person until someone resumes it.`;
    // The record names no protected attribute or group: the ratio, its floor and the window say why.
    const summary = { impact_ratio: evidence.impact_ratio, min_impact_ratio: evidence.min_impact_ratio, window: evidence.window, decisions: evidence.decisions };
    this.#options.alerts.alert(
      { kind: 'system_suspended', department: system.department, subject: system.name, time: now, evidence: summary,
        message: `Automated scoring of ${system.name} is suspended: impact ratio ${ratio} is below ${system.fairness?.minImpactRatio} over ${system.fairness?.window}.` },
      this.#options.alertWebhook(system.department), { event: 'system.suspended', message, ...suspensionPayload(suspension) }, 'suspension alert');
  }

  async #monitorSla(system: ResolvedSystem): Promise<void> {
    if (!system.sla) return;
    try {
      const now = this.#clock();
      const report = await performanceReport(this.#options.store, system, system.sla.windowMs, now);
      const readings = slaReadings(system, report);
      const open = await this.#options.store.openBreaches(system.name);
      const versions = report.versions.map((version) => version.modelVersion);
      for (const reading of readings) {
        const current = open.find((breach) => breach.metric === reading.metric && breach.modelVersion === reading.modelVersion);
        if (!reading.breached) {
          if (current) {
            await this.#options.store.clearBreach(current.id, now);
            await this.#options.record({ kind: 'sla.recovered', department: system.department, system: system.name, metric: reading.metric, model_version: reading.modelVersion, value: reading.value, threshold: reading.threshold, config_version: this.#options.configVersion() });
          }
          continue;
        }
        if (current) continue;
        const evidence = {
          system: system.name, metric: reading.metric, value: reading.value, threshold: reading.threshold,
          direction: reading.metric === 'hallucination_rate' ? 'maximum' : 'minimum',
          interval: reading.estimate ? { lower: reading.estimate.lower, upper: reading.estimate.upper, confidence: 0.95, method: 'wilson' } : null,
          window: system.sla.window, window_start: new Date(report.since).toISOString(), window_end: new Date(now).toISOString(),
          counts: reading.counts, model_version: reading.modelVersion, model_versions: versions,
        };
        await this.#openBreach(system, reading, evidence, system.sla.retrainWebhook);
      }
    } catch (error) {
      this.#options.onError?.(error, `SLA monitor of ${system.name}`);
    }
  }

  async #openBreach(system: ResolvedSystem, reading: MetricReading | (Omit<MetricReading, 'metric'> & { metric: string }), evidence: Record<string, unknown>, webhook: string | null): Promise<void> {
    const now = this.#clock();
    const target = webhook ?? this.#options.alertWebhook(system.department) ?? null;
    const breach = await this.#options.store.openBreach({
      system: system.name, department: system.department, metric: reading.metric, modelVersion: reading.modelVersion, value: reading.value,
      threshold: reading.threshold, evidence, breachedAt: now, webhook: target,
    });
    if (!breach) return;
    const kind = reading.metric === 'impact_ratio' ? 'fairness.breach' : 'sla_breach';
    await this.#options.record({ kind, department: system.department, breach_id: breach.id, ...evidence, webhook: target, config_version: this.#options.configVersion() });
    const summary = kind === 'sla_breach'
      ? { metric: reading.metric, value: reading.value, threshold: reading.threshold, direction: evidence.direction, model_version: reading.modelVersion, window: evidence.window }
      : { metric: reading.metric, value: reading.value, threshold: reading.threshold, window: evidence.window };
    const message = kind === 'sla_breach'
      ? `${system.name} (${reading.modelVersion}): ${reading.metric} ${reading.value} breaches its SLA ${evidence.direction} of ${reading.threshold}; retraining is requested.`
      : `${system.name}: impact ratio ${reading.value} is below ${reading.threshold}.`;
    this.#options.alerts.alert(
      { kind: kind === 'sla_breach' ? 'sla_breach' : 'fairness_breach', department: system.department, subject: system.name, message, evidence: summary, time: now },
      target, { event: kind === 'sla_breach' ? 'retrain.requested' : kind, breach_id: breach.id, breached_at: new Date(now).toISOString(), ...evidence },
      `${kind} webhook`, (attempt, outcome) => this.#options.store.markBreachDelivery(breach.id, outcome.delivered
        ? { attempts: attempt, deliveredAt: outcome.at } : { attempts: attempt, lastError: outcome.error }));
  }
}
