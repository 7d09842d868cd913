// The live parity monitor over a real SQLite store with a fixed clock: small groups left out, alert-only mode, the
// window restarting at a resumption, and decisions outside the window forgotten.
import { describe, expect, it } from 'vitest';
import { resolveSystem } from '../src/config/systems.js';
import { AlertSender } from '../src/decisions/alerts.js';
import { DecisionOversight } from '../src/decisions/oversight.js';
import type { LedgerEntryInput } from '../src/ledger/types.js';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { createSqliteDecisionStore } from '../src/stores/sqlite/decision-store.js';

function setup(onBreach: 'suspend' | 'alert') {
  const system = resolveSystem({
    name: 'hiring', department: 'hr', review: { window: '48h' }, explanation: { required: false, tolerance: 0.01 }, adm: 'solely_automated',
    fairness: { attribute: 'sex', min_impact_ratio: 0.8, window: '1d', min_group_size: 4, on_breach: onBreach },
  });
  const database = openDatabase(':memory:');
  const entries: LedgerEntryInput[] = [];
  let now = Date.parse('2026-01-01T00:00:00Z');
  const oversight = new DecisionOversight({
    store: createSqliteDecisionStore(database), systems: () => new Map([['hiring', system]]), configVersion: () => 'test',
    record: async (entry) => { entries.push(entry); }, alertWebhook: () => undefined, alerts: new AlertSender({}), clock: () => now,
    onError: (error) => { throw error; },
  });
  const sender = { id: 'key_1', name: 'ats', department: 'hr' };
  const hire = async (sex: string, recommendation: string) => {
    now += 1000;
    const record = await oversight.submit({ system: 'hiring', subject_ref: `cv-${now}`, recommendation, model_version: 'h1', protected: { sex } }, sender);
    if (record.status === 'pending_review' && recommendation === 'reject') {
      await oversight.review(record.id, { reviewer: 'pat', by: 'pat', outcome: 'reject', rationale: 'confirmed' });
    }
    return record;
  };
  return { oversight, entries, hire, advance: (ms: number) => { now += ms; }, close: () => database.close() };
}

const kinds = (entries: LedgerEntryInput[], kind: string) => entries.filter((entry) => entry.kind === kind);

describe('live parity monitor', () => {
  it('leaves groups under min_group_size out of the comparison', async () => {
    const { entries, hire, close } = setup('suspend');
    for (let index = 0; index < 4; index += 1) await hire('male', 'approve');
    // Three women, all rejected: a ratio of 0, but a group of 3 < 4 is not compared.
    for (let index = 0; index < 3; index += 1) await hire('female', 'reject');
    expect(kinds(entries, 'system.suspended')).toEqual([]);
    await hire('female', 'reject');
    expect(kinds(entries, 'system.suspended')).toHaveLength(1);
    expect(kinds(entries, 'system.suspended')[0]!.evidence).toMatchObject({ impact_ratio: 0, decisions: 8, small_groups: 0 });
    close();
  });

  it('records and alerts a breach without suspending when on_breach is alert, once until it recovers', async () => {
    const { oversight, entries, hire, close } = setup('alert');
    for (let index = 0; index < 4; index += 1) await hire('male', 'approve');
    for (let index = 0; index < 4; index += 1) await hire('female', 'reject');
    await hire('female', 'reject');
    expect(kinds(entries, 'system.suspended')).toEqual([]);
    expect(kinds(entries, 'fairness.breach')).toHaveLength(1);
    expect(kinds(entries, 'fairness.breach')[0]).toMatchObject({ attribute: 'sex', impact_ratio: 0, lowest_group: 'female' });
    expect((await hire('male', 'approve')).status).toBe('final');
    expect(await oversight.store.openBreaches('hiring')).toHaveLength(1);
    // Twenty approvals for women make their rate 20 of 25 = 0.8 against the men's 5 of 5: back within bounds, closed.
    for (let index = 0; index < 20; index += 1) await hire('female', 'approve');
    expect(await oversight.store.openBreaches('hiring')).toEqual([]);
    close();
  });

  it('counts only decisions since a resumption and within the window', async () => {
    const { oversight, entries, hire, advance, close } = setup('suspend');
    for (let index = 0; index < 4; index += 1) await hire('male', 'approve');
    for (let index = 0; index < 4; index += 1) await hire('female', 'reject');
    expect(kinds(entries, 'system.suspended')).toHaveLength(1);
    await oversight.resume('hiring', 'ops', 'reviewed with the fairness lead');
    // After the resumption the window starts empty: the same pattern must build up again before it suspends again.
    for (let index = 0; index < 4; index += 1) expect((await hire('male', 'approve')).status).toBe('final');
    for (let index = 0; index < 3; index += 1) await hire('female', 'reject');
    expect(kinds(entries, 'system.suspended')).toHaveLength(1);
    advance(2 * 86_400_000);
    // Two days later the window (1d) holds none of them: four fair decisions per group pass.
    for (let index = 0; index < 4; index += 1) await hire('male', 'approve');
    for (let index = 0; index < 4; index += 1) await hire('female', 'approve');
    expect(kinds(entries, 'system.suspended')).toHaveLength(1);
    expect(kinds(entries, 'system.resumed')).toMatchObject([{ system: 'hiring', by: 'ops' }]);
    close();
  });
});
