// Contract suite for the key store and the request log (read from ledger entries): the same cases against SQLite (temp file) and PostgreSQL (own schema).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRevisionConflict, type KeyStore, type NewKey, type RequestLog, type RequestRecord } from '../src/stores/records.js';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { SqliteKeyStore, SqliteRequestLog } from '../src/stores/sqlite/records.js';
import { openSqliteLedger } from '../src/stores/sqlite/ledger-store.js';
import type { LedgerEntryInput, LedgerStore } from '../src/ledger/types.js';
import { createPostgresStores } from '../src/stores/postgres/index.js';
import { createTestSchema } from './helpers/services.js';
import { checkOldPostgresKeys, checkOldSqliteKeys } from './helpers/old-records.js';

interface OpenStores {
  keys: KeyStore;
  requestLog: RequestLog;
  ledger: LedgerStore;
  close(): Promise<void>;
}

/** One data set; open() gives another handle on it (another replica, or the same one after a restart). */
interface Harness {
  open(): Promise<OpenStores>;
  cleanup(): Promise<void>;
}

function sqliteHarness(): Harness {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-records-'));
  const path = join(directory, 'covenant.db');
  const opened: OpenStores[] = [];
  return {
    async open() {
      const database = openDatabase(path);
      const ledger = openSqliteLedger({ database });
      const stores: OpenStores = {
        keys: new SqliteKeyStore(database),
        requestLog: new SqliteRequestLog(database),
        ledger,
        async close() {
          if (!database.open) return;
          await ledger.close();
          database.close();
        },
      };
      opened.push(stores);
      return stores;
    },
    async cleanup() {
      for (const stores of opened) await stores.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function postgresHarness(): Harness {
  const schema = createTestSchema();
  const opened: OpenStores[] = [];
  return {
    async open() {
      const stores = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 4, ledger: {} });
      let closed = false;
      const handle: OpenStores = {
        keys: stores.keys,
        requestLog: stores.requestLog,
        ledger: stores.ledger!,
        async close() {
          if (closed) return;
          closed = true;
          await stores.close();
        },
      };
      opened.push(handle);
      return handle;
    },
    async cleanup() {
      for (const stores of opened) await stores.close();
      await schema.drop();
    },
  };
}

const budgets = [{ usd: 5, period: 'day' as const }];

function newKey(overrides: Partial<NewKey> & { id: string }): NewKey {
  return {
    department: 'claims',
    name: overrides.id.replace(/^key_/, ''),
    models: null,
    budgets: [],
    source: 'api',
    secretHash: `hash-of-${overrides.id}`,
    createdAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function requestRecord(overrides: Partial<RequestRecord> & { id: string }): RequestRecord {
  return {
    time: '2025-03-01T10:00:00.000Z',
    keyId: 'key_a',
    keyName: 'triage-bot',
    department: 'claims',
    user: 'alice@example.com',
    route: '/v1/chat/completions',
    alias: 'fast',
    provider: 'mock',
    upstreamModel: 'mock-1-2025-01-01',
    stream: false,
    status: 200,
    errorCode: null,
    inputTokens: 12,
    outputTokens: 34,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    costMicros: 1234,
    latencyMs: 12.5,
    maxTokens: 256,
    ...overrides,
  };
}

/** Append the inference entry the ledger stage writes for `overrides` (src/gateway/stages/ledger-stage.ts); returns the record the log should show. */
async function record(ledger: LedgerStore, overrides: Partial<RequestRecord> & { id: string }): Promise<RequestRecord> {
  const expected = requestRecord(overrides);
  const refused = expected.status === 402;
  const entry: LedgerEntryInput = {
    kind: 'inference', time: expected.time, request_id: expected.id, department: expected.department ?? undefined, key: expected.keyName ?? undefined,
    key_id: expected.keyId, user: expected.user ?? undefined, route: expected.route, alias: expected.alias, provider: expected.provider,
    upstream_model: expected.upstreamModel, stream: expected.stream, status: expected.status, error: refused ? null : expected.errorCode,
    tokens: { input: expected.inputTokens, output: expected.outputTokens, cached_input: expected.cachedInputTokens, reasoning: expected.reasoningTokens },
    cost_usd_micros: expected.costMicros, latency_ms: expected.latencyMs,
    decision: refused ? { outcome: 'refused', reason: expected.errorCode, policy: 'budget' } : { outcome: 'allowed', max_tokens: expected.maxTokens },
  };
  await ledger.append(entry);
  return expected;
}

const harnesses: [string, () => Harness][] = [
  ['SQLite', sqliteHarness],
  ['PostgreSQL', postgresHarness],
];

describe.each(harnesses)('records contract: %s', (_name, makeHarness) => {
  let harness: Harness;
  afterEach(async () => {
    await harness.cleanup();
  });
  const open = async (): Promise<OpenStores> => {
    harness = makeHarness();
    return harness.open();
  };

  describe('key store', () => {
    it('lists inserted keys with every field, ordered by creation time then id', async () => {
      const { keys } = await open();
      await keys.insert(newKey({ id: 'key_b', createdAt: '2025-01-02T00:00:00.000Z', models: ['fast', 'smart'], budgets }));
      await keys.insert(newKey({ id: 'key_c', createdAt: '2025-01-01T00:00:00.000Z' }));
      await keys.insert(newKey({ id: 'key_a', createdAt: '2025-01-02T00:00:00.000Z', department: 'legal', source: 'config' }));
      const listed = await keys.list();
      expect(listed.map((key) => key.id)).toEqual(['key_c', 'key_a', 'key_b']);
      expect(listed[2]).toEqual({
        id: 'key_b', department: 'claims', name: 'b', models: ['fast', 'smart'], budgets, policy: null, source: 'api',
        secretHash: 'hash-of-key_b', createdAt: '2025-01-02T00:00:00.000Z', revokedAt: null, revision: 1,
      });
      expect(listed[0].models).toBeNull();
      expect(listed[1]).toMatchObject({ department: 'legal', source: 'config' });
    });

    it('refuses a second key with a secret hash already in use', async () => {
      const { keys } = await open();
      await keys.insert(newKey({ id: 'key_a', secretHash: 'same' }));
      await expect(keys.insert(newKey({ id: 'key_b', secretHash: 'same' }))).rejects.toThrow();
      expect((await keys.list()).map((key) => key.id)).toEqual(['key_a']);
    });

    it('revokes a key once, keeps the first revocation time, and answers undefined for an unknown id', async () => {
      const { keys } = await open();
      await keys.insert(newKey({ id: 'key_a' }));
      const revoked = await keys.revoke('key_a', '2025-02-01T00:00:00.000Z');
      expect(revoked).toMatchObject({ id: 'key_a', revokedAt: '2025-02-01T00:00:00.000Z' });
      const again = await keys.revoke('key_a', '2025-03-01T00:00:00.000Z');
      expect(again?.revokedAt).toBe('2025-02-01T00:00:00.000Z');
      expect(await keys.revoke('key_missing', '2025-03-01T00:00:00.000Z')).toBeUndefined();
      expect((await keys.list())[0].revokedAt).toBe('2025-02-01T00:00:00.000Z');
    });

    it('syncs config keys: adds new ones, updates changed ones, revokes removed ones and leaves API keys alone', async () => {
      const { keys } = await open();
      await keys.insert(newKey({ id: 'key_api', source: 'api' }));
      await keys.syncConfigKeys([
        newKey({ id: 'key_one', source: 'config', secretHash: 'h1' }),
        newKey({ id: 'key_two', source: 'config', secretHash: 'h2' }),
      ], '2025-01-05T00:00:00.000Z');
      expect((await keys.list()).map((key) => [key.id, key.revokedAt])).toEqual([
        ['key_api', null], ['key_one', null], ['key_two', null],
      ]);

      // key_one changes its models, budgets and secret; key_two leaves the config.
      await keys.syncConfigKeys([
        newKey({ id: 'key_one', source: 'config', secretHash: 'h1-new', models: ['fast'], budgets, createdAt: '2025-01-06T00:00:00.000Z' }),
      ], '2025-01-06T00:00:00.000Z');
      const byId = new Map((await keys.list()).map((key) => [key.id, key]));
      expect(byId.get('key_one')).toMatchObject({
        secretHash: 'h1-new', models: ['fast'], budgets, revokedAt: null, createdAt: '2025-01-01T00:00:00.000Z',
      });
      expect(byId.get('key_two')?.revokedAt).toBe('2025-01-06T00:00:00.000Z');
      expect(byId.get('key_api')?.revokedAt).toBeNull();

      // A key put back into the config is active again.
      await keys.syncConfigKeys([
        newKey({ id: 'key_one', source: 'config', secretHash: 'h1-new' }),
        newKey({ id: 'key_two', source: 'config', secretHash: 'h2' }),
      ], '2025-01-07T00:00:00.000Z');
      expect((await keys.list()).map((key) => [key.id, key.revokedAt])).toEqual([
        ['key_api', null], ['key_one', null], ['key_two', null],
      ]);
    });

    it('lets a secret move from a removed config key to a new one (a renamed key)', async () => {
      const { keys } = await open();
      await keys.syncConfigKeys([newKey({ id: 'key_old', source: 'config', secretHash: 'shared' })], '2025-01-05T00:00:00.000Z');
      await keys.syncConfigKeys([newKey({ id: 'key_new', source: 'config', secretHash: 'shared' })], '2025-01-06T00:00:00.000Z');
      const active = (await keys.list()).filter((key) => key.revokedAt === null);
      expect(active.map((key) => [key.id, key.secretHash])).toEqual([['key_new', 'shared']]);
      expect((await keys.list()).filter((key) => key.secretHash === 'shared')).toHaveLength(1);
    });

    it('gives the same result when every replica syncs the same config at once', async () => {
      const first = await open();
      const second = await harness.open();
      const third = await harness.open();
      const config = [
        newKey({ id: 'key_one', source: 'config', secretHash: 'h1' }),
        newKey({ id: 'key_two', source: 'config', secretHash: 'h2', models: ['fast'] }),
      ];
      await Promise.all([first, second, third].map((stores) => stores.keys.syncConfigKeys(config, '2025-01-05T00:00:00.000Z')));
      for (const stores of [first, second, third]) {
        expect((await stores.keys.list()).map((key) => [key.id, key.secretHash, key.revokedAt])).toEqual([
          ['key_one', 'h1', null], ['key_two', 'h2', null],
        ]);
      }
    });

    it("keeps an API key's guards and routing across a restart; a key without any has none", async () => {
      const first = await open();
      const policy = {
        rate_limit: { rpm: 2 }, limits: { max_request_usd: 0.5 }, environment: 'staging' as const, route: 'mock' as const,
        agent: { max_steps: 2, max_duration: '30m' },
      };
      await first.keys.insert(newKey({ id: 'key_guarded', policy }));
      await first.keys.insert(newKey({ id: 'key_plain', createdAt: '2025-01-02T00:00:00.000Z' }));
      await first.close();
      const reopened = await harness.open();
      const listed = await reopened.keys.list();
      expect(listed.map((key) => [key.id, key.policy])).toEqual([['key_guarded', policy], ['key_plain', null]]);
      expect((await reopened.keys.revoke('key_guarded', '2025-02-01T00:00:00.000Z'))?.policy).toEqual(policy);
    });

    it("edits an active API key's department, name, models, budgets and guards, and leaves config and revoked keys alone", async () => {
      const first = await open();
      await first.keys.insert(newKey({ id: 'key_api', budgets, policy: { rate_limit: { rpm: 5 } } }));
      await first.keys.insert(newKey({ id: 'key_config', source: 'config', budgets }));
      await first.keys.insert(newKey({ id: 'key_gone' }));
      await first.keys.revoke('key_gone', '2025-02-01T00:00:00.000Z');
      const changes = { department: 'legal', name: 'renamed', models: ['fast'], budgets: [{ tokens: 100, period: 'hour' as const }], policy: { limits: { max_request_usd: 0.25 } } };
      const updated = await first.keys.update('key_api', changes);
      expect(updated).toEqual({ ...newKey({ id: 'key_api' }), ...changes, revokedAt: null, revision: 2 });
      expect(await first.keys.update('key_config', changes)).toBeUndefined();
      expect(await first.keys.update('key_gone', changes)).toBeUndefined();
      expect(await first.keys.update('key_missing', changes)).toBeUndefined();
      // Another replica (or a restart) reads the edit; the config key and the revoked key are as they were.
      const second = await harness.open();
      const listed = new Map((await second.keys.list()).map((key) => [key.id, key]));
      expect(listed.get('key_api')).toEqual(updated);
      expect(listed.get('key_config')).toMatchObject({ department: 'claims', name: 'config', budgets });
      expect(listed.get('key_gone')).toMatchObject({ department: 'claims', name: 'gone', models: null });
      expect((await second.keys.update('key_api', { ...changes, models: null, policy: null }))).toMatchObject({ models: null, policy: null });
    });

    it('applies one of two edits made from the same revision, on two replicas at once, and reports the other as a conflict', async () => {
      const first = await open();
      const second = await harness.open();
      await first.keys.insert(newKey({ id: 'key_api', budgets }));
      expect((await first.keys.list())[0].revision).toBe(1);
      const raise = { department: 'claims', name: 'api', models: null, budgets: [{ usd: 50, period: 'day' as const }], policy: null };
      const lower = { ...raise, budgets: [{ usd: 1, period: 'day' as const }] };
      const results = await Promise.all([first.keys.update('key_api', raise, 1), second.keys.update('key_api', lower, 1)]);
      const won = results.filter((result) => result !== undefined && !isRevisionConflict(result));
      const lost = results.filter(isRevisionConflict);
      expect(won).toHaveLength(1);
      expect(lost).toEqual([{ conflict: 'revision', revision: 2 }]);
      expect(won[0]).toMatchObject({ revision: 2 });
      // The stored key is the winner's edit, read alike by both replicas: the loser overwrote nothing.
      const winner = results[0] === won[0] ? raise : lower;
      for (const stores of [first, second]) expect((await stores.keys.list())[0]).toMatchObject({ budgets: winner.budgets, revision: 2 });
      // The loser, having read revision 2, edits again; an edit from the stale revision still conflicts.
      expect(await second.keys.update('key_api', lower, 2)).toMatchObject({ budgets: lower.budgets, revision: 3 });
      expect(await first.keys.update('key_api', raise, 1)).toEqual({ conflict: 'revision', revision: 3 });
      // Without an expected revision the edit is written whatever the revision, and still moves it.
      expect(await first.keys.update('key_api', raise)).toMatchObject({ budgets: raise.budgets, revision: 4 });
    });

    it('revokes a key with an expected revision only while it has it; a revoked key is returned as it is', async () => {
      const { keys } = await open();
      await keys.insert(newKey({ id: 'key_api', budgets }));
      await keys.update('key_api', { department: 'claims', name: 'api', models: null, budgets: [], policy: null });
      expect(await keys.revoke('key_api', '2025-02-01T00:00:00.000Z', 1)).toEqual({ conflict: 'revision', revision: 2 });
      expect((await keys.list())[0]).toMatchObject({ revokedAt: null, revision: 2 });
      expect(await keys.revoke('key_api', '2025-02-01T00:00:00.000Z', 2)).toMatchObject({ revokedAt: '2025-02-01T00:00:00.000Z', revision: 3 });
      expect(await keys.revoke('key_api', '2025-03-01T00:00:00.000Z', 1)).toMatchObject({ revokedAt: '2025-02-01T00:00:00.000Z', revision: 3 });
      expect(await keys.revoke('key_missing', '2025-03-01T00:00:00.000Z', 1)).toBeUndefined();
    });

    it('gives no conflict for a key that cannot be edited, and moves the revision on revocation and on a config sync that changes a key', async () => {
      const { keys } = await open();
      const changes = { department: 'claims', name: 'x', models: null, budgets: [], policy: null };
      await keys.insert(newKey({ id: 'key_api' }));
      await keys.insert(newKey({ id: 'key_config', source: 'config', secretHash: 'h1' }));
      expect(await keys.update('key_config', changes, 1)).toBeUndefined();
      expect(await keys.update('key_missing', changes, 1)).toBeUndefined();
      expect(await keys.revoke('key_api', '2025-02-01T00:00:00.000Z')).toMatchObject({ revision: 2 });
      expect(await keys.revoke('key_api', '2025-03-01T00:00:00.000Z')).toMatchObject({ revision: 2 });
      expect(await keys.update('key_api', changes, 2)).toBeUndefined();
      const revisionOf = async (id: string) => (await keys.list()).find((key) => key.id === id)?.revision;
      // A sync that changes nothing keeps the revision (a restart does not invalidate ETags); one that changes the key moves it.
      await keys.syncConfigKeys([newKey({ id: 'key_config', source: 'config', secretHash: 'h1' })], '2025-01-05T00:00:00.000Z');
      expect(await revisionOf('key_config')).toBe(1);
      await keys.syncConfigKeys([newKey({ id: 'key_config', source: 'config', secretHash: 'h1', budgets })], '2025-01-06T00:00:00.000Z');
      expect(await revisionOf('key_config')).toBe(2);
      await keys.syncConfigKeys([newKey({ id: 'key_config', source: 'config', secretHash: 'h1', budgets, models: ['fast'] })], '2025-01-07T00:00:00.000Z');
      expect(await revisionOf('key_config')).toBe(3);
      await keys.syncConfigKeys([newKey({ id: 'key_config', source: 'config', secretHash: 'h2', budgets, models: ['fast'] })], '2025-01-08T00:00:00.000Z');
      expect(await revisionOf('key_config')).toBe(4);
      await keys.syncConfigKeys([], '2025-01-09T00:00:00.000Z');
      expect(await revisionOf('key_config')).toBe(5);
      await keys.syncConfigKeys([newKey({ id: 'key_config', source: 'config', secretHash: 'h2', budgets, models: ['fast'] })], '2025-01-10T00:00:00.000Z');
      expect(await revisionOf('key_config')).toBe(6);
    });

    it('lists many keys holding equal budgets and departments once, without mixing up keys that differ; an edit is seen', async () => {
      const { keys } = await open();
      const hourly = [{ tokens: 100, period: 'hour' as const }];
      await keys.insert(newKey({ id: 'key_a', budgets, models: ['fast'] }));
      await keys.insert(newKey({ id: 'key_b', budgets, models: ['fast'] }));
      await keys.insert(newKey({ id: 'key_c', budgets: hourly, models: ['smart'], department: 'legal' }));
      await keys.insert(newKey({ id: 'key_d', budgets: [{ usd: 5, period: 'month' }] }));
      const listed = new Map((await keys.list()).map((key) => [key.id, key]));
      expect(listed.get('key_a')).toMatchObject({ budgets, models: ['fast'], department: 'claims' });
      expect(listed.get('key_c')).toMatchObject({ budgets: hourly, models: ['smart'], department: 'legal' });
      expect(listed.get('key_d')!.budgets).toEqual([{ usd: 5, period: 'month' }]);
      // Equal values are one object in memory (a hundred thousand keys, a few budget lists).
      expect(listed.get('key_b')!.budgets).toBe(listed.get('key_a')!.budgets);
      expect(listed.get('key_b')!.models).toBe(listed.get('key_a')!.models);
      await keys.update('key_b', { department: 'claims', name: 'b', models: ['fast'], budgets: hourly, policy: null });
      const edited = new Map((await keys.list()).map((key) => [key.id, key]));
      expect(edited.get('key_b')!.budgets).toEqual(hourly);
      expect(edited.get('key_a')!.budgets).toEqual(budgets);
      expect(edited.get('key_c')!.budgets).toEqual(hourly);
    });

    it('shows a key created or revoked through one handle to another (replicas, restarts)', async () => {
      const first = await open();
      const second = await harness.open();
      await first.keys.insert(newKey({ id: 'key_a' }));
      expect((await second.keys.list()).map((key) => key.id)).toEqual(['key_a']);
      await second.keys.revoke('key_a', '2025-02-01T00:00:00.000Z');
      await first.close();
      const reopened = await harness.open();
      expect((await reopened.keys.list())[0].revokedAt).toBe('2025-02-01T00:00:00.000Z');
    });
  });

  describe('request log', () => {
    it('shows an inference entry with every field, a refusal with its reason, and skips governance entries', async () => {
      const { requestLog, ledger } = await open();
      const answered = await record(ledger, {
        id: 'r1', stream: true, latencyMs: 1234.375, costMicros: 9_000_000_000_000 - 1, maxTokens: 512,
        upstreamModel: null, user: null, cachedInputTokens: 5, reasoningTokens: 7,
      });
      await ledger.append({ kind: 'key.created', department: 'claims', key: 'new-key' });
      const refused = await record(ledger, { id: 'r2', status: 402, errorCode: 'budget_exceeded', maxTokens: null, inputTokens: 0, outputTokens: 0, costMicros: 0 });
      expect(await requestLog.recent(10)).toEqual([refused, answered]);
    });

    it('lists newest first in ledger order and honours the limit', async () => {
      const { requestLog, ledger } = await open();
      for (const id of ['old', 'tie-1', 'tie-2', 'new']) await record(ledger, { id });
      expect((await requestLog.recent(10)).map((each) => each.id)).toEqual(['new', 'tie-2', 'tie-1', 'old']);
      expect((await requestLog.recent(2)).map((each) => each.id)).toEqual(['new', 'tie-2']);
    });

    it('narrows to one department; null or absent means every department', async () => {
      const { requestLog, ledger } = await open();
      await record(ledger, { id: 'c1', department: 'claims' });
      await record(ledger, { id: 'l1', department: 'legal' });
      await record(ledger, { id: 'c2', department: 'claims' });
      expect((await requestLog.recent(10, 'claims')).map((each) => each.id)).toEqual(['c2', 'c1']);
      expect((await requestLog.recent(10, 'legal')).map((each) => each.id)).toEqual(['l1']);
      expect((await requestLog.recent(10, 'nobody')).map((each) => each.id)).toEqual([]);
      expect((await requestLog.recent(10, null)).map((each) => each.id)).toEqual(['c2', 'l1', 'c1']);
      expect((await requestLog.recent(10)).map((each) => each.id)).toEqual(['c2', 'l1', 'c1']);
    });

    it('shows every entry of a large burst, also after a reopen', async () => {
      const first = await open();
      const count = 2500;
      await Promise.all(Array.from({ length: count }, (_, index) => record(first.ledger, { id: `r${index}`, costMicros: index })));
      await first.close();
      const reopened = await harness.open();
      const records = await reopened.requestLog.recent(count + 10);
      expect(records).toHaveLength(count);
      expect(records.reduce((sum, each) => sum + each.costMicros, 0)).toBe((count * (count - 1)) / 2);
    });
  });
});

// Secrets moving between keys that stay in the config (swapped, or taken from a removed key).
describe.each([['SQLite', sqliteHarness], ['PostgreSQL', postgresHarness]] as [string, () => Harness][])('records contract, secrets moving between config keys: %s', (_name, makeHarness) => {
  let harness: Harness;
  afterEach(async () => {
    await harness.cleanup();
  });

  it('lets two config keys swap secrets in one reload', async () => {
    harness = makeHarness();
    const { keys } = await harness.open();
    await keys.syncConfigKeys([newKey({ id: 'key_a', source: 'config', secretHash: 'h1' }), newKey({ id: 'key_b', source: 'config', secretHash: 'h2' })], '2025-01-05T00:00:00.000Z');
    await keys.syncConfigKeys([newKey({ id: 'key_a', source: 'config', secretHash: 'h2' }), newKey({ id: 'key_b', source: 'config', secretHash: 'h1' })], '2025-01-06T00:00:00.000Z');
    expect((await keys.list()).map((key) => [key.id, key.secretHash, key.revokedAt])).toEqual([['key_a', 'h2', null], ['key_b', 'h1', null]]);
  });

  it("lets a kept config key take the secret of one that left the config", async () => {
    harness = makeHarness();
    const { keys } = await harness.open();
    await keys.syncConfigKeys([newKey({ id: 'key_a', source: 'config', secretHash: 'h1' }), newKey({ id: 'key_b', source: 'config', secretHash: 'h2' })], '2025-01-05T00:00:00.000Z');
    await keys.syncConfigKeys([newKey({ id: 'key_a', source: 'config', secretHash: 'h1' })], '2025-01-06T00:00:00.000Z');
    await keys.syncConfigKeys([newKey({ id: 'key_a', source: 'config', secretHash: 'h2' })], '2025-01-07T00:00:00.000Z');
    const active = (await keys.list()).filter((key) => key.revokedAt === null);
    expect(active.map((key) => [key.id, key.secretHash])).toEqual([['key_a', 'h2']]);
  });
});

// A store made before key revisions existed: its keys start at revision 1 once the migration adds the column.
describe('records migration to key revisions', () => {
  const edit = { department: 'claims', name: 'old', models: null, budgets, policy: null };

  const check = async (keys: KeyStore) => {
    expect((await keys.list())[0]).toMatchObject({ id: 'key_old', revision: 1 });
    expect(await keys.update('key_old', edit, 1)).toMatchObject({ budgets, revision: 2 });
  };

  it('SQLite', () => checkOldSqliteKeys('records-004', check));
  it('PostgreSQL', () => checkOldPostgresKeys('records-004', check));
});
