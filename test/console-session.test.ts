// The console's sign-in over HTTP: the session cookie's attributes, the admin API reached with it under the same roles,
// CSRF refusals on writes, sign-out, expiry, and the page served with its content types and caching.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../src/gateway/app.js';
import { ConsoleSessions, type ConsoleSessionsOptions } from '../src/console/sessions.js';
import { createSqliteConsoleSessionStore } from '../src/stores/sqlite/console-session-store.js';
import { openDatabase } from '../src/stores/sqlite/database.js';
import type { AdminKey } from '../src/config/resolve.js';
import { SecretValue } from '../src/config/secret-value.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const environment = { ADMIN_KEY: 'sk-console-admin', AUDITOR: 'sk-console-auditor', SALES_ADMIN: 'sk-console-sales', USER_KEY: 'sk-console-user' };
const configText = `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: audit, key_env: AUDITOR, role: auditor }
  - { name: sales-lead, key_env: SALES_ADMIN, department: sales }
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: mock-1 } ]
org:
  name: acme
  departments:
    - name: sales
      keys: [ { name: crm, key_env: USER_KEY } ]
    - name: legal
`;

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway(configText, environment);
});
afterAll(async () => {
  await gateway?.stop();
});

async function signIn(key: string) {
  const response = await fetch(`${gateway.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gateway.url }, body: JSON.stringify({ key }) });
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { response, cookie, body: await response.json() as Record<string, unknown> };
}

describe('console sign-in', () => {
  it('exchanges an admin key for an HttpOnly, SameSite=Strict cookie and says what the principal may do', async () => {
    const { response, body } = await signIn(environment.ADMIN_KEY);
    expect(response.status).toBe(201);
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^covenant_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=(28799|28800)$/);
    expect(setCookie).not.toContain(environment.ADMIN_KEY);
    expect(body).toMatchObject({ name: 'ops', role: 'admin', department: null });
    expect(body.allowed).toContain('organisation-write');
    expect(JSON.stringify(body)).not.toContain(environment.ADMIN_KEY);
    const scoped = await signIn(environment.SALES_ADMIN);
    expect(scoped.body).toMatchObject({ name: 'sales-lead', department: 'sales' });
    expect(scoped.body.allowed).toEqual(['read', 'write', 'review-read', 'review-write']);
    const wrong = await signIn('sk-not-a-key');
    expect(wrong.response.status).toBe(401);
    expect(wrong.response.headers.get('set-cookie')).toBeNull();
  });

  it('reaches /admin with the cookie under the same role and department scope as the key', async () => {
    const auditor = await signIn(environment.AUDITOR);
    const read = await fetch(`${gateway.url}/admin/keys`, { headers: { cookie: auditor.cookie } });
    expect(read.status).toBe(200);
    const write = await fetch(`${gateway.url}/admin/keys`, {
      method: 'POST', headers: { cookie: auditor.cookie, 'x-covenant-csrf': String(auditor.body.csrf_token), origin: gateway.url, 'content-type': 'application/json' },
      body: JSON.stringify({ department: 'sales', name: 'x' }),
    });
    expect(write.status).toBe(403);
    const sales = await signIn(environment.SALES_ADMIN);
    const headers = { cookie: sales.cookie, 'x-covenant-csrf': String(sales.body.csrf_token), origin: gateway.url, 'content-type': 'application/json' };
    const foreign = await fetch(`${gateway.url}/admin/keys`, { method: 'POST', headers, body: JSON.stringify({ department: 'legal', name: 'x' }) });
    expect(foreign.status).toBe(403);
    const own = await fetch(`${gateway.url}/admin/keys`, { method: 'POST', headers, body: JSON.stringify({ department: 'sales', name: 'from-console' }) });
    expect(own.status).toBe(201);
    const keys = await (await fetch(`${gateway.url}/admin/keys`, { headers: { cookie: sales.cookie } })).json() as { data: { department: string }[] };
    expect(new Set(keys.data.map((key) => key.department))).toEqual(new Set(['sales']));
  });

  it('refuses a write without the CSRF token or from another origin, and a forged cookie', async () => {
    const { cookie, body } = await signIn(environment.ADMIN_KEY);
    const create = (headers: Record<string, string>) => fetch(`${gateway.url}/admin/keys`, {
      method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ department: 'sales', name: 'csrf' }),
    });
    expect((await create({})).status).toBe(403);
    expect((await create({ 'x-covenant-csrf': 'guess' })).status).toBe(403);
    expect((await create({ 'x-covenant-csrf': String(body.csrf_token), origin: 'https://evil.example' })).status).toBe(403);
    expect((await create({ 'x-covenant-csrf': String(body.csrf_token), origin: gateway.url })).status).toBe(201);
    const forged = await fetch(`${gateway.url}/admin/keys`, { headers: { cookie: 'covenant_session=forged' } });
    expect(forged.status).toBe(401);
    const crossSiteSignIn = await fetch(`${gateway.url}/ui/api/session`, { method: 'POST', headers: { origin: 'https://evil.example' }, body: JSON.stringify({ key: environment.ADMIN_KEY }) });
    expect(crossSiteSignIn.status).toBe(403);
  });

  it('signs out: the cookie is cleared and no longer admits', async () => {
    const { cookie, body } = await signIn(environment.ADMIN_KEY);
    expect((await fetch(`${gateway.url}/ui/api/session`, { headers: { cookie } })).status).toBe(200);
    const out = await fetch(`${gateway.url}/ui/api/session`, { method: 'DELETE', headers: { cookie, 'x-covenant-csrf': String(body.csrf_token), origin: gateway.url } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^covenant_session=; .*Max-Age=0/);
    expect((await fetch(`${gateway.url}/ui/api/session`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${gateway.url}/admin/keys`, { headers: { cookie } })).status).toBe(401);
  });

  it('serves the page under /ui with content types and caching, and redirects / there', async () => {
    const root = await fetch(`${gateway.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const page = await fetch(`${gateway.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${gateway.url}${script}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${gateway.url}/ui/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/ui/assets/missing.js`)).status).toBe(404);
  });
});

describe('sign-in throttling', () => {
  it('answers 429 after ten failed sign-ins from one address in a minute, even for the right key', async () => {
    const fresh = await startTestGateway(configText, environment);
    try {
      const attempt = (key: string) => fetch(`${fresh.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
      for (let index = 0; index < 10; index += 1) expect((await attempt(`sk-guess-${index}`)).status).toBe(401);
      const throttled = await attempt(environment.ADMIN_KEY);
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('set-cookie')).toBeNull();
    } finally {
      await fresh.stop();
    }
  });
});

describe('a restart of the embedded gateway', () => {
  it('keeps the session, stored as digests: the same cookie still admits, with the same CSRF token', async () => {
    const first = await startTestGateway(configText, environment);
    let second: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      const response = await fetch(`${first.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: first.url }, body: JSON.stringify({ key: environment.SALES_ADMIN }) });
      const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const signedIn = await response.json() as Record<string, unknown>;
      await first.close();
      // At rest: digests only, never the cookie's id or the admin key.
      const database = openDatabase(join(first.directory, 'covenant.db'));
      const rows = JSON.stringify(database.prepare('SELECT * FROM console_sessions').all());
      database.close();
      expect(rows).toContain('sales-lead');
      expect(rows).not.toContain(cookie.split('=')[1]);
      expect(rows).not.toContain(environment.SALES_ADMIN);
      second = await startApp({ configFile: join(first.directory, 'covenant.yaml'), environment, host: '127.0.0.1', port: 0 });
      const session = await fetch(`${second.url}/ui/api/session`, { headers: { cookie } });
      expect(session.status).toBe(200);
      expect(await session.json()).toMatchObject({ name: 'sales-lead', department: 'sales', csrf_token: signedIn.csrf_token });
      const write = await fetch(`${second.url}/admin/keys`, {
        method: 'POST', headers: { cookie, 'x-covenant-csrf': String(signedIn.csrf_token), origin: second.url, 'content-type': 'application/json' },
        body: JSON.stringify({ department: 'sales', name: 'after-restart' }),
      });
      expect(write.status).toBe(201);
    } finally {
      await second?.close();
      await first.close();
      rmSync(first.directory, { recursive: true, force: true });
    }
  });
});

describe('ConsoleSessions', () => {
  const key: AdminKey = { name: 'ops', role: 'admin', department: null, secret: new SecretValue('sk-x') };
  const sessionsOn = (options: Omit<ConsoleSessionsOptions, 'store'> = {}) =>
    new ConsoleSessions({ store: createSqliteConsoleSessionStore(openDatabase(':memory:')), ...options });
  it('forgets a session at its expiry and when its admin key leaves the config', async () => {
    let now = 1_000_000;
    const sessions = sessionsOn({ lifetimeMs: 60_000, now: () => now });
    const opened = await sessions.open(key);
    expect((await sessions.find(opened.id, [key]))?.principal.name).toBe('ops');
    expect(await sessions.find(opened.id, [])).toBeUndefined();
    expect(await sessions.find(opened.id, [{ ...key, secret: new SecretValue('sk-rotated') }])).toBeUndefined();
    const again = await sessions.open(key);
    now += 59_999;
    expect(await sessions.find(again.id, [key])).toBeDefined();
    now += 1;
    expect(await sessions.find(again.id, [key])).toBeUndefined();
    expect(await sessions.count()).toBe(0);
  });
  it('throttles an address after too many failed sign-ins in a minute', () => {
    let now = 0;
    const sessions = sessionsOn({ maxFailuresPerMinute: 3, now: () => now });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(sessions.throttled('10.0.0.1')).toBe(false);
      sessions.failed('10.0.0.1');
    }
    expect(sessions.throttled('10.0.0.1')).toBe(true);
    expect(sessions.throttled('10.0.0.2')).toBe(false);
    now += 60_001;
    expect(sessions.throttled('10.0.0.1')).toBe(false);
  });
  it('keeps at most maxSessions, dropping the oldest', async () => {
    const sessions = sessionsOn({ maxSessions: 2 });
    const first = await sessions.open(key);
    await sessions.open(key);
    await sessions.open(key);
    expect(await sessions.count()).toBe(2);
    expect(await sessions.find(first.id, [key])).toBeUndefined();
  });
});
