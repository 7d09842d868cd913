// No answer without its evidence: when the ledger cannot record a request, a JSON answer is withheld (503) and a
// stream ends with that error; once the ledger works again, requests are answered and the log still verifies.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const secrets = { ADMIN_KEY: 'sk-fail-closed-admin', CLAIMS_KEY: 'sk-fail-closed-claims' };
let gateway: TestGateway;
let saboteur: Database.Database;

const text = `
store: sqlite:{{DB}}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-gpt-1 } ]
org:
  name: acme
  departments:
    - name: claims
      keys: [ { name: triage-bot, key_env: CLAIMS_KEY } ]
`;

const chat = (body: Record<string, unknown>) => fetch(`${gateway.url}/v1/chat/completions`, {
  method: 'POST',
  headers: { authorization: `Bearer ${secrets.CLAIMS_KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8, ...body }),
});

const inferenceCount = async () => (await (await fetch(`${gateway.url}/admin/audit/entries?kind=inference&limit=1000`, { headers: { authorization: `Bearer ${secrets.ADMIN_KEY}` } })).json()).data.length as number;

beforeAll(async () => {
  gateway = await startTestGateway(text, secrets);
  // A second connection to the same file, as a failing disk or a locked-down table would.
  saboteur = new Database(join(gateway.directory, 'covenant.db'));
});

// Every test starts with a ledger whose every insert aborts, and ends with it working again (tests run in any order).
beforeEach(() => {
  saboteur.exec("CREATE TRIGGER IF NOT EXISTS refuse_entries BEFORE INSERT ON ledger_entries BEGIN SELECT RAISE(ABORT, 'simulated ledger failure'); END;");
});

afterEach(() => {
  saboteur.exec('DROP TRIGGER IF EXISTS refuse_entries; DROP TRIGGER IF EXISTS fail_at_commit;');
});

afterAll(async () => {
  saboteur?.close();
  await gateway?.stop();
});

describe('when the ledger cannot record a request', () => {
  it('withholds a JSON answer with 503 evidence_unavailable and the request id', async () => {
    const response = await chat({});
    expect(response.status).toBe(503);
    expect(response.headers.get('x-covenant-request-id')).toMatch(/^req_/);
    const body = await response.json();
    expect(body.error.code).toBe('evidence_unavailable');
    expect(body).not.toHaveProperty('choices');
  });

  it('ends a stream with the evidence_unavailable error instead of [DONE]', async () => {
    const response = await chat({ stream: true });
    expect(response.status).toBe(200);
    const frames = (await response.text()).split('\n\n').filter(Boolean);
    expect(frames).not.toContain('data: [DONE]');
    expect(JSON.parse(frames.at(-1)!.slice('data: '.length)).error.code).toBe('evidence_unavailable');
  });

  it('answers again once the ledger works, and the log verifies without a gap', async () => {
    expect((await chat({})).status).toBe(503);
    saboteur.exec('DROP TRIGGER refuse_entries');
    const before = await inferenceCount();
    const response = await chat({});
    expect(response.status).toBe(200);
    expect((await response.json()).choices[0].message.content).toBeTruthy();
    const verified = await fetch(`${gateway.url}/admin/audit/verify`, { headers: { authorization: `Bearer ${secrets.ADMIN_KEY}` } });
    const report = await verified.json();
    expect(report.ok).toBe(true);
    const listed = await (await fetch(`${gateway.url}/admin/audit/entries?kind=inference`, { headers: { authorization: `Bearer ${secrets.ADMIN_KEY}` } })).json();
    expect(listed.data.map((entry: { seq: number }) => entry.seq)).toEqual([...listed.data.keys()].map((index) => listed.data[0].seq + index));
    expect(await inferenceCount()).toBe(before + 1);
  });

  it('withholds the answer when the COMMIT itself fails (as on a full disk), stays up, and loses no sequence number', async () => {
    // A deferred foreign key is checked only at COMMIT: every entry's insert leaves a violation that fails the commit.
    saboteur.exec('DROP TRIGGER refuse_entries');
    const before = await inferenceCount();
    saboteur.exec(`
      CREATE TABLE commit_parent (id INTEGER PRIMARY KEY);
      CREATE TABLE commit_guard (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES commit_parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER fail_at_commit AFTER INSERT ON ledger_entries BEGIN INSERT INTO commit_guard (parent) VALUES (-1); END;
    `);
    const refused = await chat({});
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('evidence_unavailable');
    const streamed = await (await chat({ stream: true })).text();
    expect(streamed).not.toContain('data: [DONE]');
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    saboteur.exec('DROP TRIGGER fail_at_commit');
    const answered = await chat({});
    expect(answered.status).toBe(200);
    const admin = { headers: { authorization: `Bearer ${secrets.ADMIN_KEY}` } };
    expect((await (await fetch(`${gateway.url}/admin/audit/verify`, admin)).json()).ok).toBe(true);
    const listed = await (await fetch(`${gateway.url}/admin/audit/entries?kind=inference`, admin)).json();
    // Only the answered request is in the log, numbered without a gap.
    expect(listed.data).toHaveLength(before + 1);
    const head = await (await fetch(`${gateway.url}/admin/audit/head`, admin)).json();
    const all = await (await fetch(`${gateway.url}/admin/audit/entries?limit=1000`, admin)).json();
    expect(all.data.map((entry: { seq: number }) => entry.seq)).toEqual([...Array(head.tree_size).keys()]);
  });
});
