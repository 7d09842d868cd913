// PATCH /admin/keys/:id: an admin-API key's budgets and guards change for its next request (a budget lowered below
// its spend refuses with 402), each edit is a key.updated entry of what changed, config keys stay read-only, and the
// body is checked as on create.
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const price = { input_per_mtok: 10, output_per_mtok: 30 };
const version = 'gpt-4o-mini-2024-07-18';
const adminKey = 'sk-key-edit-admin';
const scopedKey = 'sk-key-edit-claims-finops';

let upstream: FakeOpenAI;
let gateway: TestGateway;

beforeEach(async () => {
  upstream = await startFakeOpenAI({ prices: { [version]: price } });
  gateway = await startTestGateway(`
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-finops, key_env: SCOPED_KEY, role: finops, department: claims }
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models:
  - { alias: fast, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } }
  - { alias: other, provider: openai, version: ${version}, price: { input_per_mtok: ${price.input_per_mtok}, output_per_mtok: ${price.output_per_mtok} } }
org:
  name: acme
  departments:
    - name: claims
      keys: [ { name: config-bot, key_env: CONFIG_KEY } ]
    - name: hr
`, { ADMIN_KEY: adminKey, SCOPED_KEY: scopedKey, CONFIG_KEY: 'sk-key-edit-config-bot' });
});

afterEach(async () => {
  await gateway.stop();
  await upstream.close();
});

async function admin(method: string, path: string, body?: unknown, key = adminKey) {
  const response = await fetch(`${gateway.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() as any };
}

async function createKey(fields: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const created = await admin('POST', '/keys', { department: 'claims', ...fields });
  expect(created.status).toBe(201);
  return created.body;
}

const ask = (key: string, model = 'fast') => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
  .chat.completions.create({ model, messages: [{ role: 'user', content: 'Is this claim covered?' }], max_tokens: 16 });
const failure = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error as InstanceType<typeof OpenAI.APIError>);

async function entries(): Promise<Record<string, any>[]> {
  await gateway.stores.ledger.flush();
  return (await gateway.stores.ledger.entries({ limit: 1000 })).map((stored) => stored.entry as Record<string, any>);
}

describe('PATCH /admin/keys/:id', () => {
  it('lowers a budget below what the key spent: its next request is refused with 402', async () => {
    const { id, key } = await createKey({ name: 'spender', budgets: [{ usd: 1, period: 'day' }] });
    expect((await ask(key)).choices).toHaveLength(1);
    const edited = await admin('PATCH', `/keys/${id}`, { budgets: [{ usd: 0.000001, period: 'day' }] });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ id, name: 'spender', budgets: [{ usd: 0.000001, period: 'day' }] });
    expect(edited.body.key).toBeUndefined();
    const refused = await failure(ask(key));
    expect(refused?.status).toBe(402);
    expect(refused?.code).toBe('budget_exceeded');
    // Raised again, the key is served again.
    expect((await admin('PATCH', `/keys/${id}`, { budgets: [{ usd: 1, period: 'day' }] })).status).toBe(200);
    expect((await ask(key)).choices).toHaveLength(1);
    const listed = (await admin('GET', '/keys')).body.data.find((row: { id: string }) => row.id === id);
    expect(listed.budgets).toEqual([{ usd: 1, period: 'day' }]);
  });

  it('records key.updated with the admin key and what changed, before and after, never the secret', async () => {
    const { id, key } = await createKey({ name: 'recorded', budgets: [{ usd: 2, period: 'month' }], rate_limit: { rpm: 100 } });
    expect((await admin('PATCH', `/keys/${id}`, { name: 'renamed', budgets: [{ usd: 1, period: 'month' }], rate_limit: null, limits: { max_request_usd: 0.5 } })).status).toBe(200);
    const updated = (await entries()).filter((entry) => entry.kind === 'key.updated');
    expect(updated).toHaveLength(1);
    expect(updated[0]).toMatchObject({
      key_id: id, key: 'renamed', department: 'claims', by: 'ops',
      changes: {
        name: { before: 'recorded', after: 'renamed' },
        budgets: { before: [{ usd: 2, period: 'month' }], after: [{ usd: 1, period: 'month' }] },
        rate_limit: { before: { rpm: 100 }, after: null },
        limits: { before: null, after: { max_request_usd: 0.5 } },
      },
    });
    expect(Object.keys(updated[0]!.changes).sort()).toEqual(['budgets', 'limits', 'name', 'rate_limit']);
    expect(JSON.stringify(updated[0])).not.toContain(key.split('.')[1]);
  });

  it('adds and clears a rate limit and narrows the models, each from the next request', async () => {
    const { id, key } = await createKey({ name: 'guarded' });
    expect((await admin('PATCH', `/keys/${id}`, { rate_limit: { rpm: 1 } })).status).toBe(200);
    await ask(key);
    expect((await failure(ask(key)))?.status).toBe(429);
    expect((await admin('PATCH', `/keys/${id}`, { rate_limit: null, models: ['other'] })).status).toBe(200);
    expect((await ask(key, 'other')).choices).toHaveLength(1);
    expect((await failure(ask(key, 'fast')))?.status).toBe(403);
    expect((await admin('PATCH', `/keys/${id}`, { models: null })).status).toBe(200);
    expect((await ask(key, 'fast')).choices).toHaveLength(1);
  });

  it('keeps config keys read-only, refuses revoked and unknown keys, and checks the body as create does', async () => {
    const configKey = (await admin('GET', '/keys')).body.data.find((row: { name: string }) => row.name === 'config-bot');
    const readOnly = await admin('PATCH', `/keys/${configKey.id}`, { budgets: [{ usd: 1, period: 'day' }] });
    expect(readOnly.status).toBe(400);
    expect(readOnly.body.error.message).toContain('defined in the config file');
    expect((await admin('PATCH', '/keys/key_missing', { name: 'x' })).status).toBe(404);
    const { id } = await createKey({ name: 'checked' });
    const cases: [Record<string, unknown>, string][] = [
      [{ budgets: [{ usd: -1, period: 'day' }] }, 'budgets.0.usd'],
      [{ budgets: [{ usd: 1, tokens: 5, period: 'day' }] }, 'budgets.0'],
      [{ rate_limit: { rpm: 0 } }, 'rate_limit.rpm'],
      [{ agent: {} }, 'agent'],
      [{ models: ['nope'] }, 'models'],
      [{ department: 'nowhere' }, 'department'],
      [{ route: 'mock' }, 'route'],
      [{ secret_hash: 'x' }, ''],
    ];
    for (const [fields, param] of cases) {
      const response = await admin('PATCH', `/keys/${id}`, fields);
      expect(response.status, JSON.stringify(fields)).toBe(400);
      expect(response.body.error.param ?? '', JSON.stringify(fields)).toBe(param);
    }
    expect((await admin('PATCH', `/keys/${id}`, {})).status).toBe(400);
    // Nothing above changed the key.
    const listed = (await admin('GET', '/keys')).body.data.find((row: { id: string }) => row.id === id);
    expect(listed).toMatchObject({ department: 'claims', name: 'checked', models: null, budgets: [] });
    expect((await admin('DELETE', `/keys/${id}`)).status).toBe(200);
    const revoked = await admin('PATCH', `/keys/${id}`, { name: 'after' });
    expect(revoked.status).toBe(400);
    expect(revoked.body.error.message).toContain('revoked');
  });

  it("lets a department-scoped admin edit its department's keys but not move one out, nor touch another department's", async () => {
    const own = await createKey({ name: 'own' });
    const theirs = await createKey({ name: 'theirs', department: 'hr' });
    expect((await admin('PATCH', `/keys/${own.id}`, { budgets: [{ usd: 3, period: 'day' }] }, scopedKey)).status).toBe(200);
    expect((await admin('PATCH', `/keys/${own.id}`, { department: 'hr' }, scopedKey)).status).toBe(403);
    expect((await admin('PATCH', `/keys/${theirs.id}`, { budgets: [{ usd: 3, period: 'day' }] }, scopedKey)).status).toBe(403);
    const listed = (await admin('GET', '/keys')).body.data as { id: string; department: string; budgets: unknown[] }[];
    expect(listed.find((row) => row.id === own.id)?.department).toBe('claims');
    expect(listed.find((row) => row.id === theirs.id)?.budgets).toEqual([]);
    // The unscoped admin may move a key.
    expect((await admin('PATCH', `/keys/${own.id}`, { department: 'hr' })).body.department).toBe('hr');
    // The move is in both departments' ledgers, so the department the key left sees it go.
    const moves = (await entries()).filter((entry) => entry.kind === 'key.updated' && entry.key_id === own.id && entry.changes?.department);
    expect(moves.map((entry) => entry.department).sort()).toEqual(['claims', 'hr']);
    for (const entry of moves) expect(entry.changes.department).toEqual({ before: 'claims', after: 'hr' });
  });
});

describe('ETag and If-Match on /admin/keys/:id', () => {
  /** A raw HTTP call as any client makes it, with its ETag. */
  async function call(method: string, path: string, options: { body?: unknown; ifMatch?: string; key?: string } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? adminKey}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    const response = await fetch(`${gateway.url}/admin${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    return { status: response.status, etag: response.headers.get('etag'), body: await response.json() as any };
  }
  const budget = (usd: number) => ({ budgets: [{ usd, period: 'day' }] });

  it('gives one key with its revision as a strong ETag; every edit moves it and answers the new ETag', async () => {
    const { id } = await createKey({ name: 'tagged' });
    const read = await call('GET', `/keys/${id}`);
    expect(read).toMatchObject({ status: 200, etag: '"1"', body: { id, name: 'tagged', revision: 1, budgets: [] } });
    expect(read.body.key).toBeUndefined();
    expect((await call('GET', '/keys')).body.data.find((row: { id: string }) => row.id === id).revision).toBe(1);
    const edited = await call('PATCH', `/keys/${id}`, { body: budget(2) });
    expect(edited).toMatchObject({ status: 200, etag: '"2"', body: { revision: 2 } });
    expect((await call('GET', `/keys/${id}`)).etag).toBe('"2"');
    expect((await call('DELETE', `/keys/${id}`)).body.revision).toBe(3);
    expect((await call('GET', `/keys/${id}`)).etag).toBe('"3"');
    expect((await call('GET', '/keys/key_missing')).status).toBe(404);
  });

  it('revokes with If-Match only a key still at that revision: a stale ETag gets 412 and the key keeps working', async () => {
    const { id, key } = await createKey({ name: 'doomed' });
    const etag = (await call('GET', `/keys/${id}`)).etag!;
    // Someone else raises its budget meanwhile: the revocation decided on the old key is refused.
    expect((await call('PATCH', `/keys/${id}`, { body: budget(9) })).etag).toBe('"2"');
    const stale = await call('DELETE', `/keys/${id}`, { ifMatch: etag });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({ code: 'precondition_failed' });
    expect(stale.body.error.message).toContain('revision 2');
    expect(stale.body.error.message).toContain('not revoked');
    expect((await ask(key)).choices).toHaveLength(1);
    expect((await entries()).filter((entry) => entry.kind === 'key.revoked' && entry.key_id === id)).toHaveLength(0);
    // From the current ETag it goes, and the key stops working.
    const revoked = await call('DELETE', `/keys/${id}`, { ifMatch: '"2"' });
    expect(revoked).toMatchObject({ status: 200, etag: '"3"', body: { revision: 3 } });
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    expect((await failure(ask(key)))?.status).toBe(401);
  });

  it('refuses an edit made from a stale ETag with 412 precondition_failed naming the current revision, and keeps the other edit', async () => {
    const { id } = await createKey({ name: 'contested', budgets: [{ usd: 1, period: 'day' }] });
    // Two admins open the key at the same revision.
    const etag = (await call('GET', `/keys/${id}`)).etag!;
    expect((await call('PATCH', `/keys/${id}`, { body: budget(5), ifMatch: etag })).etag).toBe('"2"');
    const stale = await call('PATCH', `/keys/${id}`, { body: budget(0.5), ifMatch: etag });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({ code: 'precondition_failed', type: 'invalid_request_error' });
    expect(stale.body.error.message).toContain('revision 2');
    expect(stale.body.error.message).toContain('not saved');
    expect((await call('GET', `/keys/${id}`)).body).toMatchObject(budget(5));
    expect((await entries()).filter((entry) => entry.kind === 'key.updated' && entry.key_id === id)).toHaveLength(1);
    // Read again, the second admin's edit goes through.
    expect(await call('PATCH', `/keys/${id}`, { body: budget(0.5), ifMatch: '"2"' })).toMatchObject({ status: 200, etag: '"3"', body: budget(0.5) });
  });

  it('lets exactly one of two simultaneous edits from the same ETag through', async () => {
    const { id } = await createKey({ name: 'raced' });
    const answers = await Promise.all([3, 4].map((usd) => call('PATCH', `/keys/${id}`, { body: budget(usd), ifMatch: '"1"' })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412]);
    const winner = answers.find((answer) => answer.status === 200)!;
    expect((await call('GET', `/keys/${id}`)).body).toMatchObject({ budgets: winner.body.budgets, revision: 2 });
  });

  it('matches any existing key with If-Match: *, never a weak tag, any tag of a list; a malformed one is a 400', async () => {
    const { id } = await createKey({ name: 'matched' });
    expect(await call('PATCH', `/keys/${id}`, { body: budget(1), ifMatch: '*' })).toMatchObject({ status: 200, etag: '"2"' });
    expect((await call('PATCH', `/keys/${id}`, { body: budget(2), ifMatch: 'W/"2"' })).status).toBe(412);
    expect((await call('PATCH', `/keys/${id}`, { body: budget(2), ifMatch: '"abc"' })).status).toBe(412);
    expect(await call('PATCH', `/keys/${id}`, { body: budget(2), ifMatch: '"1", "2"' })).toMatchObject({ status: 200, etag: '"3"' });
    const malformed = await call('PATCH', `/keys/${id}`, { body: budget(3), ifMatch: '3' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toContain('If-Match');
    expect((await call('PATCH', '/keys/key_missing', { body: budget(3), ifMatch: '*' })).status).toBe(404);
    expect((await call('GET', `/keys/${id}`)).body).toMatchObject({ ...budget(2), revision: 3 });
  });

  it("lets a department-scoped admin read its department's keys only", async () => {
    const own = await createKey({ name: 'own-read' });
    const theirs = await createKey({ name: 'theirs-read', department: 'hr' });
    expect((await call('GET', `/keys/${own.id}`, { key: scopedKey })).status).toBe(200);
    expect((await call('GET', `/keys/${theirs.id}`, { key: scopedKey })).status).toBe(403);
  });
});
