// `covenant audit …` commands run through commander: outputs, exit codes, and bundles that fail when altered.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerAuditCommands } from '../src/cli/audit.js';
import { storeLocation } from '../src/cli/command.js';
import { openSqliteLedger } from '../src/stores/sqlite/ledger-store.js';
import { fromHex, verifyConsistency, verifyInclusion } from '../src/core/merkle.js';
import { generateSignerKey, parseSignerKey, verifierKeyOf } from '../src/core/checkpoint.js';

let folder: string;
let path: string;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function audit(...args: string[]): Promise<Outcome> {
  return auditWith({}, ...args);
}

async function auditWith(environment: Record<string, string>, ...args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const program = new Command().exitOverride();
  registerAuditCommands(program, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), environment });
  process.exitCode = undefined;
  await program.parseAsync(['audit', ...args], { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

beforeEach(async () => {
  folder = mkdtempSync(join(tmpdir(), 'covenant-audit-cli-'));
  path = join(folder, 'covenant.db');
  const store = openSqliteLedger({ path, origin: 'covenant.test/ledger' });
  await Promise.all(
    Array.from({ length: 12 }, (_, index) =>
      store.append({
        kind: index === 0 ? 'key.created' : 'inference',
        time: new Date(Date.UTC(2025, 5, 1, 12, 0, index)),
        department: index % 2 === 0 ? 'legal' : 'sales',
        key: 'team-key',
        decision: { outcome: index === 7 ? 'refused' : 'allowed', ...(index === 7 ? { reason: 'budget_exceeded' } : {}) },
        cost_usd_micros: 100 * index,
      }),
    ),
  );
  await store.close();
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('covenant audit verify / head / public-key', () => {
  it('verifies an untouched ledger with exit 0', async () => {
    const outcome = await audit('verify', '--data', path);
    expect(outcome).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: 12 entries and 1 checkpoints verified; root [0-9a-f]{64}\n$/) });
  });

  it('exits 1 and prints the first bad sequence number after a direct database edit', async () => {
    const database = new Database(path);
    database.prepare("UPDATE ledger_entries SET entry_json = replace(entry_json, '\"refused\"', '\"allowed\"') WHERE seq = 7").run();
    database.close();
    const outcome = await audit('verify', '--data', path);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toMatch(/^verification failed at seq 7: /);
  });

  it('prints the latest checkpoint note and the public key, never the private key', async () => {
    const head = await audit('head', '--data', path);
    expect(head.code).toBe(0);
    expect(head.stdout).toMatch(/^covenant\.test\/ledger\n12\n[A-Za-z0-9+/]{43}=\n\n\u2014 covenant\.test\/ledger \S+\n$/);
    const headJson = JSON.parse((await audit('head', '--data', path, '--json')).stdout);
    expect(headJson).toMatchObject({ size: 12, root_hash: expect.stringMatching(/^[0-9a-f]{64}$/), checkpoint: head.stdout });
    const key = await audit('public-key', '--data', path);
    expect(key.stdout).toMatch(/^covenant\.test\/ledger\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    const database = new Database(path);
    const signerKey = (database.prepare('SELECT signer_key FROM ledger_signing_key').get() as { signer_key: string }).signer_key;
    database.close();
    const seed = signerKey.split('+').slice(4).join('+');
    for (const outcome of [head, key, await audit('entries', '--data', path, '--json')]) {
      expect(outcome.stdout).not.toContain('PRIVATE');
      expect(outcome.stdout).not.toContain(seed);
    }
  });

  it('exits 2 with a clear message when the database is missing or an argument is malformed', async () => {
    const missing = await audit('verify', '--data', join(folder, 'nope.db'));
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('no ledger database at') });
    expect(await audit('proof', '--data', path, '--index', 'abc')).toMatchObject({ code: 2, stderr: expect.stringContaining('--index must be') });
    expect(await audit('proof', '--data', path)).toMatchObject({ code: 2, stderr: expect.stringContaining('--index is required') });
    expect(await audit('proof', '--data', path, '--index', '12')).toMatchObject({ code: 2, stderr: expect.stringContaining('no entry 12') });
    expect(await audit('consistency', '--data', path, '--from', '9', '--to', '3')).toMatchObject({ code: 2 });
    expect(await audit('export', '--data', path)).toMatchObject({ code: 2, stderr: expect.stringContaining('--out is required') });
  });
});

describe('covenant audit entries / proof / consistency', () => {
  it('lists entries as text or JSON, filtered by department', async () => {
    const listed = await audit('entries', '--data', path, '--from', '6', '--limit', '2');
    expect(listed.stdout.split('\n')).toEqual([
      '6\t2025-06-01T12:00:06.000Z\tinference\tdepartment=legal key=team-key decision=allowed cost_usd_micros=600',
      '7\t2025-06-01T12:00:07.000Z\tinference\tdepartment=sales key=team-key decision=refused(budget_exceeded) cost_usd_micros=700',
      '',
    ]);
    const asJson = JSON.parse((await audit('entries', '--data', path, '--department', 'sales', '--json')).stdout);
    expect(asJson.map((entry: { seq: number }) => entry.seq)).toEqual([1, 3, 5, 7, 9, 11]);
  });

  it('prints an inclusion proof with the documented fields that verifies', async () => {
    const proof = JSON.parse((await audit('proof', '--data', path, '--index', '5')).stdout);
    expect(Object.keys(proof)).toEqual(['leaf_index', 'tree_size', 'leaf_hash', 'inclusion_path', 'root_hash', 'entry']);
    expect(proof).toMatchObject({ leaf_index: 5, tree_size: 12, entry: { seq: 5, department: 'sales' } });
    expect(verifyInclusion(5, 12, fromHex(proof.leaf_hash), proof.inclusion_path.map(fromHex), fromHex(proof.root_hash))).toBe(true);
    const smaller = JSON.parse((await audit('proof', '--data', path, '--index', '5', '--tree-size', '7')).stdout);
    expect(smaller.tree_size).toBe(7);
    expect(verifyInclusion(5, 7, fromHex(smaller.leaf_hash), smaller.inclusion_path.map(fromHex), fromHex(smaller.root_hash))).toBe(true);
  });

  it('prints a consistency proof with the documented fields that verifies', async () => {
    const proof = JSON.parse((await audit('consistency', '--data', path, '--from', '5', '--to', '12')).stdout);
    expect(Object.keys(proof)).toEqual(['first_size', 'second_size', 'first_root', 'second_root', 'consistency_path']);
    const head = JSON.parse((await audit('head', '--data', path, '--json')).stdout);
    expect(proof.second_root).toBe(head.root_hash);
    expect(verifyConsistency(5, 12, fromHex(proof.first_root), fromHex(proof.second_root), proof.consistency_path.map(fromHex))).toBe(true);
  });
});

describe('covenant audit export / verify-bundle', () => {
  async function exportTo(...extra: string[]): Promise<string> {
    const out = join(folder, 'bundle.json');
    const outcome = await audit('export', '--data', path, '--out', out, ...extra);
    expect(outcome.code).toBe(0);
    return out;
  }

  function rewrite(file: string, change: (bundle: any) => void): void {
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    change(bundle);
    writeFileSync(file, JSON.stringify(bundle));
  }

  it('exports a bundle that verifies offline, with the published key, after the database is gone', async () => {
    const key = (await audit('public-key', '--data', path)).stdout.trim();
    const out = await exportTo();
    rmSync(path);
    const outcome = await audit('verify-bundle', out, '--key', key);
    expect(outcome).toMatchObject({ code: 0, stdout: expect.stringContaining('ok: 12 entries proven in the signed tree of size 12') });
  });

  it('names the entry when an entry is altered', async () => {
    const out = await exportTo();
    rewrite(out, (bundle) => (bundle.entries[4].entry.cost_usd_micros = 1));
    const outcome = await audit('verify-bundle', out);
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toMatch(/^verification failed at seq 4: entry 4/);
    // Recomputing the leaf hash in the bundle does not help: the proof no longer leads to the signed root.
    rewrite(out, (bundle) => {
      bundle.entries[4].leaf_hash = undefined;
    });
    expect((await audit('verify-bundle', out)).stdout).toMatch(/^verification failed at seq 4: entry 4 is not proven/);
  });

  it('names the entry when its proof is altered', async () => {
    const out = await exportTo();
    rewrite(out, (bundle) => {
      const path = bundle.entries[9].inclusion_path;
      path[1] = path[1].replace(/^./, (digit: string) => (digit === '0' ? '1' : '0'));
    });
    expect(await audit('verify-bundle', out)).toMatchObject({ code: 1, stdout: expect.stringMatching(/^verification failed at seq 9:/) });
  });

  it('fails when the checkpoint is altered, or signed by a key other than the published one', async () => {
    const out = await exportTo();
    rewrite(out, (bundle) => (bundle.checkpoint = bundle.checkpoint.replace('\n12\n', '\n11\n')));
    expect(await audit('verify-bundle', out)).toMatchObject({ code: 1, stdout: expect.stringContaining('checkpoint does not verify') });
    const fresh = await exportTo();
    const otherKey = verifierKeyOf(parseSignerKey(generateSignerKey('covenant.test/ledger')));
    expect(await audit('verify-bundle', fresh, '--key', otherKey)).toMatchObject({ code: 1, stdout: expect.stringContaining('checkpoint') });
  });

  it("exports only one department's entries, still proven against the full tree", async () => {
    const out = await exportTo('--department', 'legal', '--since', '2025-06-01T12:00:04Z');
    const bundle = JSON.parse(readFileSync(out, 'utf8'));
    expect(bundle.entries.map((item: { seq: number }) => item.seq)).toEqual([4, 6, 8, 10]);
    expect(bundle.tree_size).toBe(12);
    expect(await audit('verify-bundle', out)).toMatchObject({ code: 0 });
    rewrite(out, (bundle) => (bundle.entries[0].entry.department = 'sales'));
    expect((await audit('verify-bundle', out)).code).toBe(1);
  });

  it('exits 2 for a file that is not a bundle', async () => {
    const file = join(folder, 'not-a-bundle.json');
    writeFileSync(file, '{"hello": 1}');
    expect(await audit('verify-bundle', file)).toMatchObject({ code: 2, stderr: expect.stringContaining('not a ledger bundle') });
    writeFileSync(file, 'nonsense');
    expect(await audit('verify-bundle', file)).toMatchObject({ code: 2, stderr: expect.stringContaining('not valid JSON') });
    expect((await audit('verify-bundle', join(folder, 'absent.json'))).code).toBe(2);
  });
});

describe('covenant audit --config', () => {
  const config = (store: string) => {
    const file = join(folder, 'covenant.yaml');
    const cache = store.startsWith('postgres') ? 'cache: redis://127.0.0.1:6379\n' : '';
    writeFileSync(file, `store: ${JSON.stringify(store)}\n${cache}org: { name: acme }\n`);
    return file;
  };

  it("reads the ledger from the config's store, by --config or COVENANT_CONFIG", async () => {
    const file = config(`sqlite:${path}`);
    expect(await audit('verify', '--config', file)).toMatchObject({ code: 0, stdout: expect.stringContaining('ok: 12 entries') });
    expect((await auditWith({ COVENANT_CONFIG: file }, 'entries', '--department', 'sales', '--json')).stdout).toContain('"department": "sales"');
    // --data still names the database directly, and wins over COVENANT_CONFIG.
    expect((await auditWith({ COVENANT_CONFIG: join(folder, 'absent.yaml') }, 'head', '--data', path)).code).toBe(0);
  });

  it('exits 2 for a missing or broken config, an absent database, or both --data and --config', async () => {
    expect(await audit('verify', '--config', join(folder, 'absent.yaml'))).toMatchObject({ code: 2, stderr: expect.stringContaining('no config file at') });
    expect(await audit('verify', '--config', config(`sqlite:${join(folder, 'nope.db')}`))).toMatchObject({ code: 2, stderr: expect.stringContaining('no ledger database at') });
    expect(await audit('verify', '--config', config(`sqlite:${path}`), '--data', path)).toMatchObject({ code: 2, stderr: 'covenant audit verify: pass --data or --config, not both\n' });
    writeFileSync(join(folder, 'broken.yaml'), 'store: sqlite:x.db\nextra: 1\norg: { name: acme }\n');
    expect(await audit('verify', '--config', join(folder, 'broken.yaml'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/broken\.yaml:2:1: .*extra/) });
  });

  it('finds a PostgreSQL ledger by the URL in the config', () => {
    const url = 'postgres://127.0.0.1:5432/test?schema=covenant_audit';
    expect(storeLocation({ config: config(url) }, {})).toBe(url);
    expect(storeLocation({}, {})).toBe('.covenant/covenant.db');
  });
});
