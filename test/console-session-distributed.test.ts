// Console sessions on two replicas sharing PostgreSQL and Redis: a browser signed in on one is signed in on the other,
// under the same role and department scope, and a sign-out or a removed admin key ends it within the session cache's second.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { closeReplicaSet } from './helpers/replicas.js';
import { createTestSchema, redisUrl, type TestSchema } from './helpers/services.js';

const environment = { ADMIN_KEY: 'sk-dist-console-admin', AUDITOR: 'sk-dist-console-auditor', SALES_ADMIN: 'sk-dist-console-sales' };
let schema: TestSchema;
let directory: string;
const replicas: App[] = [];

function configText(adminKeys: string[]): string {
  return `
store: ${schema.url}?schema=${schema.schema}
cache: ${redisUrl}
admin_keys:
${adminKeys.map((line) => `  - ${line}`).join('\n')}
providers: [ { name: mock, type: mock } ]
models: [ { alias: fast, provider: mock, version: mock-1 } ]
org:
  name: acme
  departments:
    - name: sales
    - name: legal
`;
}
const allKeys = ['{ name: ops, key_env: ADMIN_KEY }', '{ name: audit, key_env: AUDITOR, role: auditor }', '{ name: sales-lead, key_env: SALES_ADMIN, department: sales }'];

beforeAll(async () => {
  schema = createTestSchema();
  directory = mkdtempSync(join(tmpdir(), 'covenant-console-replicas-'));
  for (const index of [0, 1]) {
    const file = join(directory, `replica-${index}.yaml`);
    writeFileSync(file, configText(allKeys));
    replicas.push(await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 }));
  }
});

afterAll(() => closeReplicaSet({ replicas, schema, directory }));

async function signIn(app: App, key: string) {
  const response = await fetch(`${app.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: app.url }, body: JSON.stringify({ key }) });
  expect(response.status).toBe(201);
  const body = await response.json() as { csrf_token: string };
  return { cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: body.csrf_token };
}

const listKeys = (app: App, cookie: string) => fetch(`${app.url}/admin/keys`, { headers: { cookie } });

/** How long until `app` first refuses the cookie (401), polling every 50 ms for up to 5 s. */
async function millisecondsUntilRefused(app: App, cookie: string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < 5000) {
    if ((await listKeys(app, cookie)).status === 401) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Infinity;
}

describe('console sessions on two replicas (PostgreSQL + Redis)', () => {
  it('signs in on one, works on the other with its scope and CSRF token, and a sign-out there ends it on the first within a second', async () => {
    const [first, second] = [replicas[0]!, replicas[1]!];
    const { cookie, csrf } = await signIn(first, environment.SALES_ADMIN);
    const session = await fetch(`${second.url}/ui/api/session`, { headers: { cookie } });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ name: 'sales-lead', department: 'sales', csrf_token: csrf });
    const write = (department: string, headers: Record<string, string> = { 'x-covenant-csrf': csrf }) => fetch(`${second.url}/admin/keys`, {
      method: 'POST', headers: { cookie, origin: second.url, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ department, name: `console-${department}-${Date.now()}` }),
    });
    expect((await write('sales')).status).toBe(201);
    expect((await write('legal')).status).toBe(403);
    expect((await write('sales', {})).status).toBe(403);
    const keys = await (await listKeys(second, cookie)).json() as { data: { department: string }[] };
    expect(new Set(keys.data.map((key) => key.department))).toEqual(new Set(['sales']));

    // The first replica has read the session (and may keep it for its cache's second); sign out on the second.
    expect((await listKeys(first, cookie)).status).toBe(200);
    const out = await fetch(`${second.url}/ui/api/session`, { method: 'DELETE', headers: { cookie, 'x-covenant-csrf': csrf, origin: second.url } });
    expect(out.status).toBe(200);
    expect((await listKeys(second, cookie)).status).toBe(401);
    expect(await millisecondsUntilRefused(first, cookie)).toBeLessThan(1500);
    expect((await fetch(`${first.url}/ui/api/session`, { headers: { cookie } })).status).toBe(401);
  });

  it('refuses a session at once on a replica whose config no longer has its admin key, and keeps it for replicas that still have it', async () => {
    const [first, second] = [replicas[0]!, replicas[1]!];
    const { cookie } = await signIn(first, environment.AUDITOR);
    expect((await listKeys(second, cookie)).status).toBe(200);
    writeFileSync(join(directory, 'replica-1.yaml'), configText(allKeys.filter((line) => !line.includes('AUDITOR'))));
    try {
      await second.reload('test');
      expect((await listKeys(second, cookie)).status).toBe(401);
      // The first replica has not reloaded yet: like the key itself on its API, the session still works there.
      expect((await listKeys(first, cookie)).status).toBe(200);
    } finally {
      writeFileSync(join(directory, 'replica-1.yaml'), configText(allKeys));
      await second.reload('test');
    }
    expect((await listKeys(second, cookie)).status).toBe(200);
  });
});
