// Contract suite for the evidence ledger store: the same cases against SQLite (temp file) and PostgreSQL (own schema).
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMerkleTree, fromHex, hashLeaf, toHex, verifyConsistency, verifyInclusion } from '../src/core/merkle.js';
import { verifyCheckpoint } from '../src/core/checkpoint.js';
import { hashBody, verifyLedger, type LedgerEntryInput, type LedgerStore } from '../src/ledger/index.js';
import { openSqliteLedger } from '../src/stores/sqlite/ledger-store.js';
import { openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { openPostgresLedger } from '../src/stores/postgres/ledger-store.js';
import { createTestSchema } from './helpers/services.js';

interface OpenOptions {
  readOnly?: boolean;
  origin?: string;
}

/** One ledger's data; open() gives another handle on it (another replica, a restart, or the read-only CLI). */
interface Harness {
  open(options?: OpenOptions): Promise<LedgerStore>;
  /** Overwrite an entry's stored JSON, as an administrator editing the database would. */
  editEntryJson(seq: number, json: string): Promise<void>;
  cleanup(): Promise<void>;
}

function sqliteHarness(): Harness {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-ledger-'));
  const path = join(directory, 'covenant.db');
  const stores: LedgerStore[] = [];
  return {
    async open(options = {}) {
      const store = openSqliteLedger({ path, checkpointIntervalMs: 60_000, ...options });
      stores.push(store);
      return store;
    },
    async editEntryJson(seq, json) {
      const database = new Database(path);
      database.prepare('UPDATE ledger_entries SET entry_json = ? WHERE seq = ?').run(json, seq);
      database.close();
    },
    async cleanup() {
      for (const store of stores) await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function postgresHarness(): Harness {
  const schema = createTestSchema();
  const stores: LedgerStore[] = [];
  const databases: PostgresDatabase[] = [];
  const database = async () => {
    const opened = await openPostgres({ url: schema.url, schema: schema.schema, max: 4 });
    databases.push(opened);
    return opened;
  };
  return {
    async open(options = {}) {
      const store = await openPostgresLedger({ database: await database(), checkpointIntervalMs: 60_000, ...options });
      stores.push(store);
      return store;
    },
    async editEntryJson(seq, json) {
      const opened = await database();
      await opened.pool.query('UPDATE ledger_entries SET entry_json = $1 WHERE seq = $2', [json, seq]);
    },
    async cleanup() {
      for (const store of stores) await store.close();
      for (const opened of databases) await opened.close();
      await schema.drop();
    },
  };
}

function inference(department: string, index: number, extra: Record<string, unknown> = {}): LedgerEntryInput {
  return {
    kind: 'inference',
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, index)),
    department,
    key: `${department}-key`,
    user: `user-${index}`,
    alias: 'chat',
    provider: 'openai',
    upstream_model: 'gpt-4o-2024-08-06',
    request_sha256: hashBody(`request ${index}`),
    response_sha256: hashBody(`response ${index}`),
    tokens: { input: 10 + index, output: 5, cached_input: 0, reasoning: 0 },
    cost_usd_micros: 125 + index,
    decision: { outcome: 'allowed' },
    config_version: 'cfg-1',
    ...extra,
  };
}

async function appendMany(store: LedgerStore, count: number, department = (index: number) => (index % 3 === 0 ? 'legal' : 'claims')) {
  return Promise.all(Array.from({ length: count }, (_, index) => store.append(inference(department(index), index))));
}

const harnesses: [string, () => Harness][] = [
  ['SQLite', sqliteHarness],
  ['PostgreSQL', postgresHarness],
];

describe.each(harnesses)('ledger store contract: %s', (_name, makeHarness) => {
  let harness: Harness;
  afterEach(async () => {
    await harness.cleanup();
  });
  const open = (options?: OpenOptions) => {
    harness = makeHarness();
    return harness.open(options);
  };

  it('numbers entries from 0 without gaps and its root is the RFC 9162 root of the stored canonical JSON', async () => {
    const store = await open({ origin: 'covenant.test/ledger' });
    const results = await appendMany(store, 40);
    expect(results.map((result) => result.seq)).toEqual(Array.from({ length: 40 }, (_, index) => index));
    const stored = await store.entries({ limit: 100 });
    const reference = new MemoryMerkleTree();
    for (const entry of stored) reference.appendData(entry.json);
    const head = await store.head();
    expect(head).toEqual({ size: 40, rootHash: toHex(reference.root()) });
    expect(stored[7].leafHash).toBe(results[7].leafHash);
    expect(stored[7].entry).toMatchObject({ seq: 7, kind: 'inference', user: 'user-7', time: '2025-01-01T00:00:07.000Z' });
  });

  it('commits appends made one after another, each as soon as the previous one resolved', async () => {
    const store = await open();
    // A caller that appends again when its last append (or group of appends) resolves must never be left waiting.
    const seqs: number[] = [];
    for (let round = 0; round < 40; round += 1) {
      const group = Array.from({ length: 1 + (round % 3) }, (_, index) => store.append(inference('claims', round * 3 + index)));
      seqs.push(...(await Promise.all(group)).map((result) => result.seq));
    }
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => index));
    await store.flush();
    expect((await store.head()).size).toBe(seqs.length);
  }, 20_000);

  it('rejects an entry JSON cannot carry without failing the others in its batch', async () => {
    const store = await open();
    const outcomes = await Promise.allSettled([
      store.append(inference('claims', 0)),
      store.append({ kind: 'inference', latency_ms: Number.NaN }),
      store.append(inference('claims', 2)),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.entries()).map((entry) => entry.seq)).toEqual([0, 1]);
  });

  it('continues without a gap after a restart, with the same signing key and origin', async () => {
    const first = await open({ origin: 'covenant.test/ledger' });
    await appendMany(first, 5);
    const key = await first.publicKey();
    await first.close();
    const restarted = await harness.open({ origin: 'another.origin/ignored' });
    expect(restarted.origin).toBe('covenant.test/ledger');
    expect(await restarted.publicKey()).toBe(key);
    expect((await restarted.append(inference('claims', 9))).seq).toBe(5);
    expect(await verifyLedger(restarted)).toMatchObject({ ok: true, size: 6 });
  });

  it('signs checkpoints and serves inclusion and consistency proofs that verify against them', async () => {
    const store = await open({ origin: 'covenant.test/ledger' });
    await appendMany(store, 13);
    const small = await store.checkpoint();
    await appendMany(store, 20);
    const large = await store.checkpoint();
    expect([small?.size, large?.size]).toEqual([13, 33]);
    const body = verifyCheckpoint(large!.note, await store.publicKey(), store.origin);
    expect(toHex(body.rootHash)).toBe(large!.rootHash);
    for (const seq of [0, 12, 13, 32]) {
      const proof = await store.inclusionProof(seq);
      expect(proof.tree_size).toBe(33);
      expect(verifyInclusion(seq, 33, fromHex(proof.leaf_hash), proof.inclusion_path.map(fromHex), fromHex(large!.rootHash))).toBe(true);
      expect(proof.leaf_hash).toBe(toHex(hashLeaf((await store.entry(seq))!.json)));
    }
    const older = await store.inclusionProof(5, 13);
    expect(verifyInclusion(5, 13, fromHex(older.leaf_hash), older.inclusion_path.map(fromHex), fromHex(small!.rootHash))).toBe(true);
    const consistency = await store.consistencyProof(13, 33);
    expect(consistency.first_root).toBe(small!.rootHash);
    expect(verifyConsistency(13, 33, fromHex(small!.rootHash), fromHex(large!.rootHash), consistency.consistency_path.map(fromHex))).toBe(true);
    await expect(store.inclusionProof(33)).rejects.toThrow(/no entry 33/);
    await expect(store.consistencyProof(20, 40)).rejects.toThrow(/consistency needs/);
    expect((await store.checkpoints()).map((checkpoint) => checkpoint.size)).toEqual([13, 33]);
    expect((await store.treeNodes(0, 0, 2)).map((node) => node.hash)).toEqual([
      toHex(hashLeaf((await store.entry(0))!.json)), toHex(hashLeaf((await store.entry(1))!.json)),
    ]);
    expect(await store.treeNodes(3, 0, 10)).toHaveLength(4);
  });

  it('answers roots, proofs and tree nodes of every level as an in-memory tree does, across batches and a restart', async () => {
    let store = await open();
    const reference = new MemoryMerkleTree();
    let appended = 0;
    // Batches of uneven sizes end at every kind of position inside the subtrees; the restart loads a frontier at size 46.
    for (const count of [1, 5, 16, 3, 21, 30, 2]) {
      if (appended === 46) {
        await store.close();
        store = await harness.open();
      }
      await Promise.all(Array.from({ length: count }, (_, offset) => store.append(inference('claims', appended + offset))));
      appended += count;
    }
    for (const entry of await store.entries({ limit: 100 })) reference.appendData(entry.json);
    expect(reference.size).toBe(78);
    expect((await store.head()).rootHash).toBe(toHex(reference.root()));
    for (const size of [1, 7, 8, 16, 17, 33, 46, 64, 78]) {
      for (const seq of new Set([0, 5, Math.floor(size / 2), size - 1].filter((seq) => seq < size))) {
        const proof = await store.inclusionProof(seq, size);
        expect(proof.inclusion_path).toEqual(reference.inclusionProof(seq, size).map(toHex));
        expect(proof.root_hash).toBe(toHex(reference.root(size)));
      }
      for (const first of [1, 3, 8, 15, 16, 40].filter((first) => first <= size)) {
        expect((await store.consistencyProof(first, size)).consistency_path).toEqual(reference.consistencyProof(first, size).map(toHex));
      }
    }
    for (let level = 0; level <= 6; level += 1) {
      const count = Math.floor(78 / 2 ** level);
      const expected = Array.from({ length: count }, (_, index) => ({ index, hash: toHex(reference.node(level, index)) }));
      expect(await store.treeNodes(level, 0, 1000)).toEqual(expected);
      expect(await store.treeNodes(level, 1, 2)).toEqual(expected.slice(1, 3));
      expect(await store.treeNodes(level, count, 5)).toEqual([]);
    }
    expect(await verifyLedger(store)).toMatchObject({ ok: true, size: 78 });
  });

  it('filters entries by department, kind, time and range', async () => {
    const store = await open();
    await appendMany(store, 12);
    await store.append({ kind: 'key.created', time: '2025-01-02T00:00:00.000Z', department: 'legal', key: 'new-key' });
    expect((await store.entries({ department: 'legal', limit: 100 })).map((entry) => entry.seq)).toEqual([0, 3, 6, 9, 12]);
    expect((await store.entries({ kind: 'key.created' })).map((entry) => entry.seq)).toEqual([12]);
    expect((await store.entries({ since: new Date('2025-01-01T00:00:10Z') })).map((entry) => entry.seq)).toEqual([10, 11, 12]);
    expect((await store.entries({ from: 4, limit: 3 })).map((entry) => entry.seq)).toEqual([4, 5, 6]);
    expect(await store.entry(99)).toBeUndefined();
  });

  it('keeps content apart from the log: none, redacted or full; purging it leaves the log verifiable', async () => {
    const store = await open();
    const [first, second, third] = await appendMany(store, 3, () => 'claims');
    await store.storeContent(first.seq, { request: { messages: [{ content: 'hi' }] } }, 'none');
    await store.storeContent(second.seq, { request: 'mail me at jane.doe@example.com', response: 'ok' }, 'redacted');
    await store.storeContent(third.seq, { request: { a: 1 }, response: { b: 2 } }, 'full');
    expect(await store.content(first.seq)).toBeUndefined();
    const redacted = await store.content(second.seq);
    expect(redacted?.mode).toBe('redacted');
    expect(JSON.stringify(redacted?.request)).not.toContain('jane.doe@example.com');
    expect(await store.content(third.seq)).toMatchObject({ mode: 'full', request: { a: 1 }, response: { b: 2 }, department: 'claims' });
    await expect(store.storeContent(50, { request: 'x' }, 'full')).rejects.toThrow(/no entry 50/);
    expect(await store.purgeContent(new Date('2030-01-01T00:00:00Z'), { department: 'legal' })).toBe(0);
    expect(await store.purgeContent(new Date('2030-01-01T00:00:00Z'))).toBe(2);
    expect(await store.content(third.seq)).toBeUndefined();
    expect(await verifyLedger(store)).toMatchObject({ ok: true, size: 3 });
  });

  it('lets a read-only handle read and prove but not append or sign', async () => {
    const writer = await open();
    await appendMany(writer, 6);
    await writer.checkpoint();
    const reader = await harness.open({ readOnly: true });
    expect(reader.writable).toBe(false);
    await expect(reader.append(inference('claims', 1))).rejects.toThrow(/read-only/);
    expect(await reader.head()).toEqual(await writer.head());
    expect(await reader.publicKey()).toBe(await writer.publicKey());
    expect(await verifyLedger(reader)).toMatchObject({ ok: true, size: 6 });
  });

  it('fails verification naming the entry an administrator edited in the database', async () => {
    const store = await open();
    await appendMany(store, 10);
    await store.checkpoint();
    expect(await verifyLedger(store)).toMatchObject({ ok: true, size: 10 });
    const original = (await store.entry(4))!;
    await harness.editEntryJson(4, original.json.replace('"user":"user-4"', '"user":"someone-else"'));
    const result = await verifyLedger(store);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.firstBadSeq).toBe(4);
  });
});

describe('PostgreSQL ledger shared by replicas', () => {
  let harness: Harness;
  afterEach(async () => {
    await harness.cleanup();
  });

  it('has the same tree as the SQLite ledger for the same entries', async () => {
    harness = postgresHarness();
    const sqlite = sqliteHarness();
    try {
      const [postgresStore, sqliteStore] = [await harness.open(), await sqlite.open()];
      for (const store of [postgresStore, sqliteStore]) await appendMany(store, 37);
      expect(await postgresStore.head()).toEqual(await sqliteStore.head());
      expect(await postgresStore.inclusionProof(20, 37)).toEqual(await sqliteStore.inclusionProof(20, 37));
      expect(await postgresStore.consistencyProof(9, 37)).toEqual(await sqliteStore.consistencyProof(9, 37));
    } finally {
      await sqlite.cleanup();
    }
  });

  it('keeps one gap-free, verifiable tree when three replicas append concurrently', async () => {
    harness = postgresHarness();
    const replicas = await Promise.all([0, 1, 2].map(() => harness.open({ origin: 'covenant.test/shared' })));
    expect(new Set(await Promise.all(replicas.map((replica) => replica.publicKey()))).size).toBe(1);
    const perReplica = 300;
    const appended = await Promise.all(replicas.map(async (replica, replicaIndex) => {
      const results = [];
      // Waves of different sizes, with checkpoints signed in between by every replica.
      for (let wave = 0; wave < 6; wave += 1) {
        const size = perReplica / 6;
        const batch = Array.from({ length: size }, (_, index) =>
          replica.append(inference(`department-${replicaIndex}`, wave * size + index, { replica: replicaIndex })));
        results.push(...(await Promise.all(batch)));
        await replica.checkpoint();
      }
      return results;
    }));
    const seqs = appended.flat().map((result) => result.seq).sort((left, right) => left - right);
    expect(seqs).toEqual(Array.from({ length: 3 * perReplica }, (_, index) => index));
    const verification = await verifyLedger(replicas[1]);
    expect(verification).toMatchObject({ ok: true, size: 3 * perReplica });
    if (verification.ok) expect(verification.checkpoints).toBeGreaterThan(3);
    // Every replica's entries are in the one tree, where each replica's acknowledgements said.
    for (const [replicaIndex, results] of appended.entries()) {
      const sample = results[results.length - 1];
      const stored = (await replicas[(replicaIndex + 1) % 3].entry(sample.seq))!;
      expect(stored.entry.replica).toBe(replicaIndex);
      expect(stored.leafHash).toBe(sample.leafHash);
    }
    const head = await replicas[2].head();
    const proof = await replicas[0].inclusionProof(123, head.size);
    expect(verifyInclusion(123, head.size, fromHex(proof.leaf_hash), proof.inclusion_path.map(fromHex), fromHex(head.rootHash))).toBe(true);
  });
});
