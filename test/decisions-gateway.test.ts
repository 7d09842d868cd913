// Decision oversight through the running gateway: decisions over HTTP, reviews and overrides on the ledger, no adverse
// decision final without a person, overdue alerts, the reviewer role's reach, suspension on a live parity breach, and an
// SLA breach that fires the retraining webhook once with its evidence.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const environment = {
  ADMIN_KEY: 'sk-admin', AUDITOR: 'sk-auditor', REVIEWER: 'sk-reviewer', LEGAL_REVIEWER: 'sk-legal-reviewer', CLAIMS_ADMIN: 'sk-claims-admin',
  KEY_CLAIMS: 'sk-claims', KEY_LEGAL: 'sk-legal',
};

let gateway: TestGateway;
let hook: Server;
let received: { path: string; body: Record<string, unknown> }[];

function config(hookUrl: string): string {
  return `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: audit, key_env: AUDITOR, role: auditor }
  - { name: alice, key_env: REVIEWER, role: reviewer, department: claims }
  - { name: lee, key_env: LEGAL_REVIEWER, role: reviewer, department: legal }
  - { name: claims-lead, key_env: CLAIMS_ADMIN, department: claims }
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: mock-1 } ]
org:
  name: acme
  departments:
    - name: claims
      alerts: { thresholds: [0.9], webhook: ${hookUrl}/alerts }
      keys: [ { name: triage-app, key_env: KEY_CLAIMS } ]
    - name: legal
      keys: [ { name: legal-app, key_env: KEY_LEGAL } ]
systems:
  - name: claims-triage
    department: claims
    review: { required_for: [reject], window: 48h }
    explanation: { required: true, tolerance: 0.01 }
    adm: substantially_assisted
  - name: quick-check
    department: claims
    review: { window: 1s }
    adm: solely_automated
  - name: hiring
    department: claims
    review: { window: 48h }
    fairness: { attribute: sex, min_impact_ratio: 0.8, window: 30d, min_group_size: 5, on_breach: suspend }
  - name: fraud-score
    department: claims
    review: { window: 48h, adverse: [fraud] }
    sla: { min_precision: 0.9, min_recall: 0.8, window: 30d, min_samples: 10, retrain_webhook: ${hookUrl}/retrain }
  - name: claim-letters
    department: claims
    review: { required_for: [send], window: 48h }
    sla: { max_hallucination_rate: 0.1, window: 30d, min_samples: 3 }
`;
}

beforeEach(async () => {
  received = [];
  hook = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => { text += chunk; });
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: JSON.parse(text) });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  gateway = await startTestGateway(config(`http://127.0.0.1:${(hook.address() as AddressInfo).port}`), environment);
});

afterEach(async () => {
  await gateway.stop();
  await new Promise((resolve) => hook.close(resolve));
});

async function call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const decide = (body: Record<string, unknown>, key = 'sk-claims') => call('POST', '/v1/decisions', key, body);

const explained = (recommendation: string, score: number) => ({
  system: 'claims-triage', subject_ref: `claim-${Math.random()}`, recommendation, score, model_version: 'triage-2.1',
  explanation: { method: 'kernel_shap', base_value: 0.5, attributions: { claim_amount: score - 0.5 - 0.1, prior_claims: 0.1 } },
  features: { claim_amount: 1200, prior_claims: 2 }, protected: { sex: 'female' },
});

async function ledger(kind: string) {
  return (await gateway.stores.ledger.entries({ kind, limit: 1000 })).map((stored) => stored.entry);
}

describe('POST /v1/decisions', () => {
  it('makes a favorable recommendation final and sends an adverse one to a person, with the due time and why', async () => {
    const approve = await decide(explained('approve', 0.8));
    expect(approve.status).toBe(201);
    expect(approve.body).toMatchObject({ object: 'decision', status: 'final', final_outcome: 'approve', review: null });
    const reject = await decide(explained('Reject', 0.2));
    expect(reject.body.status).toBe('pending_review');
    expect(reject.body.final_outcome).toBeNull();
    expect(reject.body.review.reason).toContain('"reject" is adverse');
    expect(Date.parse(reject.body.review.due_at) - Date.parse(reject.body.created_at)).toBe(48 * 3_600_000);
    const recorded = await ledger('decision.recorded');
    expect(recorded.map((entry) => entry.status)).toEqual(['final', 'pending_review']);
    // Protected attributes and the subject reference itself never reach the ledger.
    expect(JSON.stringify(recorded)).not.toContain('female');
    expect(JSON.stringify(recorded)).not.toContain('claim-');
  });

  it('names the bad field, the gap of an inaccurate explanation, and refuses another department\'s key', async () => {
    const missing = await decide({ system: 'claims-triage', recommendation: 'approve', model_version: 'v1' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.param).toBe('subject_ref');
    const unknown = await decide({ ...explained('approve', 0.8), colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('colour');
    const unexplained = await decide({ system: 'claims-triage', subject_ref: 'c1', recommendation: 'approve', score: 0.8, model_version: 'v1' });
    expect(unexplained.status).toBe(422);
    expect(unexplained.body.error).toMatchObject({ code: 'invalid_explanation', param: 'explanation' });
    const inaccurate = await decide({ ...explained('approve', 0.8), explanation: { method: 'kernel_shap', base_value: 0.5, attributions: { claim_amount: 0.2, prior_claims: 0.05 } } });
    expect(inaccurate.status).toBe(422);
    expect(inaccurate.body.error.message).toMatch(/sum to 0\.25.* score − base_value is 0\.3.*gap 0\.0500.*tolerance 0\.01/);
    const foreign = await decide(explained('approve', 0.8), 'sk-legal');
    expect(foreign.status).toBe(403);
    const noKey = await call('POST', '/v1/decisions', 'sk-nope', explained('approve', 0.8));
    expect(noKey.status).toBe(401);
  });
});

describe('the review queue', () => {
  it('records a review and an override on the ledger with who, when, what the model said, what the person decided and why', async () => {
    const first = await decide(explained('reject', 0.2));
    const second = await decide(explained('reject', 0.1));
    const queue = await call('GET', '/admin/reviews', 'sk-reviewer');
    expect(queue.body.data.map((decision: { id: string }) => decision.id).sort()).toEqual([first.body.id, second.body.id].sort());
    const kept = await call('POST', `/admin/reviews/${first.body.id}`, 'sk-reviewer', { reviewer: 'Alice Ng', outcome: 'reject', rationale: 'Policy lapsed before the loss.' });
    expect(kept.body).toMatchObject({ status: 'final', final_outcome: 'reject', review: { reviewer: 'Alice Ng', reviewed_by: 'alice', overridden: false } });
    const changed = await call('POST', `/admin/reviews/${second.body.id}`, 'sk-reviewer', { reviewer: 'Alice Ng', outcome: 'approve', rationale: 'The receipts cover the claim.' });
    expect(changed.body).toMatchObject({ status: 'final', final_outcome: 'approve', review: { overridden: true } });
    const again = await call('POST', `/admin/reviews/${second.body.id}`, 'sk-reviewer', { outcome: 'reject', rationale: 'second thoughts' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('review_closed');
    const [reviewed] = await ledger('decision.reviewed');
    expect(reviewed).toMatchObject({ decision_id: first.body.id, reviewer: 'Alice Ng', by: 'alice', model_recommendation: 'reject', decided: 'reject', overridden: false });
    const [overridden] = await ledger('decision.overridden');
    expect(overridden).toMatchObject({
      decision_id: second.body.id, system: 'claims-triage', reviewer: 'Alice Ng', by: 'alice', model_recommendation: 'reject', model_score: 0.1,
      model_version: 'triage-2.1', decided: 'approve', overridden: true, rationale: 'The receipts cover the claim.',
    });
    expect(Date.parse(overridden!.reviewed_at as string)).toBeGreaterThan(0);
    const stats = await call('GET', '/admin/reviews/stats', 'sk-auditor');
    expect(stats.body.overall).toMatchObject({ reviews: 2, overrides: 1, overrideRate: 0.5 });
    expect(stats.body.byReviewer).toMatchObject([{ reviewer: 'Alice Ng', reviews: 2, overrides: 1 }]);
  });

  it('never makes an adverse decision final without a person; an overdue review alerts once', async () => {
    const pending = await decide({ system: 'quick-check', subject_ref: 's1', recommendation: 'decline', model_version: 'q1' });
    expect(pending.body.status).toBe('pending_review');
    await new Promise((resolve) => setTimeout(resolve, 1800));
    const still = await call('GET', `/admin/reviews/${pending.body.id}`, 'sk-admin');
    expect(still.body).toMatchObject({ status: 'pending_review', final_outcome: null, review: { overdue: true } });
    const overdue = await call('GET', '/admin/reviews?overdue=true', 'sk-admin');
    expect(overdue.body.data.map((decision: { id: string }) => decision.id)).toEqual([pending.body.id]);
    // The gateway's own sweep (every 0.2 s for a 1 s window) and two more by hand: one alert all the same.
    await gateway.decisions.sweepOverdue();
    await gateway.decisions.sweepOverdue();
    const deadline = Date.now() + 5000;
    while (!received.some((alert) => alert.body.event === 'decision.review_overdue') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const alerts = received.filter((alert) => alert.body.event === 'decision.review_overdue');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.path).toBe('/alerts');
    expect(await ledger('decision.review_overdue')).toHaveLength(1);
  });

  it('lets a reviewer key reach reviews and nothing else, in its own department only', async () => {
    const pending = await decide(explained('reject', 0.2));
    for (const path of ['/admin/spend', '/admin/systems', '/admin/keys', '/admin/sessions', `/admin/systems/hiring/decisions`]) {
      expect((await call('GET', path, 'sk-reviewer')).status, path).toBe(403);
    }
    expect((await call('POST', '/admin/systems/hiring/resume', 'sk-reviewer', { reason: 'x' })).status).toBe(403);
    expect((await call('GET', '/admin/reviews', 'sk-legal-reviewer')).body.data).toEqual([]);
    expect((await call('POST', `/admin/reviews/${pending.body.id}`, 'sk-legal-reviewer', { outcome: 'approve', rationale: 'r' })).status).toBe(403);
    expect((await call('POST', `/admin/reviews/${pending.body.id}`, 'sk-auditor', { outcome: 'approve', rationale: 'r' })).status).toBe(403);
    expect((await call('GET', '/admin/reviews', 'sk-auditor')).status).toBe(200);
    expect((await call('POST', `/admin/reviews/${pending.body.id}`, 'sk-admin', { outcome: 'reject', rationale: 'confirmed' })).status).toBe(200);
  });
});

describe('live bias monitoring', () => {
  it('suspends automated scoring when the impact ratio falls below the bound, until a person resumes it', async () => {
    const hire = (sex: string, recommendation: string) => decide({ system: 'hiring', subject_ref: `cv-${Math.random()}`, recommendation, model_version: 'h1', protected: { sex } });
    for (let index = 0; index < 6; index += 1) expect((await hire('male', 'approve')).body.status).toBe('final');
    for (let index = 0; index < 2; index += 1) await hire('female', 'approve');
    for (let index = 0; index < 4; index += 1) {
      const rejected = await hire('female', 'reject');
      await call('POST', `/admin/reviews/${rejected.body.id}`, 'sk-reviewer', { outcome: 'reject', rationale: 'fewer years of experience' });
    }
    // The third rejection a person confirmed makes the female group 5 strong (min_group_size) with 2 of 5 selected,
    // against 6 of 6 men: impact ratio 0.4 < 0.8, so scoring is suspended then, once.
    const suspensions = await ledger('system.suspended');
    expect(suspensions).toHaveLength(1);
    expect(suspensions[0]).toMatchObject({ system: 'hiring', evidence: { attribute: 'sex', impact_ratio: 0.4, lowest_group: 'female', reference_group: 'male', min_group_size: 5 } });
    const next = await hire('male', 'approve');
    expect(next.body.status).toBe('pending_review');
    expect(next.body.review.reason).toContain('suspended');
    expect(received.some((alert) => alert.body.event === 'system.suspended')).toBe(true);
    const listed = await call('GET', '/admin/systems', 'sk-auditor');
    expect(listed.body.data.find((system: { name: string }) => system.name === 'hiring').status).toBe('suspended');
    // Only an auditor (or admin) reads the protected attributes.
    const audit = await call('GET', '/admin/systems/hiring/decisions?include=protected', 'sk-auditor');
    expect(audit.body.decisions).toHaveLength(13);
    expect(audit.body.decisions[0]).toMatchObject({ system: 'hiring', model_version: 'h1', protected: { sex: 'male' } });
    const plain = await call('GET', '/admin/systems/hiring/decisions', 'sk-claims-admin');
    expect(plain.body.decisions[0].protected).toBeUndefined();
    const resumed = await call('POST', '/admin/systems/hiring/resume', 'sk-admin', { reason: 'Retrained on a balanced set; re-audited.' });
    expect(resumed.body).toMatchObject({ status: 'resumed', resumed_by: 'ops' });
    expect(await ledger('system.resumed')).toMatchObject([{ system: 'hiring', by: 'ops', reason: 'Retrained on a balanced set; re-audited.' }]);
    expect((await hire('male', 'approve')).body.status).toBe('final');
    expect(JSON.stringify(await ledger('decision.recorded'))).not.toContain('"sex"');
  });
});

describe('performance SLAs', () => {
  it('fires the retraining webhook once with the evidence when precision falls below the contract threshold', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 14; index += 1) {
      const made = await decide({ system: 'fraud-score', subject_ref: `tx-${index}`, recommendation: 'clear', model_version: 'fs-3' });
      ids.push(made.body.id);
    }
    // The model cleared all 14; the ground truth says the first 5 were fraud. At the 10th outcome (min_samples) precision
    // is 5/10 = 0.5 < 0.9: one breach, one webhook, however many outcomes follow while it stays below.
    for (const [index, id] of ids.entries()) {
      const answer = await call('POST', `/v1/decisions/${id}/outcome`, 'sk-claims', { outcome: index < 5 ? 'fraud' : 'clear' });
      expect(answer.status).toBe(200);
    }
    const deadline = Date.now() + 5000;
    while (!received.some((alert) => alert.path === '/retrain') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const retrain = received.filter((alert) => alert.path === '/retrain');
    expect(retrain).toHaveLength(1);
    expect(retrain[0]!.body).toMatchObject({
      event: 'retrain.requested', system: 'fraud-score', metric: 'precision', value: 0.5, threshold: 0.9, window: '30d',
      counts: { labelled: 10, true_positives: 5, false_positives: 5, true_negatives: 0, false_negatives: 0 }, model_version: 'fs-3', model_versions: ['fs-3'],
    });
    // Wilson 95% interval of 5 of 10.
    expect(retrain[0]!.body.interval.lower).toBeCloseTo(0.2366, 4);
    expect(retrain[0]!.body.interval.upper).toBeCloseTo(0.7634, 4);
    expect(retrain[0]!.body.interval).toMatchObject({ method: 'wilson' });
    const breaches = await ledger('sla_breach');
    expect(breaches).toHaveLength(1);
    const performance = await call('GET', '/admin/systems/fraud-score/performance', 'sk-auditor');
    expect(performance.body.open_breaches[0].webhook).toMatchObject({ delivered: true, attempts: 1 });
    const foreign = await call('POST', `/v1/decisions/${ids[0]}/outcome`, 'sk-legal', { outcome: 'clear' });
    expect(foreign.status).toBe(404);
  });
});

describe('hallucination rate', () => {
  it('counts reviewers\' labels and alerts a breach of the maximum once, to the department\'s webhook without a retraining one', async () => {
    for (const hallucinated of [false, true, false, true]) {
      const letter = await decide({ system: 'claim-letters', subject_ref: `letter-${Math.random()}`, recommendation: 'send', model_version: 'gen-7' });
      expect(letter.body.status).toBe('pending_review');
      await call('POST', `/admin/reviews/${letter.body.id}`, 'sk-reviewer', { outcome: hallucinated ? 'hold' : 'send', rationale: 'read it', hallucinated });
    }
    const deadline = Date.now() + 5000;
    while (!received.some((alert) => alert.body.metric === 'hallucination_rate') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // At the third label the rate is 1 of 3 > 0.1: one breach, not one per label.
    const alerts = received.filter((alert) => alert.body.metric === 'hallucination_rate');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ path: '/alerts', body: { event: 'retrain.requested', value: 1 / 3, threshold: 0.1, direction: 'maximum', counts: { labelled: 3, hallucinated: 1 }, model_version: 'gen-7' } });
    const performance = await call('GET', '/admin/systems/claim-letters/performance', 'sk-admin');
    expect(performance.body.versions[0].hallucination_rate).toMatchObject({ value: 0.5, successes: 2, trials: 4 });
  });
});

describe('transparency', () => {
  it('states the personal information used and how decisions are made, without protected values', async () => {
    await decide(explained('approve', 0.8));
    const pending = await decide(explained('reject', 0.2));
    await call('POST', `/admin/reviews/${pending.body.id}`, 'sk-reviewer', { outcome: 'approve', rationale: 'documents check out' });
    const report = await call('GET', '/admin/systems/claims-triage/transparency', 'sk-claims-admin');
    expect(report.body).toMatchObject({
      adm_classification: 'substantially_assisted', personal_information: { features_used: ['claim_amount', 'prior_claims'] },
      decisions: { total: 2, final_without_a_person: 1, signed_off_by_a_person: 1 }, human_review: { reviews: 1, overrides: 1, override_rate: 1 },
    });
    expect(JSON.stringify(report.body)).not.toContain('female');
    const markdown = await call('GET', '/admin/systems/claims-triage/transparency?format=md', 'sk-admin');
    expect(markdown.body).toContain('# Automated decision-making: claims-triage');
    expect((await call('GET', '/admin/systems/claims-triage/transparency', 'sk-legal-reviewer')).status).toBe(403);
  });
});
