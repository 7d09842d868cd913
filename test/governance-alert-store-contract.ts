// The governance alert store's contract: SQLite and PostgreSQL must both pass it. Call it from a *.test.ts file.
import { afterEach, describe, expect, it } from 'vitest';
import { AlertRaiser } from '../src/alerts/raiser.js';
import type { GovernanceAlertStore, NewGovernanceAlert } from '../src/alerts/store.js';

export interface GovernanceAlertStoreFixture {
  store: GovernanceAlertStore;
  /** The same data opened again, as a restarted process (or another replica) would. */
  reopen(): Promise<GovernanceAlertStore>;
  cleanup(): Promise<void>;
}

const base = Date.UTC(2026, 11, 1, 9, 0, 0);

function alert(fields: Partial<NewGovernanceAlert>): NewGovernanceAlert {
  return {
    kind: 'review_overdue', department: 'claims', subject: 'dec_1', message: 'The review of dec_1 is overdue.',
    evidence: { overdue_seconds: 60 }, time: base, webhook: null, ...fields,
  };
}

export function runGovernanceAlertStoreContract(name: string, open: () => Promise<GovernanceAlertStoreFixture>): void {
  describe(`governance alert store contract: ${name}`, () => {
    let fixture: GovernanceAlertStoreFixture | undefined;
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('keeps an alert with its evidence and delivery across a restart', async () => {
      fixture = await open();
      const recorded = await fixture.store.record(alert({ webhook: 'https://hooks.example/', evidence: { overdue_seconds: 60, system: 'loans' } }));
      expect(recorded).toMatchObject({ kind: 'review_overdue', status: 'pending', attempts: 0, deliveredAt: null, lastError: null });
      await fixture.store.markDelivery(recorded.id, { status: 'pending', attempts: 1, lastError: 'HTTP 500' });
      await fixture.store.markDelivery(recorded.id, { status: 'delivered', attempts: 2, deliveredAt: base + 500 });
      const [again] = await (await fixture.reopen()).list();
      expect(again).toEqual({
        ...recorded, status: 'delivered', attempts: 2, deliveredAt: base + 500, lastError: 'HTTP 500',
        evidence: { overdue_seconds: 60, system: 'loans' }, webhook: 'https://hooks.example/',
      });
    });

    it('records an alert without a webhook as status none', async () => {
      fixture = await open();
      const recorded = await fixture.store.record(alert({ kind: 'model_contract_warning', department: null }));
      expect(recorded).toMatchObject({ status: 'none', webhook: null, department: null });
    });

    it('lists newest first, filtered by department (with or without organisation-wide ones), kind and time', async () => {
      fixture = await open();
      const store = fixture.store;
      await store.record(alert({ kind: 'review_overdue', department: 'claims', time: base }));
      await store.record(alert({ kind: 'system_suspended', department: 'lending', subject: 'loans', time: base + 1000 }));
      await store.record(alert({ kind: 'model_version_changed', department: null, subject: 'chat@v1', time: base + 2000 }));
      await store.record(alert({ kind: 'sla_breach', department: 'claims', subject: 'triage', time: base + 3000 }));
      const kinds = (alerts: { kind: string }[]) => alerts.map((entry) => entry.kind);
      expect(kinds(await store.list())).toEqual(['sla_breach', 'model_version_changed', 'system_suspended', 'review_overdue']);
      expect(kinds(await store.list({ department: 'claims' }))).toEqual(['sla_breach', 'review_overdue']);
      expect(kinds(await store.list({ department: 'claims', organisation: true }))).toEqual(['sla_breach', 'model_version_changed', 'review_overdue']);
      expect(kinds(await store.list({ kinds: ['system_suspended', 'review_overdue'] }))).toEqual(['system_suspended', 'review_overdue']);
      expect(kinds(await store.list({ since: base + 1000 }))).toEqual(['sla_breach', 'model_version_changed', 'system_suspended']);
      expect(kinds(await store.list({ department: 'claims', kinds: ['review_overdue'], since: base }))).toEqual(['review_overdue']);
      expect(kinds(await store.list({ limit: 2 }))).toEqual(['sla_breach', 'model_version_changed']);
    });

    it('lets a raiser record each attempt: 500 once, then delivered on the second', async () => {
      fixture = await open();
      const answers = [500, 200];
      const posted: string[] = [];
      const fetchStub: typeof fetch = async (_url, init) => {
        posted.push(String(init?.body));
        return new Response('', { status: answers.shift() ?? 200 });
      };
      const raiser = new AlertRaiser({ store: fixture.store, fetch: fetchStub, baseDelayMs: 1, clock: () => base });
      const recorded = await raiser.raiseNow(
        { kind: 'material_drift', department: null, subject: 'chat@v1', message: 'drifted', evidence: { max_variance: 0.1 } },
        { url: 'https://hooks.example/services/T000/SECRET?token=abc', body: { event: 'material_drift' } });
      expect(posted).toEqual(['{"event":"material_drift"}', '{"event":"material_drift"}']);
      const [stored] = await fixture.store.list();
      expect(stored).toMatchObject({ id: recorded.id, status: 'delivered', attempts: 2, lastError: 'HTTP 500', deliveredAt: base });
      // The host only: the path and query of a webhook URL often hold its secret.
      expect(stored?.webhook).toBe('https://hooks.example/…');
    });

    it('marks an alert failed once every attempt has failed', async () => {
      fixture = await open();
      const raiser = new AlertRaiser({ store: fixture.store, fetch: async () => new Response('', { status: 503 }), maxAttempts: 3, baseDelayMs: 1 });
      await expect(raiser.raiseNow({ kind: 'system_suspended', department: 'lending', subject: 'loans', message: 'suspended', evidence: {} },
        { url: 'https://hooks.example/x', body: {} })).rejects.toThrow(/failed 3 times: HTTP 503/);
      expect((await fixture.store.list())[0]).toMatchObject({ status: 'failed', attempts: 3, lastError: 'HTTP 503', deliveredAt: null });
    });
  });
}
