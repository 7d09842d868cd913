// Live drift windows survive a restart: a breach that began before the gateway restarted still counts from its start,
// and becomes material drift once the contract's window has passed since then.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type App } from '../src/gateway/app.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';

const minute = 60_000;
let upstream: FakeOpenAI | undefined;
let app: App | undefined;
let directory: string | undefined;

afterEach(async () => {
  await app?.close();
  await upstream?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('live drift across a restart', () => {
  it('keeps the baseline, the current window and the breach start, and raises material drift counted from the breach\'s start', async () => {
    upstream = await startFakeOpenAI({ outputTokens: 16 });
    directory = mkdtempSync(join(tmpdir(), 'covenant-drift-restart-'));
    const configText = `
store: sqlite:${join(directory, 'covenant.db')}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models:
  - { alias: support, provider: openai, version: gpt-4o-mini, contract: { drift: { max_variance: 0.2, window: 1h } } }
org:
  name: acme
  departments: [ { name: quality, keys: [ { name: app, key_env: APP_KEY } ] } ]
`;
    let now = Date.parse('2026-12-06T09:00:00Z');
    const start = () => startApp({
      configText, environment: { ADMIN_KEY: 'sk-admin', APP_KEY: 'sk-app', COVENANT_REPLICA_ID: 'replica-a' }, host: '127.0.0.1', port: 0,
      liveDrift: { clock: () => now, baselineMs: 0, currentMs: 10 * 60 * minute, minSamples: 3 },
    });
    const drift = async () => (await (await fetch(`${app!.url}/admin/models/support/drift`, { headers: { authorization: 'Bearer sk-admin' } })).json() as any).versions[0];
    const ask = () => new OpenAI({ apiKey: 'sk-app', baseURL: `${app!.url}/v1`, maxRetries: 0 })
      .chat.completions.create({ model: 'support', messages: [{ role: 'user', content: 'Where is my parcel?' }] });

    app = await start();
    for (let index = 0; index < 3; index++) await ask();
    // The answers grow fourfold: the breach starts now.
    upstream.setBehaviour({ outputTokens: 64 });
    for (let index = 0; index < 3; index++) await ask();
    const breachStart = new Date(now).toISOString();
    expect(await drift()).toMatchObject({ breach_since: breachStart, material_drift: false, baseline: { output_tokens: 16, samples: 3 }, current: { output_tokens: 64, samples: 3 } });
    await app.close();

    now += 30 * minute;
    app = await start();
    // After the restart the monitor still has the baseline, the window and when the breach began.
    expect(await drift()).toMatchObject({ breach_since: breachStart, material_drift: false, baseline: { output_tokens: 16, samples: 3 }, current: { samples: 3 } });
    now += 31 * minute;
    await ask();
    const after = await drift();
    expect(after).toMatchObject({ breach_since: breachStart, material_drift: true, current: { output_tokens: 64, samples: 4 } });
    // The evidence names the breach's start from before the restart.
    await app.close();
    app = await start();
    await app.stores.ledger.flush();
    const entries = (await app.stores.ledger.entries({ kind: 'drift.material', limit: 10 })).map((stored) => stored.entry as Record<string, unknown>);
    expect(entries).toEqual([expect.objectContaining({ alias: 'support', version: 'gpt-4o-mini', breach_since: breachStart, window_ms: 60 * minute })]);
    // Raised once: the restored window remembers it was raised.
    expect(await drift()).toMatchObject({ material_drift: true });
  });
});
