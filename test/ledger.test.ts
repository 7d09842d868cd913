// SQLite evidence ledger: group-committed appends, restarts without gaps, proofs against signed checkpoints,
// tenant and time filtering, content retention, which subtrees are stored, and `verifyLedger` catching edits made
// directly in the database.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMerkleTree, fromHex, toHex, verifyConsistency, verifyInclusion, hashLeaf } from '../src/core/merkle.js';
import { generateSignerKey, parseSignerKey, signCheckpoint, verifierKeyOf, verifyCheckpoint } from '../src/core/checkpoint.js';
import { entryLeafHash, hashBody, verifyLedger, type LedgerEntryInput } from '../src/ledger/index.js';
import { openSqliteLedger, type SqliteLedgerStore } from '../src/stores/sqlite/ledger-store.js';
import { lowestStoredLevel } from '../src/stores/sqlite/ledger-tree.js';

let folder: string;
let path: string;
const open: SqliteLedgerStore[] = [];

function openLedger(options: Parameters<typeof openSqliteLedger>[0] = {}): SqliteLedgerStore {
  const store = openSqliteLedger({ path, checkpointIntervalMs: 60_000, ...options });
  open.push(store);
  return store;
}

function inference(department: string, index: number): LedgerEntryInput {
  return {
    kind: 'inference',
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, index)),
    department,
    key: `${department}-key`,
    user: `user-${index}`,
    alias: 'chat',
    provider: 'openai',
    upstream_model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_1',
    request_sha256: hashBody(`request ${index}`),
    response_sha256: hashBody(`response ${index}`),
    tokens: { input: 10 + index, output: 5, cached_input: 0, reasoning: 0 },
    cost_usd_micros: 125 + index,
    latency_ms: 42,
    decision: { outcome: 'allowed' },
    config_version: 'cfg-1',
  };
}

async function appendMany(store: SqliteLedgerStore, count: number, start = 0): Promise<number[]> {
  const results = await Promise.all(Array.from({ length: count }, (_, offset) => store.append(inference(offset % 3 === 0 ? 'legal' : 'sales', start + offset))));
  return results.map((result) => result.seq);
}

function raw(): Database.Database {
  return new Database(path);
}

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'covenant-ledger-'));
  path = join(folder, 'covenant.db');
});

afterEach(async () => {
  vi.useRealTimers();
  for (const store of open.splice(0)) await store.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('appending', () => {
  it('assigns consecutive sequence numbers from 0 and stores the canonical JSON it hashed', async () => {
    const store = openLedger();
    const seqs = await appendMany(store, 25);
    expect(seqs).toEqual(Array.from({ length: 25 }, (_, position) => position));
    const [first] = await store.entries({ limit: 1 });
    expect(first.entry.seq).toBe(0);
    expect(first.entry.time).toBe('2025-01-01T00:00:00.000Z');
    expect(first.json.startsWith('{"alias":"chat","config_version":"cfg-1"')).toBe(true);
    expect(first.leafHash).toBe(entryLeafHash(first.entry));
    expect(first.leafHash).toBe(toHex(hashLeaf(first.json)));
  });

  it('commits appends of one event-loop turn in one batch, and each resolves only once it is readable', async () => {
    const store = openLedger();
    const promises = Array.from({ length: 500 }, (_, index) => store.append(inference('legal', index)));
    expect(await store.entries({ limit: 1 })).toHaveLength(0);
    const results = await Promise.all(promises);
    expect(results.at(-1)?.seq).toBe(499);
    expect((await store.head()).size).toBe(500);
    const fromReader = openSqliteLedger({ path, readOnly: true });
    expect((await fromReader.head()).size).toBe(500);
    await fromReader.close();
  });

  it('rejects an entry JSON cannot carry without failing the others in its batch', async () => {
    const store = openLedger();
    const [good, bad, alsoGood] = await Promise.allSettled([
      store.append({ kind: 'budget.changed', amount: 1 }),
      store.append({ kind: 'budget.changed', amount: Number.NaN }),
      store.append({ kind: 'budget.changed', amount: 2 }),
    ]);
    expect(good).toMatchObject({ status: 'fulfilled', value: { seq: 0 } });
    expect(bad).toMatchObject({ status: 'rejected', reason: { name: 'LedgerEntryError' } });
    expect(alsoGood).toMatchObject({ status: 'fulfilled', value: { seq: 1 } });
    await expect(store.append({ kind: '' })).rejects.toThrow(/kind/);
    await expect(store.append({ kind: 'x', seq: 7 } as LedgerEntryInput)).rejects.toThrow(/seq/);
  });

  it('has the same root as an in-memory RFC 9162 tree over the stored JSON', async () => {
    const store = openLedger();
    await appendMany(store, 37);
    const tree = new MemoryMerkleTree();
    for (const stored of await store.entries({ limit: 100 })) tree.appendData(stored.json);
    expect((await store.head()).rootHash).toBe(toHex(tree.root()));
  });
});

describe('restart', () => {
  it('reloads the tree and continues without a gap, with the same key and origin', async () => {
    const first = openLedger({ origin: 'covenant.test/ledger' });
    await appendMany(first, 13);
    const key = await first.publicKey();
    const headBefore = await first.head();
    await first.close();
    const second = openLedger({ origin: 'ignored.after/creation' });
    expect(second.origin).toBe('covenant.test/ledger');
    expect(await second.publicKey()).toBe(key);
    expect(await second.head()).toEqual(headBefore);
    expect(await appendMany(second, 5, 13)).toEqual([13, 14, 15, 16, 17]);
    expect(await verifyLedger(second)).toMatchObject({ ok: true, size: 18 });
  });
});

describe('checkpoints and proofs', () => {
  it('signs a checkpoint on its timer while entries arrive, and on close', async () => {
    // A fake interval timer: the checkpoint is signed when its tick comes, however slow the machine is.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const store = openLedger({ checkpointIntervalMs: 1000 });
    await appendMany(store, 4);
    vi.advanceTimersByTime(999);
    expect(await store.latestCheckpoint()).toBeUndefined();
    vi.advanceTimersByTime(1);
    const latest = await store.latestCheckpoint();
    expect(latest?.size).toBe(4);
    const body = verifyCheckpoint(latest!.note, await store.publicKey(), store.origin);
    expect(toHex(body.rootHash)).toBe((await store.head()).rootHash);
    await appendMany(store, 2, 4);
    await store.close();
    const reopened = openLedger({ readOnly: true });
    expect((await reopened.latestCheckpoint())?.size).toBe(6);
  });

  it('serves inclusion proofs against the latest checkpoint and consistency proofs between sizes', async () => {
    const store = openLedger();
    await appendMany(store, 21);
    const checkpoint = (await store.checkpoint())!;
    await appendMany(store, 10, 21);
    const proof = await store.inclusionProof(5);
    expect(proof.tree_size).toBe(21);
    expect(proof.root_hash).toBe(checkpoint.rootHash);
    expect(proof.entry.seq).toBe(5);
    expect(verifyInclusion(5, 21, fromHex(proof.leaf_hash), proof.inclusion_path.map(fromHex), fromHex(checkpoint.rootHash))).toBe(true);
    const newer = await store.inclusionProof(25);
    expect(newer.tree_size).toBe(31);
    const atSize = await store.inclusionProof(5, 8);
    expect(verifyInclusion(5, 8, fromHex(atSize.leaf_hash), atSize.inclusion_path.map(fromHex), fromHex(atSize.root_hash))).toBe(true);
    const consistency = await store.consistencyProof(21, 31);
    expect(consistency.first_root).toBe(checkpoint.rootHash);
    const ok = verifyConsistency(21, 31, fromHex(consistency.first_root), fromHex(consistency.second_root), consistency.consistency_path.map(fromHex));
    expect(ok).toBe(true);
    await expect(store.inclusionProof(31)).rejects.toThrow(/no entry 31/);
    await expect(store.inclusionProof(3, 3)).rejects.toThrow(/tree size/);
    await expect(store.consistencyProof(10, 40)).rejects.toThrow(/consistency/);
  });
});

describe('verifying a live ledger', () => {
  it('verifies a snapshot while appends and checkpoints keep arriving', async () => {
    const store = openLedger({ checkpointIntervalMs: 5 });
    await appendMany(store, 200);
    let appending = true;
    const writer = (async () => {
      for (let round = 0; appending; round += 1) await appendMany(store, 50, 200 + round * 50);
    })();
    // Each page read yields to the event loop, so appends and timer checkpoints land in the middle of verification.
    let pagesRead = 0;
    const yielding = Object.create(store, {
      entries: {
        value: async (query: Parameters<typeof store.entries>[0]) => {
          pagesRead += 1;
          await new Promise((resolve) => setTimeout(resolve, 1));
          return store.entries(query);
        },
      },
    }) as typeof store;
    const sizeAtStart = (await store.head()).size;
    const result = await verifyLedger(yielding, { pageSize: 16 });
    appending = false;
    await writer;
    expect(pagesRead).toBeGreaterThan(10);
    expect((await store.head()).size).toBeGreaterThan(sizeAtStart + 100);
    expect(result).toMatchObject({ ok: true });
    if (result.ok) expect(result.size).toBeGreaterThanOrEqual(200);
    expect(await verifyLedger(store)).toMatchObject({ ok: true, size: (await store.head()).size });
  });
});

describe('tenant filtering', () => {
  it("returns only a department's entries, and their proofs verify against the full tree", async () => {
    const store = openLedger();
    await appendMany(store, 30);
    const checkpoint = (await store.checkpoint())!;
    const legal = await store.entries({ department: 'legal', limit: 100 });
    expect(legal.map((stored) => stored.seq)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    for (const stored of legal) {
      const proof = await store.inclusionProof(stored.seq);
      expect(verifyInclusion(stored.seq, 30, fromHex(stored.leafHash), proof.inclusion_path.map(fromHex), fromHex(checkpoint.rootHash))).toBe(true);
    }
    const since = await store.entries({ department: 'sales', since: new Date(Date.UTC(2025, 0, 1, 0, 0, 25)) });
    expect(since.map((stored) => stored.seq)).toEqual([25, 26, 28, 29]);
  });
});

describe('time filtering', () => {
  // Entries carry their own times (a request's start), so times need not grow with seq; entries without one get the
  // store's clock, here minute 20.
  const minute = (value: number) => new Date(Date.UTC(2025, 0, 1, 0, value));
  const timedEntry = (value: number | undefined, department = 'sales'): LedgerEntryInput => ({ kind: 'x', department, ...(value === undefined ? {} : { time: minute(value) }) });

  async function expectSinceMatchesAFullScan(store: SqliteLedgerStore, since: Date): Promise<void> {
    const all = await store.entries({ limit: 100_000 });
    const expected = (department?: string) =>
      all.filter((stored) => stored.entry.time >= since.toISOString() && (department === undefined || stored.entry.department === department)).map((stored) => stored.seq);
    expect((await store.entries({ since, limit: 100_000 })).map((stored) => stored.seq)).toEqual(expected());
    expect((await store.entries({ since, department: 'legal', limit: 100_000 })).map((stored) => stored.seq)).toEqual(expected('legal'));
    expect((await store.entries({ since, from: 3, limit: 2 })).map((stored) => stored.seq)).toEqual(expected().filter((seq) => seq >= 3).slice(0, 2));
  }

  it('returns exactly the entries at or after "since", whatever order their times arrive in, batch by batch', async () => {
    const batch = fc.array(fc.record({ minute: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }), legal: fc.boolean() }), { minLength: 1, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { maxLength: 6 }), fc.integer({ min: -1, max: 32 }), async (batches, sinceMinute) => {
        const store = openSqliteLedger({ path: ':memory:', checkpointIntervalMs: 60_000, clock: () => minute(20) });
        try {
          for (const items of batches) await Promise.all(items.map((item) => store.append(timedEntry(item.minute, item.legal ? 'legal' : 'sales'))));
          await expectSinceMatchesAFullScan(store, minute(sinceMinute));
        } finally {
          await store.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('remembers the newest time across a restart', async () => {
    const first = openLedger();
    await Promise.all([first.append(timedEntry(10)), first.append(timedEntry(5))]);
    await first.close();
    const second = openLedger();
    await second.append(timedEntry(3));
    await second.append(timedEntry(12));
    for (const since of [2, 4, 6, 11, 13]) await expectSinceMatchesAFullScan(second, minute(since));
    expect((await second.entries({ since: minute(4) })).map((stored) => stored.seq)).toEqual([0, 1, 3]);
  });

  it('marks the entries of a database written before the time marks existed, and drops the time index', async () => {
    const first = openLedger();
    for (const value of [7, 2, 9, 9, 4, 15, 1]) await first.append(timedEntry(value, value % 2 ? 'legal' : 'sales'));
    await first.close();
    // What migration ledger-001 alone left: the time index, no marks.
    const db = raw();
    db.exec(`DROP TABLE ledger_time_marks; CREATE INDEX ledger_entries_time ON ledger_entries (time);
      DELETE FROM schema_migrations WHERE id = 'ledger-002-time-marks';`);
    db.close();
    const second = openLedger();
    for (let since = 0; since <= 16; since += 1) await expectSinceMatchesAFullScan(second, minute(since));
    const check = raw();
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'ledger_entries_time'").get()).toBeUndefined();
    expect(check.prepare('SELECT seq FROM ledger_time_marks ORDER BY time').pluck().all()).toEqual([0, 2, 5]);
    check.close();
  });
});

describe('content retention', () => {
  it('stores nothing, redacted or full content apart from the log, and purging it keeps the log verifiable', async () => {
    const store = openLedger();
    const [none, redacted, full] = await appendMany(store, 3);
    const content = { request: { messages: [{ role: 'user', content: 'mail me at ann@example.com' }] }, response: 'call +44 20 7946 0958' };
    await store.storeContent(none, content, 'none');
    await store.storeContent(redacted, content, 'redacted');
    await store.storeContent(full, content, 'full');
    expect(await store.content(none)).toBeUndefined();
    const masked = await store.content(redacted);
    expect(masked).toMatchObject({ mode: 'redacted', request: { messages: [{ content: 'mail me at [EMAIL]' }] }, response: 'call [PHONE]' });
    expect(masked?.redactions).toMatchObject({ email: 1, phone: 1 });
    expect(await store.content(full)).toMatchObject({ mode: 'full', response: 'call +44 20 7946 0958', department: 'sales' });
    await expect(store.storeContent(99, content, 'full')).rejects.toThrow(/no entry 99/);
    expect(await store.purgeContent(new Date(Date.UTC(2025, 0, 1, 0, 0, 2)))).toBe(1);
    expect(await store.content(redacted)).toBeUndefined();
    expect(await store.content(full)).toBeDefined();
    expect(await store.purgeContent(new Date(Date.UTC(2030, 0, 1)), { department: 'legal' })).toBe(0);
    expect(await verifyLedger(store)).toMatchObject({ ok: true, size: 3 });
  });
});

describe('stored subtrees', () => {
  function storedNodes(): { level: number; idx: number; hash: string }[] {
    const database = raw();
    const rows = database.prepare('SELECT level, idx, hex(hash) AS hash FROM ledger_nodes ORDER BY level, idx').all() as { level: number; idx: number; hash: string }[];
    database.close();
    return rows.map((row) => ({ ...row, hash: row.hash.toLowerCase() }));
  }

  function expectedNodes(tree: MemoryMerkleTree, minimumLevel: number): { level: number; idx: number; hash: string }[] {
    const nodes = [];
    for (let level = minimumLevel; 2 ** level <= tree.size; level += 1) {
      for (let idx = 0; idx < Math.floor(tree.size / 2 ** level); idx += 1) nodes.push({ level, idx, hash: toHex(tree.node(level, idx)) });
    }
    return nodes;
  }

  it(`keeps only the subtrees of 2^${lowestStoredLevel} leaves and more`, async () => {
    const store = openLedger();
    for (const count of [3, 14, 1, 40, 9, 33]) await appendMany(store, count);
    const tree = new MemoryMerkleTree();
    for (const stored of await store.entries({ limit: 1000 })) tree.appendData(stored.json);
    expect(tree.size).toBe(100);
    expect(storedNodes()).toEqual(expectedNodes(tree, lowestStoredLevel));
  });

  it('drops the lower subtrees a database written before kept, and proves the same afterwards (migration ledger-003)', async () => {
    const first = openLedger();
    await appendMany(first, 45);
    await first.checkpoint();
    const proofBefore = await first.inclusionProof(21);
    const consistencyBefore = await first.consistencyProof(13, 45);
    await first.close();
    const tree = new MemoryMerkleTree();
    for (const stored of await openLedger({ readOnly: true }).entries({ limit: 1000 })) tree.appendData(stored.json);
    // What migrations ledger-001 and -002 left: every interior level stored.
    const database = raw();
    const insert = database.prepare('INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)');
    for (const node of expectedNodes(tree, 1).filter((node) => node.level < lowestStoredLevel)) insert.run(node.level, node.idx, fromHex(node.hash));
    database.prepare("DELETE FROM schema_migrations WHERE id = 'ledger-003-upper-nodes-only'").run();
    database.close();
    expect(storedNodes()).toEqual(expectedNodes(tree, 1));
    const second = openLedger();
    expect(storedNodes()).toEqual(expectedNodes(tree, lowestStoredLevel));
    expect(await second.inclusionProof(21)).toEqual(proofBefore);
    expect(await second.consistencyProof(13, 45)).toEqual(consistencyBefore);
    await appendMany(second, 3, 45);
    expect(await verifyLedger(second)).toMatchObject({ ok: true, size: 48 });
  });
});

describe('verifyLedger against edits made directly in the database', () => {
  async function buildLog(count: number): Promise<void> {
    const store = openLedger({ checkpointIntervalMs: 60_000 });
    await appendMany(store, count);
    await store.checkpoint();
    await store.close();
    open.splice(open.indexOf(store), 1);
  }

  async function verifyFile(verifierKey?: string) {
    const store = openLedger({ readOnly: true });
    return verifyLedger(store, { verifierKey, pageSize: 7 });
  }

  /** Change the file as anyone with write access to it could: `sql` on a connection of its own. */
  function edit(sql: string): void {
    const database = raw();
    database.exec(sql);
    database.close();
  }

  it('passes on an untouched log', async () => {
    await buildLog(40);
    expect(await verifyFile()).toMatchObject({ ok: true, size: 40, checkpoints: 1 });
  });

  it("names the entry whose JSON was edited", async () => {
    await buildLog(40);
    const database = raw();
    const row = database.prepare('SELECT entry_json FROM ledger_entries WHERE seq = 17').get() as { entry_json: string };
    database.prepare('UPDATE ledger_entries SET entry_json = ? WHERE seq = 17').run(row.entry_json.replace('"cost_usd_micros":142', '"cost_usd_micros":1'));
    database.close();
    expect(await verifyFile()).toMatchObject({ ok: false, firstBadSeq: 17, reason: expect.stringContaining('entry 17') });
  });

  function editWithLeafHash(seq: number): void {
    const database = raw();
    const row = database.prepare('SELECT entry_json FROM ledger_entries WHERE seq = ?').get(seq) as { entry_json: string };
    const edited = row.entry_json.replace('"outcome":"allowed"', '"outcome":"refused"');
    database.prepare('UPDATE ledger_entries SET entry_json = ?, leaf_hash = ? WHERE seq = ?').run(edited, Buffer.from(hashLeaf(edited)), seq);
    database.close();
  }

  it('catches an edit whose leaf hash was recomputed too, naming the smallest stored subtree over it', async () => {
    await buildLog(40);
    editWithLeafHash(22);
    // Subtrees below lowestStoredLevel are hashed from the (edited) leaves, so the first stored one that differs covers
    // 2^lowestStoredLevel entries: 16..31.
    const width = 2 ** lowestStoredLevel;
    const first = Math.floor(22 / width) * width;
    expect(await verifyFile()).toMatchObject({ ok: false, firstBadSeq: first, reason: expect.stringContaining(`entries ${first}..${first + width - 1} does not match`) });
  });

  it('catches such an edit after the last stored subtree through the signed checkpoint', async () => {
    await buildLog(40);
    editWithLeafHash(37);
    expect(await verifyFile()).toMatchObject({ ok: false, firstBadSeq: 0, reason: expect.stringContaining('do not match the signed checkpoint at size 40') });
  });

  it('names the missing entry when one was deleted', async () => {
    await buildLog(40);
    edit('DELETE FROM ledger_entries WHERE seq = 39');
    expect(await verifyFile()).toMatchObject({ ok: false, firstBadSeq: 39, reason: expect.stringContaining('missing') });
  });

  it('catches a rewritten log re-signed with a substituted key when the auditor supplies the original key', async () => {
    await buildLog(10);
    const store = openLedger({ readOnly: true });
    const originalKey = await store.publicKey();
    const origin = store.origin;
    await store.close();
    open.pop();
    // The administrator rewrites entry 4 everywhere (JSON, leaf hash, subtrees) and re-signs with a new key.
    const database = raw();
    const rows = database.prepare('SELECT seq, entry_json FROM ledger_entries ORDER BY seq').all() as { seq: number; entry_json: string }[];
    const tree = new MemoryMerkleTree();
    for (const row of rows) {
      const json = row.seq === 4 ? row.entry_json.replace('"user":"user-4"', '"user":"someone-else"') : row.entry_json;
      tree.appendData(json);
      database.prepare('UPDATE ledger_entries SET entry_json = ?, leaf_hash = ? WHERE seq = ?').run(json, Buffer.from(hashLeaf(json)), row.seq);
    }
    for (let level = 1; 2 ** level <= rows.length; level += 1) {
      for (let index = 0; index < Math.floor(rows.length / 2 ** level); index += 1) {
        database.prepare('UPDATE ledger_nodes SET hash = ? WHERE level = ? AND idx = ?').run(Buffer.from(tree.node(level, index)), level, index);
      }
    }
    const forger = parseSignerKey(generateSignerKey(origin));
    database.prepare('UPDATE ledger_signing_key SET signer_key = ?, verifier_key = ?').run('x', verifierKeyOf(forger));
    database
      .prepare('UPDATE ledger_checkpoints SET root_hash = ?, note = ? WHERE size = 10')
      .run(Buffer.from(tree.root()), signCheckpoint({ origin, size: 10, rootHash: Buffer.from(tree.root()) }, forger));
    database.close();
    expect((await verifyFile()).ok).toBe(true);
    expect(await verifyFile(originalKey)).toMatchObject({ ok: false, firstBadSeq: null, reason: expect.stringContaining('checkpoint at size 10') });
  });

  it('reports deleted tree nodes as a failure, not a crash', async () => {
    await buildLog(40);
    // The root of 40 leaves is over the subtree of 0..31 (level 5) and 32..39 (level 3, hashed from its leaves).
    edit('DELETE FROM ledger_nodes WHERE level = 5');
    expect(await verifyFile()).toMatchObject({ ok: false, reason: expect.stringContaining('missing tree node (level 5') });
    // A writer refuses to continue on a damaged tree rather than extending it.
    expect(() => openSqliteLedger({ path })).toThrow(/stored tree is damaged.*audit verify/);
  });

  it('names an altered stored subtree', async () => {
    await buildLog(40);
    edit('UPDATE ledger_nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 1');
    expect(await verifyFile()).toMatchObject({ ok: false, firstBadSeq: 16, reason: expect.stringContaining('tree node over entries 16..31 does not match') });
  });

  it('names a deleted stored subtree that the root does not need', async () => {
    await buildLog(40);
    edit('DELETE FROM ledger_nodes WHERE level = 4 AND idx = 1');
    expect(await verifyFile()).toMatchObject({ ok: false, firstBadSeq: 16, reason: expect.stringContaining('(level 4, index 1) over entries 16..31 is missing') });
  });

  it('reports an entry missing under a subtree hashed from the leaves', async () => {
    await buildLog(40);
    edit('DELETE FROM ledger_entries WHERE seq = 35');
    expect(await verifyFile()).toMatchObject({ ok: false, reason: expect.stringContaining('missing tree node (level 3, index 4): entry 35 is missing') });
    expect(() => openSqliteLedger({ path })).toThrow(/stored tree is damaged/);
  });

  it('catches a checkpoint note edited after signing', async () => {
    await buildLog(10);
    edit("UPDATE ledger_checkpoints SET note = replace(note, char(10) || '10' || char(10), char(10) || '9' || char(10))");
    expect(await verifyFile()).toMatchObject({ ok: false, reason: expect.stringContaining('does not verify') });
  });
});
