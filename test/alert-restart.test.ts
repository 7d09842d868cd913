// Alert deliveries in flight when the gateway is killed: after a real restart (bin/covenant) a budget alert and a session
// suspension are delivered (the same body, from the next attempt) and a governance alert is marked failed with the reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { killStarted, startServe, type ServeProcess } from './helpers/process.js';

const environment = { ADMIN_KEY: 'sk-admin', APP_KEY: 'sk-app', BOT_KEY: 'sk-bot' };

let receiver: Server | undefined;
let upstream: FakeOpenAI | undefined;
let directory: string | undefined;

afterEach(async () => {
  await killStarted();
  await upstream?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  if (directory) rmSync(directory, { recursive: true, force: true });
  receiver = upstream = directory = undefined;
});

/** Every post the webhook receiver got: the alert's kind or event, and its body. */
interface Post { kind: string; body: Record<string, unknown> }

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('alert deliveries interrupted by a restart', () => {
  it('resumes budget and session alerts and marks a governance alert failed, instead of leaving them pending', async () => {
    // While `answering` is false the receiver holds every post open: each delivery is in flight when the gateway dies.
    let answering = false;
    const posts: Post[] = [];
    const held: ServerResponse[] = [];
    receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => { text += chunk; });
      request.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        posts.push({ kind: String(body.event ?? body.kind), body });
        if (answering) response.writeHead(200).end('ok');
        else held.push(response);
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    upstream = await startFakeOpenAI();
    directory = mkdtempSync(join(tmpdir(), 'covenant-alert-restart-'));
    const config = join(directory, 'covenant.yaml');
    writeFileSync(config, `
store: sqlite:${join(directory, 'covenant.db')}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: fast, provider: openai, version: gpt-4o-mini, price: { input_per_mtok: 100, output_per_mtok: 100 } } ]
org:
  name: acme
  alerts: { thresholds: [0.5], webhook: ${hook}/org }
  departments:
    - name: claims
      budgets: [ { usd: 1, period: day } ]
      alerts: { thresholds: [0.001], webhook: ${hook}/claims }
      keys:
        - { name: app, key_env: APP_KEY }
        - { name: bot, key_env: BOT_KEY, agent: { max_steps: 1 } }
`);
    let gateway: ServeProcess = await startServe({ config, environment });
    const chat = (key: string, session?: string) => fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(session ? { 'x-covenant-session': session } : {}) },
      body: JSON.stringify({ model: 'fast', max_tokens: 20, messages: [{ role: 'user', content: `hello ${Math.random()}` }] }),
    });
    const alerts = async () => {
      const response = await fetch(`${gateway.url}/admin/alerts`, { headers: { authorization: 'Bearer sk-admin' } });
      return ((await response.json()) as { data: Record<string, unknown>[] }).data;
    };

    // A budget threshold (the first request spends over 0.1% of $1), a silent model change, a suspended session.
    expect((await chat('sk-app')).status).toBe(200);
    upstream.setIdentity({ fingerprint: 'fp_silently_updated' });
    expect((await chat('sk-app')).status).toBe(200);
    expect((await chat('sk-bot', 'loop')).status).toBe(200);
    expect((await chat('sk-bot', 'loop')).status).toBe(403);
    const kinds = ['threshold', 'model_version_changed', 'session.suspended'];
    await until('every alert posted', () => (kinds.every((kind) => posts.some((post) => post.kind === kind)) ? true : undefined));
    const before = await alerts();
    expect(before.map((alert) => alert.status)).toEqual(['pending', 'pending', 'pending']);
    const first = new Map(posts.map((post) => [post.kind, post.body]));

    await gateway.stop('SIGKILL');
    for (const response of held) response.destroy();
    answering = true;
    gateway = await startServe({ config, environment });

    const after = await until('every delivery settled', async () => {
      const listed = await alerts();
      return listed.every((alert) => alert.status !== 'pending') ? listed : undefined;
    });
    const byKind = new Map(after.map((alert) => [alert.kind, alert]));
    expect(byKind.get('threshold')).toMatchObject({ status: 'delivered', delivered: true });
    expect(byKind.get('session_suspended')).toMatchObject({ status: 'delivered', delivered: true });
    expect(byKind.get('model_version_changed')).toMatchObject({ status: 'failed', delivered: false, last_error: expect.stringMatching(/gateway stopped during delivery/) });
    // The resumed posts carry the alert as first sent; the governance alert is not posted again.
    const second = posts.slice(posts.length - 2);
    expect(second.map((post) => post.kind).sort()).toEqual(['session.suspended', 'threshold']);
    for (const post of second) expect(post.body).toEqual(first.get(post.kind));
    expect(posts.filter((post) => post.kind === 'model_version_changed')).toHaveLength(1);
  }, 90_000);
});
