// The contract record store's contract: SQLite and PostgreSQL must both pass it. Call it from a *.test.ts file.
import { describe, expect, it } from 'vitest';
import type { LedgerEntryInput } from '../src/ledger/types.js';
import type { ContractRecordStore } from '../src/sourcing/records.js';
import { ContractWorkbench } from '../src/sourcing/contract-workbench.js';

export interface ContractRecordFixture {
  store: ContractRecordStore;
  /** The same data opened again, as a restarted process would. */
  reopen(): Promise<ContractRecordStore>;
  cleanup(): Promise<void>;
}

const sha = (digit: string) => digit.repeat(64);

export function runContractRecordStoreContract(name: string, open: () => Promise<ContractRecordFixture>): void {
  const withStore = (test: (fixture: ContractRecordFixture) => Promise<void>) => async () => {
    const fixture = await open();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`contract record store contract: ${name}`, () => {
    it('keeps contract checks across a restart, newest first, narrowed by department and system', withStore(async (fixture) => {
      const base = { sha256: sha('a'), format: 'md', blueprint: 'B', contractId: 'MSA-7', passed: false, missing: ['no_training' as const], weaker: ['change_notice' as const], checkedBy: 'ops', checkedAt: 1_800_000_000_000 };
      const first = await fixture.store.recordCheck({ ...base, file: 'a.md', system: 'policy-admin', department: 'claims', result: { findings: [{ clause: 'no_training', status: 'missing' }] } });
      await fixture.store.recordCheck({ ...base, file: 'b.md', system: 'hr-screen', department: 'hr', passed: true, missing: [], weaker: [], result: null });
      expect(first).toMatchObject({ id: expect.any(Number), file: 'a.md', passed: false, missing: ['no_training'], weaker: ['change_notice'], checkedAt: 1_800_000_000_000 });
      const again = await fixture.reopen();
      expect((await again.listChecks()).map((check) => check.file)).toEqual(['b.md', 'a.md']);
      expect((await again.listChecks({ department: 'claims' })).map((check) => check.file)).toEqual(['a.md']);
      expect((await again.listChecks({ system: 'hr-screen' })).map((check) => check.passed)).toEqual([true]);
      expect(await again.getCheck(first.id)).toEqual(first);
      expect(await again.getCheck(999_999)).toBeUndefined();
    }));

    it('delivers a portability request once, by the artifact registered against its contract, with ledger entries', withStore(async (fixture) => {
      const entries: LedgerEntryInput[] = [];
      let now = Date.UTC(2027, 0, 1, 12);
      const workbench = new ContractWorkbench({ store: fixture.store, record: async (entry) => { entries.push(entry); }, clock: () => now });
      const request = await workbench.openRequest({ contractId: 'MSA-7', dueBusinessDays: 10, holidays: ['2027-01-11'], department: 'claims', by: 'ops' });
      expect(request).toMatchObject({ status: 'open', requestedOn: '2027-01-01', dueOn: '2027-01-18', holidays: ['2027-01-11'], weightsId: null });
      const other = await workbench.openRequest({ contractId: 'MSA-9', dueBusinessDays: 2, department: null, by: 'ops' });
      now = Date.UTC(2027, 0, 6, 9);
      const { weights, delivered } = await workbench.registerWeights({
        path: 'out/adapter.safetensors', format: 'safetensors', sha256: sha('b'), bytes: 4096, parameters: 1000, summary: { tensors: 2 },
        contractId: 'MSA-7', system: null, department: 'claims', registeredBy: 'ops',
      });
      expect(delivered.map((each) => [each.id, each.status, each.weightsId])).toEqual([[request.id, 'delivered', weights.id]]);
      // MSA-9 was due on 2027-01-05: now overdue, once.
      expect((await workbench.listRequests()).map((each) => [each.contractId, each.status])).toEqual([['MSA-9', 'overdue'], ['MSA-7', 'delivered']]);
      await workbench.listRequests();
      expect(entries.map((entry) => entry.kind)).toEqual(['portability.requested', 'portability.requested', 'weights.registered', 'portability.delivered', 'portability.overdue']);
      expect(entries[3]).toMatchObject({ request_id: request.id, weights_id: weights.id, on_time: true, department: 'claims' });
      expect(await fixture.store.deliver(request.id, { weightsId: weights.id, at: now })).toBeUndefined();
      const late = await workbench.deliver(other.id, weights, 'ops');
      expect(late).toMatchObject({ status: 'delivered', weightsId: weights.id });
      expect(entries.at(-1)).toMatchObject({ kind: 'portability.delivered', on_time: false });
      const again = await fixture.reopen();
      expect((await again.listWeights({ contractId: 'MSA-7' })).map((each) => [each.sha256, each.parameters, each.summary])).toEqual([[sha('b'), 1000, { tensors: 2 }]]);
      expect(await again.listRequests({ status: 'open' })).toEqual([]);
      expect(await again.markOverdue(request.id, now)).toBe(false);
    }));
  });
}
