// Contract suite for the key store's single-key read and change feed (what replicas read each second): SQLite and PostgreSQL.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyStore, NewKey } from '../src/stores/records.js';
import { openDatabase } from '../src/stores/sqlite/database.js';
import { SqliteKeyStore } from '../src/stores/sqlite/records.js';
import { createPostgresStores } from '../src/stores/postgres/index.js';
import { openPostgres } from '../src/stores/postgres/database.js';
import { createTestSchema } from './helpers/services.js';
import { checkOldPostgresKeys, checkOldSqliteKeys } from './helpers/old-records.js';

/** One data set; open() gives another handle on it (another replica). */
interface Harness {
  open(): Promise<KeyStore>;
  cleanup(): Promise<void>;
}

function sqliteHarness(): Harness {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-key-changes-'));
  const databases: ReturnType<typeof openDatabase>[] = [];
  return {
    async open() {
      const database = openDatabase(join(directory, 'covenant.db'));
      databases.push(database);
      return new SqliteKeyStore(database);
    },
    async cleanup() {
      for (const database of databases) database.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function postgresHarness(): Harness {
  const schema = createTestSchema();
  const opened: { close(): Promise<void> }[] = [];
  return {
    async open() {
      const stores = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 4 });
      opened.push(stores);
      return stores.keys;
    },
    async cleanup() {
      for (const stores of opened) await stores.close();
      await schema.drop();
    },
  };
}

function newKey(overrides: Partial<NewKey> & { id: string }): NewKey {
  return {
    department: 'claims', name: overrides.id.replace(/^key_/, ''), models: null, budgets: [], source: 'api',
    secretHash: `hash-of-${overrides.id}`, createdAt: '2025-01-01T00:00:00.000Z', ...overrides,
  };
}

const budgets = [{ usd: 5, period: 'day' as const }];
const ids = (keys: { id: string }[]) => keys.map((key) => key.id);
/** One sync stamps every row it changes with one number: their order among themselves is not defined. */
const byId = <T extends { id: string }>(keys: T[]) => [...keys].sort((left, right) => left.id.localeCompare(right.id));

describe.each([['SQLite', sqliteHarness], ['PostgreSQL', postgresHarness]] as [string, () => Harness][])('key store changes: %s', (_name, makeHarness) => {
  let harness: Harness;
  afterEach(async () => {
    await harness.cleanup();
  });
  const open = () => {
    harness = makeHarness();
    return harness.open();
  };

  it('reads one key by id with every field, a revoked one too, and undefined for an unknown id', async () => {
    const keys = await open();
    await keys.insert(newKey({ id: 'key_a', models: ['fast'], budgets, policy: { rate_limit: { rpm: 5 } } }));
    await keys.insert(newKey({ id: 'key_b' }));
    expect(await keys.get('key_a')).toEqual({ ...newKey({ id: 'key_a', models: ['fast'], budgets }), policy: { rate_limit: { rpm: 5 } }, revokedAt: null, revision: 1 });
    await keys.revoke('key_b', '2025-02-01T00:00:00.000Z');
    expect(await keys.get('key_b')).toMatchObject({ id: 'key_b', revokedAt: '2025-02-01T00:00:00.000Z', revision: 2 });
    expect(await keys.get('key_missing')).toBeUndefined();
  });

  it('gives every key from 0, then only the keys inserted, edited or revoked since, on this handle and another', async () => {
    const first = await open();
    const second = await harness.open();
    await first.insert(newKey({ id: 'key_a' }));
    await first.insert(newKey({ id: 'key_b' }));
    const all = await second.changedSince(0);
    expect(ids(all.keys).sort()).toEqual(['key_a', 'key_b']);
    expect(await second.changedSince(all.sequence)).toEqual({ keys: [], sequence: all.sequence });

    await first.insert(newKey({ id: 'key_c' }));
    const created = await second.changedSince(all.sequence);
    expect(ids(created.keys)).toEqual(['key_c']);
    expect(created.sequence).toBeGreaterThan(all.sequence);

    await first.update('key_a', { department: 'legal', name: 'a', models: null, budgets, policy: null });
    await first.revoke('key_b', '2025-02-01T00:00:00.000Z');
    const changed = await second.changedSince(created.sequence);
    expect(changed.keys.map((key) => [key.id, key.department, key.budgets, key.revokedAt])).toEqual([
      ['key_a', 'legal', budgets, null], ['key_b', 'claims', [], '2025-02-01T00:00:00.000Z'],
    ]);
    // A write that changes nothing (revoking a revoked key, an edit refused for its revision) gives nothing to read.
    await first.revoke('key_b', '2025-03-01T00:00:00.000Z');
    await first.update('key_a', { department: 'claims', name: 'a', models: null, budgets: [], policy: null }, 1);
    expect((await second.changedSince(changed.sequence)).keys).toEqual([]);
  });

  it('gives the config keys a sync adds, changes or removes, and nothing for a sync that changes nothing', async () => {
    const keys = await open();
    await keys.syncConfigKeys([newKey({ id: 'key_one', source: 'config', secretHash: 'h1' }), newKey({ id: 'key_two', source: 'config', secretHash: 'h2' })], '2025-01-05T00:00:00.000Z');
    const synced = await keys.changedSince(0);
    expect(ids(synced.keys).sort()).toEqual(['key_one', 'key_two']);
    // A restart with the same config.
    await keys.syncConfigKeys([newKey({ id: 'key_one', source: 'config', secretHash: 'h1' }), newKey({ id: 'key_two', source: 'config', secretHash: 'h2' })], '2025-01-06T00:00:00.000Z');
    expect((await keys.changedSince(synced.sequence)).keys).toEqual([]);
    // key_one's budgets change, key_two leaves the config.
    await keys.syncConfigKeys([newKey({ id: 'key_one', source: 'config', secretHash: 'h1', budgets })], '2025-01-07T00:00:00.000Z');
    const changed = await keys.changedSince(synced.sequence);
    expect(byId(changed.keys).map((key) => [key.id, key.budgets, key.revokedAt])).toEqual([
      ['key_one', budgets, null], ['key_two', [], '2025-01-07T00:00:00.000Z'],
    ]);
  });

  it('reports a config key whose secret moved to a new one (a renamed key) as revoked, not gone', async () => {
    const keys = await open();
    await keys.syncConfigKeys([newKey({ id: 'key_old', source: 'config', secretHash: 'shared' })], '2025-01-05T00:00:00.000Z');
    const before = await keys.changedSince(0);
    await keys.syncConfigKeys([newKey({ id: 'key_new', source: 'config', secretHash: 'shared' })], '2025-01-06T00:00:00.000Z');
    const changed = await keys.changedSince(before.sequence);
    expect(byId(changed.keys).map((key) => [key.id, key.revokedAt, key.secretHash === 'shared'])).toEqual([
      ['key_new', null, true], ['key_old', '2025-01-06T00:00:00.000Z', false],
    ]);
  });
});

describe('key store changes: PostgreSQL, concurrent writers', () => {
  it('never lets a reader skip a change whose transaction took its number first and committed last', async () => {
    const schema = createTestSchema();
    const writer = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 4 });
    const reader = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 2 });
    const blocker = await openPostgres({ url: schema.url, schema: schema.schema, max: 1 });
    const client = await blocker.pool.connect();
    try {
      await writer.keys.insert(newKey({ id: 'key_slow' }));
      const start = await reader.keys.changedSince(0);
      // Another session holds key_slow's row: the edit takes its change number, then waits for the row.
      await client.query('BEGIN');
      await client.query("SELECT * FROM api_keys WHERE id = 'key_slow' FOR UPDATE");
      const slowEdit = writer.keys.update('key_slow', { department: 'legal', name: 'slow', models: null, budgets, policy: null });
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A second writer comes after it: with numbers from a plain sequence it would commit first, with a higher one.
      const fastInsert = writer.keys.insert(newKey({ id: 'key_fast' }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const middle = await reader.keys.changedSince(start.sequence);
      await client.query('COMMIT');
      await Promise.all([slowEdit, fastInsert]);
      const after = await reader.keys.changedSince(middle.sequence);
      const seen = [...middle.keys, ...after.keys];
      expect(seen.find((key) => key.id === 'key_slow')).toMatchObject({ department: 'legal', revision: 2 });
      expect(ids(seen)).toContain('key_fast');
    } finally {
      client.release();
      await blocker.close();
      await writer.close();
      await reader.close();
      await schema.drop();
    }
  });

  it('many writers on two handles at once: a reader polling throughout ends with every key at its last revision', async () => {
    const schema = createTestSchema();
    const first = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 4 });
    const second = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 4 });
    const reader = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 1 });
    try {
      const seen = new Map<string, number>();
      let sequence = 0;
      let writing = true;
      const poll = (async () => {
        while (writing) {
          const changed = await reader.keys.changedSince(sequence);
          for (const key of changed.keys) seen.set(key.id, key.revision);
          sequence = changed.sequence;
        }
      })();
      await Promise.all(Array.from({ length: 40 }, async (_, index) => {
        const keys = (index % 2 === 0 ? first : second).keys;
        const id = `key_${index}`;
        await keys.insert(newKey({ id }));
        await keys.update(id, { department: 'claims', name: id, models: null, budgets, policy: null });
        if (index % 3 === 0) await keys.revoke(id, '2025-02-01T00:00:00.000Z');
      }));
      writing = false;
      await poll;
      for (const key of (await reader.keys.changedSince(sequence)).keys) seen.set(key.id, key.revision);
      const stored = await reader.keys.list();
      expect(stored).toHaveLength(40);
      for (const key of stored) expect([key.id, seen.get(key.id)]).toEqual([key.id, key.revision]);
    } finally {
      await first.close();
      await second.close();
      await reader.close();
      await schema.drop();
    }
  });
});

describe('key store changes: PostgreSQL, a replica still on the code before change sequences', () => {
  it('stamps its unstamped insert, edit and revocation, so upgraded replicas read them; a write that changes nothing is not stamped', async () => {
    const schema = createTestSchema();
    const upgraded = await createPostgresStores({ url: schema.url, schema: schema.schema, max: 2 });
    const old = await openPostgres({ url: schema.url, schema: schema.schema, max: 1 });
    try {
      await upgraded.keys.insert(newKey({ id: 'key_a' }));
      const start = await upgraded.keys.changedSince(0);
      // The statements of a replica that knows nothing of change_sequence.
      await old.pool.query("INSERT INTO api_keys (id, department, name, budgets, source, secret_hash, created_at) VALUES ('key_b', 'claims', 'b', '[]', 'api', 'hb', '2025-01-01T00:00:00.000Z')");
      await old.pool.query("UPDATE api_keys SET revoked_at = '2025-02-01T00:00:00.000Z' WHERE id = 'key_a'");
      const next = await upgraded.keys.changedSince(start.sequence);
      expect(byId(next.keys).map((key) => [key.id, key.revokedAt])).toEqual([['key_a', '2025-02-01T00:00:00.000Z'], ['key_b', null]]);
      await old.pool.query("UPDATE api_keys SET budgets = '[{\"usd\":1,\"period\":\"day\"}]' WHERE id = 'key_b'");
      const edited = await upgraded.keys.changedSince(next.sequence);
      expect(edited.keys.map((key) => [key.id, key.budgets])).toEqual([['key_b', [{ usd: 1, period: 'day' }]]]);
      // Revoking a revoked key again changes no field: nothing to read.
      await old.pool.query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, '2025-03-01T00:00:00.000Z') WHERE id = 'key_a'");
      expect((await upgraded.keys.changedSince(edited.sequence)).keys).toEqual([]);
      // This code's own writes keep their numbers in order after the old replica's.
      await upgraded.keys.insert(newKey({ id: 'key_c' }));
      expect(ids((await upgraded.keys.changedSince(edited.sequence)).keys)).toEqual(['key_c']);
    } finally {
      await old.close();
      await upgraded.close();
      await schema.drop();
    }
  });
});

// Stores made before change sequences: their keys are all read by a first read from 0, and later writes after them.
describe('records migration to change sequences', () => {
  const check = async (keys: KeyStore) => {
    const first = await keys.changedSince(0);
    expect(ids(first.keys)).toEqual(['key_old']);
    await keys.insert(newKey({ id: 'key_new' }));
    await keys.revoke('key_old', '2025-02-01T00:00:00.000Z');
    const next = await keys.changedSince(first.sequence);
    expect(next.keys.map((key) => [key.id, key.revokedAt])).toEqual([['key_new', null], ['key_old', '2025-02-01T00:00:00.000Z']]);
  };

  it('SQLite', () => checkOldSqliteKeys('records-005', check));
  it('PostgreSQL', () => checkOldPostgresKeys('records-005', check));
});
