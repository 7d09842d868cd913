// The decision store's contract: every backend (SQLite, PostgreSQL) must pass it. Call it from a *.test.ts file.
import { describe, expect, it } from 'vitest';
import type { DecisionStore, NewDecision } from '../src/decisions/store.js';

export interface DecisionStoreFixture {
  store: DecisionStore;
  /** Open the same data again, as a restarted process would. */
  reopen(): Promise<DecisionStore>;
  cleanup(): Promise<void>;
}

let sequence = 0;
function decision(fields: Partial<NewDecision> = {}): NewDecision {
  sequence += 1;
  const pending = fields.status === 'pending_review';
  return {
    id: `dec_${sequence}_${Math.random().toString(36).slice(2)}`, system: 'claims-triage', department: 'claims', subjectRef: `claim-${sequence}`,
    recommendation: 'approve', score: 0.8, explanation: { method: 'kernel_shap', base_value: 0.5, attributions: { amount: 0.3 } },
    features: { amount: 1200 }, modelVersion: 'v1', keyId: 'key_1', keyName: 'app', adm: 'substantially_assisted',
    status: 'final', reviewReason: pending ? 'adverse' : null, dueAt: pending ? 2_000 : null, createdAt: 1_000 + sequence,
    finalOutcome: pending ? null : 'approve', finalizedAt: pending ? null : 1_000 + sequence, ...fields,
  };
}

export function runDecisionStoreContract(name: string, open: () => Promise<DecisionStoreFixture>): void {
  describe(`decision store contract: ${name}`, () => {
    it('keeps a decision and its protected attributes apart, across a restart', async () => {
      const fixture = await open();
      try {
        const made = await fixture.store.insert(decision({ recommendation: 'reject', status: 'pending_review' }), { race: 'Asian', sex: 'female' });
        expect(made).toMatchObject({ status: 'pending_review', finalOutcome: null, dueAt: 2_000, overridden: false, hallucinated: null, outcome: null });
        expect(made.explanation).toEqual({ method: 'kernel_shap', base_value: 0.5, attributions: { amount: 0.3 } });
        expect(JSON.stringify(made)).not.toContain('Asian');
        const plain = await fixture.store.insert(decision(), null);
        const reopened = await fixture.reopen();
        expect(await reopened.get(made.id)).toEqual(made);
        const attributes = await reopened.protectedOf([made.id, plain.id, 'dec_missing']);
        expect(attributes.get(made.id)).toEqual({ race: 'Asian', sex: 'female' });
        expect(attributes.has(plain.id)).toBe(false);
        expect(await reopened.get('dec_missing')).toBeUndefined();
      } finally {
        await fixture.cleanup();
      }
    });

    it('lets exactly one review make a pending decision final, and filters the queue', async () => {
      const fixture = await open();
      try {
        const { store } = fixture;
        const pending = await store.insert(decision({ recommendation: 'reject', status: 'pending_review', dueAt: 5_000 }), null);
        const late = await store.insert(decision({ recommendation: 'reject', status: 'pending_review', dueAt: 1_500, system: 'hiring', department: 'hr' }), null);
        await store.insert(decision(), null);
        expect((await store.list({ status: 'pending_review' })).map((record) => record.id).sort()).toEqual([pending.id, late.id].sort());
        expect((await store.list({ dueBy: 2_000 })).map((record) => record.id)).toEqual([late.id]);
        expect((await store.list({ department: 'hr' })).map((record) => record.id)).toEqual([late.id]);
        expect((await store.list({ systems: [] }))).toEqual([]);
        expect((await store.list({ systems: ['hiring', 'other'] })).map((record) => record.id)).toEqual([late.id]);
        const review = { reviewer: 'Alice', by: 'alice', outcome: 'approve', rationale: 'fine', at: 3_000, overridden: true, hallucinated: true };
        const results = await Promise.all([store.review(pending.id, review), store.review(pending.id, { ...review, reviewer: 'Bob' })]);
        expect(results.filter((result) => result !== undefined)).toHaveLength(1);
        const reviewed = await store.get(pending.id);
        expect(reviewed).toMatchObject({ status: 'final', finalOutcome: 'approve', finalizedAt: 3_000, reviewedAt: 3_000, overridden: true, hallucinated: true, rationale: 'fine' });
        expect((await store.list({ reviewedSince: 0 })).map((record) => record.id)).toEqual([pending.id]);
        expect((await store.list({ system: 'claims-triage', status: 'final', finalizedSince: 2_500 })).map((record) => record.id)).toEqual([pending.id]);
        const withOutcome = await store.recordOutcome(late.id, { outcome: 'reject', at: 4_000 });
        expect(withOutcome).toMatchObject({ outcome: 'reject', outcomeAt: 4_000, hallucinated: null, status: 'pending_review' });
        expect(await store.recordOutcome('dec_missing', { outcome: 'x', at: 1 })).toBeUndefined();
        expect(await store.claimOverdueAlert(late.id, 5_000)).toBe(true);
        expect(await store.claimOverdueAlert(late.id, 6_000)).toBe(false);
        expect((await store.get(late.id))?.overdueAlertedAt).toBe(5_000);
        expect(await store.list({ dueBy: 6_000, unalerted: true })).toEqual([]);
        expect((await store.list({ dueBy: 6_000 })).map((record) => record.id)).toEqual([late.id]);
      } finally {
        await fixture.cleanup();
      }
    });

    it('holds one active suspension per system until a person resumes it', async () => {
      const fixture = await open();
      try {
        const { store } = fixture;
        const suspension = { system: 'hiring', department: 'hr', reason: 'impact ratio 0.4', evidence: { impact_ratio: 0.4 }, suspendedAt: 1_000 };
        const [first, second] = await Promise.all([store.suspendSystem(suspension), store.suspendSystem({ ...suspension, suspendedAt: 1_001 })]);
        expect([first, second].filter((result) => result !== undefined)).toHaveLength(1);
        const reopened = await fixture.reopen();
        expect(await reopened.activeSuspension('hiring')).toMatchObject({ reason: 'impact ratio 0.4', evidence: { impact_ratio: 0.4 }, resumedAt: null });
        expect(await reopened.activeSuspension('claims-triage')).toBeUndefined();
        const resumed = await reopened.resumeSystem('hiring', { by: 'ops', reason: 'retrained', at: 2_000 });
        expect(resumed).toMatchObject({ resumedAt: 2_000, resumedBy: 'ops', resumeReason: 'retrained' });
        expect(await reopened.activeSuspension('hiring')).toBeUndefined();
        expect(await reopened.lastSuspension('hiring')).toMatchObject({ resumedAt: 2_000 });
        expect(await reopened.resumeSystem('hiring', { by: 'ops', reason: 'again', at: 3_000 })).toBeUndefined();
        expect(await reopened.suspendSystem({ ...suspension, suspendedAt: 4_000 })).toMatchObject({ suspendedAt: 4_000 });
      } finally {
        await fixture.cleanup();
      }
    });

    it('opens one breach per system, metric and model version until it is cleared, and records its delivery', async () => {
      const fixture = await open();
      try {
        const { store } = fixture;
        const breach = {
          system: 'fraud', department: 'claims', metric: 'precision', modelVersion: 'v1', value: 0.5, threshold: 0.9, evidence: { counts: { labelled: 10 } },
          breachedAt: 1_000, webhook: 'http://127.0.0.1:1/retrain',
        };
        const opened = await Promise.all([store.openBreach(breach), store.openBreach(breach)]);
        expect(opened.filter((result) => result !== undefined)).toHaveLength(1);
        expect(await store.openBreach({ ...breach, modelVersion: 'v2' })).toBeDefined();
        const open = await store.openBreaches('fraud');
        expect(open.map((entry) => entry.modelVersion)).toEqual(['v1', 'v2']);
        await store.markBreachDelivery(open[0]!.id, { attempts: 2, deliveredAt: 1_500 });
        await store.clearBreach(open[1]!.id, 2_000);
        const still = await store.openBreaches();
        expect(still).toHaveLength(1);
        expect(still[0]).toMatchObject({ modelVersion: 'v1', attempts: 2, deliveredAt: 1_500, evidence: { counts: { labelled: 10 } }, value: 0.5 });
        expect(await store.openBreach({ ...breach, modelVersion: 'v2', breachedAt: 3_000 })).toMatchObject({ breachedAt: 3_000 });
      } finally {
        await fixture.cleanup();
      }
    });
  });
}
