// The sourcing store's contract (inventory records, links, decisions, qualifications) and the workbench's rules over it; run on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import { CovenantError } from '../src/core/errors.js';
import type { SourcingStore } from '../src/sourcing/store.js';
import { SourcingWorkbench, type Actor } from '../src/sourcing/workbench.js';

export interface SourcingStoreFixture {
  store: SourcingStore;
  /** The same data opened again, as a restarted process would. */
  reopen(): Promise<SourcingStore>;
  cleanup(): Promise<void>;
}

const admin: Actor = { name: 'procurement-lead', department: null };
const claimsAdmin: Actor = { name: 'claims-admin', department: 'claims' };

const claimsTriage = { name: 'claims-triage', owner: 'Head of Claims', department: 'claims', purpose: 'triage incoming claims', risk_tier: 'high' };
const recruiting = { name: 'cv-screening', owner: 'Head of Talent', department: 'hr', risk_tier: 'high', regulatory: { nyc_ll144_aedt: true } };
const vendor = { name: 'acme-ai', layer: 'specialised_ai_vendor', services: ['claims scoring'] };

const failingAnswers = { bias_testing: { answer: 'no' as const } };
const passingAnswers = Object.fromEntries(['bias_testing', 'demographic_balance', 'data_provenance', 'copyright_warranty', 'privacy', 'annotation_labour',
  'no_training', 'weight_ownership', 'version_support', 'drift_remedies', 'liability_caps'].map((id) => [id, { answer: 'yes' as const, evidence: `https://acme.example/${id}` }]));

async function refusal(work: Promise<unknown>): Promise<CovenantError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof CovenantError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

export function runSourcingStoreContract(name: string, open: () => Promise<SourcingStoreFixture>): void {
  const withStore = (test: (fixture: SourcingStoreFixture) => Promise<void>) => async () => {
    const fixture = await open();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };
  const workbenchOn = (store: SourcingStore, entries: Record<string, unknown>[]) => {
    let now = Date.parse('2026-12-01T09:00:00Z');
    return new SourcingWorkbench({ store, record: async (entry) => { entries.push(entry); }, clock: () => (now += 1000) });
  };

  describe(`sourcing store contract: ${name}`, () => {
    it('keeps records, replaces them, lists them by name and department, and keeps them across a reopen', withStore(async (fixture) => {
      const entries: Record<string, unknown>[] = [];
      const workbench = workbenchOn(fixture.store, entries);
      await workbench.put('systems', recruiting, admin);
      await workbench.put('systems', claimsTriage, admin);
      await workbench.put('systems', { ...claimsTriage, purpose: 'triage and route claims' }, admin);
      await workbench.put('vendors', vendor, admin);
      expect((await workbench.list('systems', admin)).map((item) => item.name)).toEqual(['claims-triage', 'cv-screening']);
      expect((await workbench.list('systems', claimsAdmin)).map((item) => item.name)).toEqual(['claims-triage']);
      expect((await workbench.list('vendors', claimsAdmin)).map((item) => item.name)).toEqual(['acme-ai']);
      const reopened = await fixture.reopen();
      const stored = await reopened.get('systems', 'claims-triage');
      expect(stored).toMatchObject({ department: 'claims', updatedBy: 'procurement-lead', data: { purpose: 'triage and route claims', risk_tier: 'high', regulatory: {} } });
      expect(entries.map((entry) => [entry.action, (entry.item as { name: string }).name])).toEqual([
        ['created', 'cv-screening'], ['created', 'claims-triage'], ['updated', 'claims-triage'], ['created', 'acme-ai'],
      ]);
      expect(entries[2]).toMatchObject({ kind: 'inventory.changed', by: 'procurement-lead', department: 'claims', fields: ['purpose'] });
    }));

    it('hides another department\'s system as not found and refuses to change it or organisation-wide records', withStore(async (fixture) => {
      const workbench = workbenchOn(fixture.store, []);
      await workbench.put('systems', recruiting, admin);
      expect((await refusal(workbench.get('systems', 'cv-screening', claimsAdmin))).code).toBe('not_found');
      expect((await refusal(workbench.put('systems', { ...recruiting, owner: 'someone' }, claimsAdmin))).code).toBe('forbidden');
      expect((await refusal(workbench.put('vendors', vendor, claimsAdmin))).code).toBe('forbidden');
      expect((await refusal(workbench.put('systems', { ...claimsTriage, risk_tier: 'extreme' }, admin))).message).toContain('risk_tier');
    }));

    it('links records in either direction as one link, and removing a record removes its links', withStore(async (fixture) => {
      const workbench = workbenchOn(fixture.store, []);
      await workbench.put('systems', claimsTriage, admin);
      await workbench.put('vendors', vendor, admin);
      await workbench.put('models', { name: 'triage-v3', alias: 'triage', version: 'acme-triage-2026-11', vendor: 'acme-ai' }, admin);
      await workbench.link({ kind: 'systems', name: 'claims-triage' }, { kind: 'vendors', name: 'acme-ai' }, admin);
      await workbench.link({ kind: 'vendors', name: 'acme-ai' }, { kind: 'systems', name: 'claims-triage' }, admin);
      await workbench.link({ kind: 'models', name: 'triage-v3' }, { kind: 'systems', name: 'claims-triage' }, claimsAdmin);
      expect(await fixture.store.links({ kind: 'systems', name: 'claims-triage' })).toHaveLength(2);
      const view = await workbench.systemView('claims-triage', admin);
      expect(view.vendors.map((each) => each.name)).toEqual(['acme-ai']);
      expect(view.models).toEqual([expect.objectContaining({ name: 'triage-v3', alias: 'triage' })]);
      await workbench.remove('models', 'triage-v3', admin);
      expect(await fixture.store.links({ kind: 'systems', name: 'claims-triage' })).toHaveLength(1);
      await workbench.unlink({ kind: 'vendors', name: 'acme-ai' }, { kind: 'systems', name: 'claims-triage' }, admin);
      expect(await fixture.store.links()).toEqual([]);
    }));

    it('refuses to link a vendor that failed pre-qualification to a high-risk system without a named exception', withStore(async (fixture) => {
      const entries: Record<string, unknown>[] = [];
      const workbench = workbenchOn(fixture.store, entries);
      await workbench.put('systems', claimsTriage, admin);
      await workbench.put('systems', { ...claimsTriage, name: 'claims-faq', risk_tier: 'low' }, admin);
      await workbench.put('vendors', vendor, admin);
      const { result } = await workbench.qualify('acme-ai', failingAnswers, admin);
      expect(result.passed).toBe(false);
      const system = { kind: 'systems' as const, name: 'claims-triage' };
      const acme = { kind: 'vendors' as const, name: 'acme-ai' };
      const refused = await refusal(workbench.link(system, acme, claimsAdmin));
      expect(refused.code).toBe('vendor_not_qualified');
      expect(refused.status).toBe(409);
      expect(refused.message).toContain('acme-ai');
      // A low-risk system may use it; a high-risk one with a reason, kept with who granted it.
      await workbench.link({ kind: 'systems', name: 'claims-faq' }, acme, claimsAdmin);
      const granted = await workbench.link(system, acme, claimsAdmin, 'sole supplier until the Q2 tender; weekly bias review');
      expect(granted.exception).toMatchObject({ reason: 'sole supplier until the Q2 tender; weekly bias review', by: 'claims-admin' });
      const view = await workbench.systemView('claims-triage', admin);
      expect(view.vendors[0]).toMatchObject({ name: 'acme-ai', qualification: { passed: false }, exception: { by: 'claims-admin' } });
      expect(entries.filter((entry) => entry.action === 'linked').at(-1)).toMatchObject({
        kind: 'inventory.changed', by: 'claims-admin', exception: { reason: 'sole supplier until the Q2 tender; weekly bias review', by: 'claims-admin' },
      });
      // Making the low-risk system high-risk while it uses the failed vendor is refused too.
      expect((await refusal(workbench.put('systems', { ...claimsTriage, name: 'claims-faq', risk_tier: 'high' }, admin))).code).toBe('vendor_not_qualified');
      // Once the vendor passes, no exception is needed.
      await workbench.put('systems', { ...claimsTriage, name: 'claims-fraud' }, admin);
      await workbench.qualify('acme-ai', passingAnswers, admin);
      await workbench.link({ kind: 'systems', name: 'claims-fraud' }, acme, admin);
    }));

    it('stores decisions and qualifications newest first and sets the system\'s strategy and blueprint', withStore(async (fixture) => {
      const entries: Record<string, unknown>[] = [];
      const workbench = workbenchOn(fixture.store, entries);
      await workbench.put('systems', claimsTriage, admin);
      await workbench.put('vendors', vendor, admin);
      await workbench.decide({ differentiator: false, data_moat: false, speed_priority: true }, claimsAdmin, 'claims-triage');
      const { decision } = await workbench.decide({ differentiator: true, data_moat: false, speed_priority: true }, claimsAdmin, 'claims-triage');
      await workbench.applyBlueprint('claims-triage', 'C', claimsAdmin);
      await workbench.qualify('acme-ai', failingAnswers, admin);
      await workbench.qualify('acme-ai', passingAnswers, admin);
      const reopened = await fixture.reopen();
      const decisions = await reopened.decisions('claims-triage');
      expect(decisions.map((each) => each.strategy)).toEqual(['PARTNER', 'BUY']);
      expect(decisions[0]).toMatchObject({ id: decision!.id, decidedBy: 'claims-admin', answers: { differentiator: true, data_moat: false, speed_priority: true } });
      expect((await reopened.qualifications('acme-ai')).map((each) => each.passed)).toEqual([true, false]);
      expect((await reopened.qualifications('acme-ai'))[0]!.score).toBe(100);
      const view = await workbench.systemView('claims-triage', admin);
      expect(view).toMatchObject({ strategy: 'PARTNER', blueprint: 'C' });
      expect(view.required_clauses).toEqual(expect.arrayContaining(['human_review', 'explainability', 'override_logging']));
      expect(entries.map((entry) => entry.kind)).toEqual(expect.arrayContaining(['sourcing.decided', 'blueprint.applied', 'vendor.qualified']));
      expect(entries.find((entry) => entry.kind === 'blueprint.applied')).toMatchObject({ department: 'claims', by: 'claims-admin', system: 'claims-triage', blueprint: 'C' });
    }));

    it('refuses a whole file, writing nothing, when one of its links would be refused', withStore(async (fixture) => {
      const workbench = workbenchOn(fixture.store, []);
      await workbench.put('vendors', vendor, admin);
      await workbench.qualify('acme-ai', failingAnswers, admin);
      const file = {
        systems: [{ ...claimsTriage, regulatory: {}, risk_tier: 'high' } as never], vendors: [], models: [], contracts: [],
        links: [{ from: { kind: 'systems' as const, name: 'claims-triage' }, to: { kind: 'vendors' as const, name: 'acme-ai' } }],
      };
      expect((await refusal(workbench.importFile(file, admin))).code).toBe('vendor_not_qualified');
      expect(await fixture.store.get('systems', 'claims-triage')).toBeUndefined();
      const dangling = { ...file, links: [{ from: { kind: 'systems' as const, name: 'claims-triage' }, to: { kind: 'models' as const, name: 'nowhere' } }] };
      expect((await refusal(workbench.importFile(dangling, admin))).message).toContain('models/nowhere');
      expect((await refusal(workbench.importFile({ ...file, links: [] }, { name: 'hr-admin', department: 'hr' }))).code).toBe('forbidden');
      expect(await fixture.store.get('systems', 'claims-triage')).toBeUndefined();
      await workbench.importFile({ ...file, links: [{ ...file.links[0]!, exception: 'interim supplier' }] }, admin);
      expect((await fixture.store.links())[0]!.exception).toMatchObject({ reason: 'interim supplier', by: 'procurement-lead' });
    }));

    it('imports a whole file and exports only what an actor may see', withStore(async (fixture) => {
      const workbench = workbenchOn(fixture.store, []);
      await workbench.importFile({
        systems: [{ ...claimsTriage, regulatory: {}, risk_tier: 'high' } as never, { ...recruiting } as never],
        vendors: [{ ...vendor, data_use: {} } as never],
        models: [], contracts: [{ name: 'acme-msa', parties: ['Acme AI', 'Insurer'], vendor: 'acme-ai', clauses: { change_notice: { notice_days: 30 } } }],
        links: [{ from: { kind: 'systems', name: 'claims-triage' }, to: { kind: 'contracts', name: 'acme-msa' } }],
      }, admin);
      const claims = await workbench.exportFile(claimsAdmin);
      expect(claims.systems.map((system) => system.name)).toEqual(['claims-triage']);
      expect(claims.links).toEqual([{ from: { kind: 'contracts', name: 'acme-msa' }, to: { kind: 'systems', name: 'claims-triage' } }]);
      const everything = await workbench.exportFile(admin);
      expect(everything.systems).toHaveLength(2);
      expect(everything.contracts[0]).toMatchObject({ clauses: { change_notice: { notice_days: 30 } } });
    }));
  });
}
