// Key secrets at rest: virtual keys are stored as salted digests checked in constant time (core/secret-digest.ts,
// gateway/keys.ts), admin keys are matched through a per-process HMAC index (gateway/secret-index.ts), and a store
// written before salting still authenticates (unsalted API keys until rotated; config keys re-salted on start).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { digestSecret, legacyDigest, verifySecret } from '../src/core/secret-digest.js';
import { startApp, type App } from '../src/gateway/app.js';
import { configKeyId } from '../src/gateway/keys.js';
import { openDatabase } from '../src/stores/sqlite/database.js';

describe('salted digests', () => {
  it('equal secrets differ at rest and each verifies only its own secret', () => {
    const one = digestSecret('sk-same', Buffer.alloc(16, 1));
    const two = digestSecret('sk-same', Buffer.alloc(16, 2));
    expect(one).not.toBe(two);
    expect(one).not.toContain(legacyDigest('sk-same'));
    expect(verifySecret('sk-same', one)).toBe(true);
    expect(verifySecret('sk-same', two)).toBe(true);
    expect(verifySecret('sk-samf', one)).toBe(false);
    expect(verifySecret('sk-same', 's1$broken')).toBe(false);
    expect(verifySecret('sk-same', '')).toBe(false);
  });

  it('an unsalted digest from an older store still verifies', () => {
    expect(verifySecret('sk-old', legacyDigest('sk-old'))).toBe(true);
    expect(verifySecret('sk-olf', legacyDigest('sk-old'))).toBe(false);
  });
});

const directory = mkdtempSync(join(tmpdir(), 'covenant-secrets-'));
const database = join(directory, 'covenant.db');
const environment = { ADMIN_KEY: 'sk-secrets-admin-key', BOT_KEY: 'sk-secrets-claims-bot' };
const configText = `
store: sqlite:${database}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: mock, type: mock } ]
models: [ { alias: demo, provider: mock, version: mock-gpt-1 } ]
org:
  name: acme
  departments:
    - name: claims
      keys: [ { name: bot, key_env: BOT_KEY } ]
`;
const start = () => startApp({ configText, environment, host: '127.0.0.1', port: 0 });
let app: App | undefined;
afterAll(async () => {
  await app?.close();
  rmSync(directory, { recursive: true, force: true });
});

const chat = (target: App, key: string) => fetch(`${target.url}/v1/chat/completions`, {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
});
const rows = () => {
  const db = openDatabase(database);
  try {
    return new Map((db.prepare('SELECT id, secret_hash FROM api_keys').all() as { id: string; secret_hash: string }[]).map((row) => [row.id, row.secret_hash]));
  } finally {
    db.close();
  }
};

describe('keys in the store', () => {
  let created: { id: string; key: string };

  it('an admin-API key is stored salted, authenticates, and a near miss does not', async () => {
    app = await start();
    const response = await fetch(`${app.url}/admin/keys`, {
      method: 'POST', headers: { authorization: `Bearer ${environment.ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ department: 'claims', name: 'made' }),
    });
    created = await response.json() as { id: string; key: string };
    expect(created.key.startsWith(`sk-cov-${created.id.slice(4)}.`)).toBe(true);
    const stored = rows();
    expect(stored.get(created.id)).toMatch(/^s1\$/);
    expect(stored.get(configKeyId('claims', 'bot'))).toMatch(/^s1\$/);
    expect([...stored.values()].join()).not.toContain(legacyDigest(created.key));
    expect((await chat(app, created.key)).status).toBe(200);
    expect((await chat(app, environment.BOT_KEY)).status).toBe(200);
    const nearMiss = `${created.key.slice(0, -1)}${created.key.endsWith('A') ? 'B' : 'A'}`;
    expect((await chat(app, nearMiss)).status).toBe(401);
    expect((await chat(app, `${environment.BOT_KEY}x`)).status).toBe(401);
    // The resolved config never prints a secret.
    expect(inspect(app.config.adminKeys, { depth: 5 }) + JSON.stringify(app.config.configKeys)).not.toContain('sk-secrets');
  });

  it('a config key keeps its salt across a restart', async () => {
    const before = rows().get(configKeyId('claims', 'bot'));
    await app!.close();
    app = await start();
    expect(rows().get(configKeyId('claims', 'bot'))).toBe(before);
    expect((await chat(app, environment.BOT_KEY)).status).toBe(200);
  });

  it('a store written before salting still authenticates: API keys until rotated, config keys re-salted on start', async () => {
    await app!.close();
    app = undefined;
    const oldSecret = 'sk-cov-an0ldStyleSecretWithoutAnIdInIt000000';
    const db = openDatabase(database);
    db.prepare('UPDATE api_keys SET secret_hash = ? WHERE id = ?').run(legacyDigest(oldSecret), created.id);
    db.prepare('UPDATE api_keys SET secret_hash = ? WHERE id = ?').run(legacyDigest(environment.BOT_KEY), configKeyId('claims', 'bot'));
    db.close();
    app = await start();
    expect((await chat(app, oldSecret)).status).toBe(200);
    expect((await chat(app, environment.BOT_KEY)).status).toBe(200);
    expect((await chat(app, created.key)).status).toBe(401);
    const stored = rows();
    expect(stored.get(created.id)).toBe(legacyDigest(oldSecret));
    expect(stored.get(configKeyId('claims', 'bot'))).toMatch(/^s1\$/);
    // Revoking the old key takes it out of the unsalted index at once.
    await fetch(`${app.url}/admin/keys/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${environment.ADMIN_KEY}` } });
    expect((await chat(app, oldSecret)).status).toBe(401);
  });

  it('admin keys: the exact secret only', async () => {
    const admin = (key: string) => fetch(`${app!.url}/admin/keys`, { headers: { authorization: `Bearer ${key}` } });
    expect((await admin(environment.ADMIN_KEY)).status).toBe(200);
    expect((await admin(`${environment.ADMIN_KEY} `)).status).toBe(200);
    expect((await admin(environment.ADMIN_KEY.slice(0, -1))).status).toBe(401);
    expect((await admin(environment.BOT_KEY)).status).toBe(401);
  });
});
