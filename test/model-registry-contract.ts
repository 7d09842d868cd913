// The model registry's contract on every backend (SQLite, PostgreSQL): seeding, moves, rollback targets, fingerprints, replicas. Call it from a *.test.ts file.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { resolveConfig, type ResolvedConfig } from '../src/config/resolve.js';
import type { LedgerEntryInput } from '../src/ledger/types.js';
import { ModelRegistry } from '../src/models/registry.js';
import type { ModelRegistryStore } from '../src/models/types.js';

export interface RegistryStoreFixture {
  store: ModelRegistryStore;
  /** A second connection to the same data, as another replica (or a restarted process) opens it. */
  reopen(): Promise<ModelRegistryStore>;
  cleanup(): Promise<void>;
}

export function registryConfig(version = 'gpt-4o-mini-2024-07-18', extra = ''): ResolvedConfig {
  return resolveConfig(parseConfigText(`
providers: [ { name: openai, type: openai, base_url: "http://127.0.0.1:9/v1" } ]
models:
  - alias: fast
    provider: openai
    version: ${version}
    price: { input_per_mtok: 1, output_per_mtok: 2 }
    contract: { support_until: "2028-12-01", notice_days: 60, deprecation: { announced: "2027-01-01", sunset: "2027-02-01" } }
${extra}
org: { name: acme }
`, '<test>'), {});
}

function registryOn(store: ModelRegistryStore, config: () => ResolvedConfig, entries: LedgerEntryInput[], clock?: () => number): ModelRegistry {
  return new ModelRegistry({ store, config, record: async (entry) => { entries.push(entry); }, clock });
}

export function runRegistryStoreContract(name: string, open: () => Promise<RegistryStoreFixture>): void {
  const withStore = (test: (fixture: RegistryStoreFixture) => Promise<void>) => async () => {
    const fixture = await open();
    try {
      await test(fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`model registry contract: ${name}`, () => {
    it('seeds each alias from the config once, records its terms, and moves it when the config pins another version', withStore(async (fixture) => {
      const entries: LedgerEntryInput[] = [];
      let config = registryConfig();
      const registry = registryOn(fixture.store, () => config, entries);
      await registry.load();
      await registry.seed();
      await registry.seed();
      expect(registry.activeVersion('fast')).toBe('gpt-4o-mini-2024-07-18');
      expect(entries.filter((entry) => entry.kind === 'model.seeded')).toHaveLength(1);
      const shown = registry.describe('fast')!;
      const versions = shown.versions as Record<string, unknown>[];
      expect(versions).toHaveLength(1);
      expect(versions[0]).toMatchObject({ provider: 'openai', upstream_id: 'gpt-4o-mini-2024-07-18', deprecation_notice: '2027-01-01T00:00:00.000Z', support_until: '2027-02-01T00:00:00.000Z' });
      expect(versions[0]!.price).toEqual({ input_per_mtok: 1, output_per_mtok: 2 });

      config = registryConfig('gpt-4o-2024-08-06');
      await registry.seed();
      expect(registry.activeVersion('fast')).toBe('gpt-4o-2024-08-06');
      const history = await registry.history('fast');
      expect(history.map((move) => [move.action, move.to_version, move.by])).toEqual([
        ['seeded', 'gpt-4o-mini-2024-07-18', 'config'], ['seeded', 'gpt-4o-2024-08-06', 'config'],
      ]);
      // A restarted process with the same config adds nothing.
      const again = registryOn(await fixture.reopen(), () => config, entries);
      await again.load();
      await again.seed();
      expect(await again.history('fast')).toHaveLength(2);
    }));

    it('stages, promotes and rolls back to the last known-stable version, each move once in the store and the ledger', withStore(async (fixture) => {
      const entries: LedgerEntryInput[] = [];
      const config = registryConfig();
      const registry = registryOn(fixture.store, () => config, entries);
      await registry.load();
      await registry.seed();
      await expect(registry.promote('fast', 'ops')).rejects.toThrow(/no staged candidate/);
      await expect(registry.rollback('fast', 'ops')).rejects.toThrow(/no earlier known-stable version/);
      await registry.stage('fast', 'gpt-4o-2024-08-06', 'ops', { reason: 'evaluate' });
      expect(registry.candidate('fast')?.version).toBe('gpt-4o-2024-08-06');
      expect(registry.activeVersion('fast')).toBe('gpt-4o-mini-2024-07-18');
      await registry.promote('fast', 'ops');
      expect(registry.activeVersion('fast')).toBe('gpt-4o-2024-08-06');
      expect(registry.candidate('fast')).toBeUndefined();
      await registry.stage('fast', 'gpt-4.1-mini', 'ops');
      await registry.promote('fast', 'ops');
      const rolled = await registry.rollback('fast', 'lead', 'answers got worse');
      expect(rolled).toMatchObject({ from_version: 'gpt-4.1-mini', to_version: 'gpt-4o-2024-08-06', by: 'lead' });
      // A second rollback skips the version rolled back from and goes further back.
      const second = await registry.rollback('fast', 'lead');
      expect(second.to_version).toBe('gpt-4o-mini-2024-07-18');
      const shown = registry.describe('fast')!;
      const status = Object.fromEntries((shown.versions as { version: string; status: string }[]).map((version) => [version.version, version.status]));
      expect(status).toEqual({ 'gpt-4o-mini-2024-07-18': 'active', 'gpt-4o-2024-08-06': 'retired', 'gpt-4.1-mini': 'retired' });
      expect(entries.map((entry) => entry.kind)).toEqual([
        'model.seeded', 'model.staged', 'model.promoted', 'model.staged', 'model.promoted', 'model.rolled_back', 'model.rolled_back',
      ]);
      expect(entries.find((entry) => entry.kind === 'model.rolled_back')).toMatchObject({ alias: 'fast', by: 'lead', reason: 'answers got worse' });
      // The built-in price table prices a staged version it knows.
      const priced = (shown.versions as { version: string; price: { input_per_mtok: number } }[]).find((version) => version.version === 'gpt-4o-2024-08-06')!;
      expect(priced.price.input_per_mtok).toBe(2.5);
    }));

    it('takes the first fingerprint as baseline, reports a later one once across replicas, and blocks until acknowledged', withStore(async (fixture) => {
      const entries: LedgerEntryInput[] = [];
      const config = registryConfig('gpt-4o-mini-2024-07-18', '    on_silent_change: block');
      const first = registryOn(fixture.store, () => config, entries);
      await first.load();
      await first.seed();
      const second = registryOn(await fixture.reopen(), () => config, entries);
      await second.load();
      first.observe('fast', 'gpt-4o-mini-2024-07-18', { model: 'gpt-4o-mini-2024-07-18', fingerprint: 'fp_a' }, 'req_1');
      await first.idle();
      await second.refresh();
      second.observe('fast', 'gpt-4o-mini-2024-07-18', { model: 'gpt-4o-mini-2024-07-18', fingerprint: 'fp_a' }, 'req_2');
      expect(entries.filter((entry) => entry.kind === 'model.version_changed')).toHaveLength(0);
      // Both replicas see the new fingerprint at once: one entry.
      first.observe('fast', 'gpt-4o-mini-2024-07-18', { model: 'gpt-4o-mini-2024-07-18', fingerprint: 'fp_b' }, 'req_3');
      second.observe('fast', 'gpt-4o-mini-2024-07-18', { model: 'gpt-4o-mini-2024-07-18', fingerprint: 'fp_b' }, 'req_4');
      await Promise.all([first.idle(), second.idle()]);
      const changes = entries.filter((entry) => entry.kind === 'model.version_changed');
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ alias: 'fast', changed: 'fingerprint', before: ['fp_a'], after: 'fp_b', blocked: true });
      // Either replica may have written the change; each sees it after its next refresh (once a second in the gateway).
      await Promise.all([first.refresh(), second.refresh()]);
      expect(first.blocked('fast')).toBeDefined();
      expect(second.blocked('fast')).toBeDefined();
      await second.acknowledge('fast', 'ops', 'provider confirmed a safe rotation');
      expect(second.blocked('fast')).toBeUndefined();
      await first.refresh();
      expect(first.blocked('fast')).toBeUndefined();
      const fingerprints = (await first.fingerprints()).filter((row) => row.kind === 'fingerprint').map((row) => [row.value, row.expected]);
      expect(fingerprints).toEqual([['fp_a', true], ['fp_b', false]]);
    }));

    it('counts calls and shadow spend durably and keeps every move in order', withStore(async (fixture) => {
      const config = registryConfig();
      const registry = registryOn(fixture.store, () => config, [], () => Date.parse('2026-12-06T10:00:00Z'));
      await registry.load();
      await registry.seed();
      for (let index = 0; index < 5; index++) registry.observe('fast', 'gpt-4o-mini-2024-07-18', { model: null, fingerprint: null }, `r${index}`);
      registry.addShadowSpend('fast', 'gpt-4o-mini-2024-07-18', 1234);
      await registry.flush();
      const restarted = registryOn(await fixture.reopen(), () => config, []);
      await restarted.load();
      const version = (restarted.describe('fast')!.versions as Record<string, unknown>[])[0]!;
      expect(version).toMatchObject({ calls: 5, shadow_spent_usd_micros: 1234, last_seen: '2026-12-06T10:00:00.000Z' });
    }));

    it('keeps each mock provider\'s run-time settings, moves the change counter on every write, and hands them over at load', withStore(async (fixture) => {
      const store = fixture.store;
      expect(await store.mockSettings()).toEqual([]);
      const before = await store.changeCounter();
      await store.setMockSettings('demo', { fingerprint: 'fp_rev2', latencyMs: 150 });
      const afterSet = await store.changeCounter();
      expect(afterSet).not.toBe(before);
      await store.setMockSettings('demo', { fingerprint: 'fp_rev3' });
      const afterChange = await store.changeCounter();
      expect(afterChange).not.toBe(afterSet);
      expect(await store.mockSettings()).toEqual([{ provider: 'demo', settings: { fingerprint: 'fp_rev3' } }]);
      const handed: Map<string, Record<string, unknown>>[] = [];
      const config = registryConfig();
      const restarted = new ModelRegistry({ store: await fixture.reopen(), config: () => config, record: async () => undefined, onMockSettings: (settings) => handed.push(settings) });
      await restarted.load();
      expect(handed.at(-1)).toEqual(new Map([['demo', { fingerprint: 'fp_rev3' }]]));
      // A reset leaves no settings, and is a change too (a replica that saw the earlier one reloads).
      await restarted.setMockSettings('demo', null);
      expect(handed.at(-1)).toEqual(new Map());
      expect(await store.mockSettings()).toEqual([]);
      expect(await store.changeCounter()).not.toBe(afterChange);
    }));

    it('keeps each replica\'s live drift windows apart, replaces them on save, and keeps them across a reopen', withStore(async (fixture) => {
      const store = fixture.store;
      expect(await store.driftWindows('a')).toEqual([]);
      await store.saveDriftWindows('a', [{ alias: 'fast', version: 'v1', state: { breachSince: 1 } }, { alias: 'fast', version: 'v2', state: { breachSince: null } }], 100);
      await store.saveDriftWindows('b', [{ alias: 'fast', version: 'v1', state: { breachSince: 5 } }], 100);
      await store.saveDriftWindows('a', [{ alias: 'fast', version: 'v1', state: { breachSince: 2 } }], 200);
      await store.saveDriftWindows('a', [], 300);
      const reopened = await fixture.reopen();
      expect(await reopened.driftWindows('a')).toEqual([
        { alias: 'fast', version: 'v1', state: { breachSince: 2 } }, { alias: 'fast', version: 'v2', state: { breachSince: null } },
      ]);
      expect(await reopened.driftWindows('b')).toEqual([{ alias: 'fast', version: 'v1', state: { breachSince: 5 } }]);
    }));
  });
}
