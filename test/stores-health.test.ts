// /healthz reports whether the gateway's stores answer: SQLite, and in distributed mode PostgreSQL and Redis (503 when one does not).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { openPostgresStores } from '../src/stores/postgres/index.js';
import { openSqliteStores } from '../src/stores/sqlite/index.js';
import { createTestSchema, postgresUrl, redisUrl, startTcpProxy, type TcpProxy, type TestSchema } from './helpers/services.js';
import { startTestGateway } from './helpers/gateway.js';

const environment = { ADMIN_KEY: 'sk-health-admin' };
const models = `
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: http://127.0.0.1:9 } ]
models: [ { alias: fast, provider: openai, version: gpt-4o-mini-2024-07-18 } ]
org: { name: acme }
`;

async function health(app: App): Promise<{ status: number; body: { status: string; stores: Record<string, string> } }> {
  const response = await fetch(`${app.url}/healthz`);
  return { status: response.status, body: await response.json() };
}

/** A port nothing listens on: a proxy started and stopped again. */
async function closedPort(): Promise<number> {
  const proxy = await startTcpProxy(9);
  await proxy.stop();
  return proxy.port;
}

describe('healthz with the embedded store', () => {
  it('reports SQLite reachable', async () => {
    const gateway = await startTestGateway(`store: sqlite:{{DB}}\n${models}`, environment);
    try {
      expect(await health(gateway)).toMatchObject({ status: 200, body: { status: 'ok', stores: { sqlite: 'reachable' } } });
    } finally {
      await gateway.stop();
    }
  });

  it('reports SQLite unreachable once its database is closed', async () => {
    const stores = openSqliteStores({ path: ':memory:', origin: 'covenant.test/ledger', onError: () => undefined });
    expect(await stores.health()).toEqual([{ name: 'sqlite', ok: true }]);
    await stores.close();
    expect((await stores.health())[0]).toMatchObject({ name: 'sqlite', ok: false });
  });
});

describe('healthz in distributed mode', () => {
  let schema: TestSchema;
  let directory: string;
  let postgresProxy: TcpProxy;
  let redisProxy: TcpProxy;
  const apps: App[] = [];

  async function start(cache: string): Promise<App> {
    const file = join(directory, `covenant-${apps.length}.yaml`);
    writeFileSync(file, `store: postgres://postgres@127.0.0.1:${postgresProxy.port}/test?schema=${schema.schema}\ncache: ${cache}\n${models}`);
    const app = await startApp({ configFile: file, environment, host: '127.0.0.1', port: 0 });
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    schema = createTestSchema();
    directory = mkdtempSync(join(tmpdir(), 'covenant-health-'));
    const postgres = new URL(postgresUrl);
    postgresProxy = await startTcpProxy(Number(postgres.port || 5432), postgres.hostname);
    const redis = new URL(redisUrl);
    redisProxy = await startTcpProxy(Number(redis.port || 6379), redis.hostname);
  });

  afterAll(async () => {
    await postgresProxy?.start().catch(() => undefined);
    await redisProxy?.start().catch(() => undefined);
    for (const app of apps) await app.close().catch(() => undefined);
    await postgresProxy?.stop();
    await redisProxy?.stop();
    if (schema) {
      const redis = new Redis(redisUrl);
      const keys = await redis.keys(`covenant:${schema.schema}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await schema.drop();
    }
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('reports PostgreSQL and Redis reachable, then each one unreachable (503) while it is away', async () => {
    const app = await start(`redis://127.0.0.1:${redisProxy.port}`);
    expect(await health(app)).toMatchObject({ status: 200, body: { status: 'ok', stores: { postgres: 'reachable', redis: 'reachable' } } });

    await redisProxy.stop();
    expect(await health(app)).toMatchObject({ status: 503, body: { status: 'unavailable', stores: { postgres: 'reachable', redis: 'unreachable' } } });
    await redisProxy.start();
    await expect.poll(async () => (await health(app)).status, { timeout: 5000, interval: 100 }).toBe(200);

    await postgresProxy.stop();
    expect(await health(app)).toMatchObject({ status: 503, body: { status: 'unavailable', stores: { postgres: 'unreachable', redis: 'reachable' } } });
    await postgresProxy.start();
    await expect.poll(async () => (await health(app)).status, { timeout: 5000, interval: 100 }).toBe(200);
  });

  it('reports Redis unreachable when the cache points at a closed port, within the short timeout', async () => {
    // A gateway refuses to start without Redis (orphan recovery needs it), so this opens the stores alone.
    const stores = await openPostgresStores({
      url: `${postgresUrl}?schema=${schema.schema}`, cache: `redis://127.0.0.1:${await closedPort()}`, origin: 'covenant.test/ledger', onError: () => undefined,
    });
    try {
      const started = Date.now();
      expect(await stores.health()).toEqual([{ name: 'postgres', ok: true }, expect.objectContaining({ name: 'redis', ok: false })]);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await stores.close();
    }
  });
});
