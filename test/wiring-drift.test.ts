// Live drift wired to the registry: material drift of a promoted version under `on_drift: rollback` rolls the alias back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { startApp } from '../src/gateway/app.js';
import { startFakeOpenAI } from './fakes/openai.js';

describe('live drift → model registry', () => {
  it('rolls a promoted version back on material drift, with the contract\'s terms, and the next request is served by the earlier version', async () => {
    const upstream = await startFakeOpenAI({ outputTokens: 16 });
    const directory = mkdtempSync(join(tmpdir(), 'covenant-wiring-drift-'));
    const app = await startApp({
      configText: `
store: sqlite:${join(directory, 'covenant.db')}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models:
  - alias: support
    provider: openai
    version: gpt-4o-mini
    on_drift: rollback
    contract: { drift: { max_variance: 0.2, window: 1s } }
org:
  name: acme
  departments: [ { name: quality, keys: [ { name: app, key_env: APP_KEY } ] } ]
`,
      environment: { ADMIN_KEY: 'sk-admin', APP_KEY: 'sk-app' }, host: '127.0.0.1', port: 0,
      // Only the monitor's periods are shortened: the terms (20%, 1 s) come from the config's contract.drift.
      liveDrift: { baselineMs: 0, currentMs: 2000, minSamples: 3 },
    });
    const admin = async (path: string, body?: unknown) => (await fetch(`${app.url}/admin${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: 'Bearer sk-admin', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })).json() as Promise<any>;
    const client = new OpenAI({ apiKey: 'sk-app', baseURL: `${app.url}/v1`, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: 'Where is my parcel?' }] });
    try {
      expect((await admin('/models/support/stage', { version: 'gpt-4o' })).to_version).toBe('gpt-4o');
      expect((await admin('/models/support/promote', {})).to_version).toBe('gpt-4o');
      for (let index = 0; index < 4; index++) expect((await ask()).model).toBe('gpt-4o');
      const drift = await admin('/models/support/drift');
      expect(drift).toMatchObject({ max_variance: 0.2, window_ms: 1000 });
      expect(drift.versions).toEqual([expect.objectContaining({ version: 'gpt-4o', material_drift: false })]);

      // The promoted version's answers grow fourfold and stay so for longer than the contract's window.
      upstream.setBehaviour({ outputTokens: 64 });
      const started = Date.now();
      let served = 'gpt-4o';
      while (served === 'gpt-4o' && Date.now() - started < 15_000) {
        served = (await ask()).model;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(served).toBe('gpt-4o-mini');
      expect(app.models.activeVersion('support')).toBe('gpt-4o-mini');
      expect((await ask()).model).toBe('gpt-4o-mini');
      expect(upstream.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini' });

      await app.stores.ledger.flush();
      const entries = async (kind: string) => (await app.stores.ledger.entries({ kind, limit: 100 })).map((stored) => stored.entry as Record<string, any>);
      const material = await entries('drift.material');
      expect(material).toEqual([expect.objectContaining({ alias: 'support', version: 'gpt-4o', max_variance: 0.2, window_ms: 1000 })]);
      expect(material[0]!.variance.output_tokens).toBeGreaterThan(0.2);
      const rolledBack = await entries('model.rolled_back');
      expect(rolledBack).toEqual([expect.objectContaining({
        alias: 'support', from_version: 'gpt-4o', to_version: 'gpt-4o-mini', by: 'drift-monitor', reason: 'material drift',
        evidence: expect.objectContaining({ version: 'gpt-4o', max_variance: 0.2 }),
      })]);
      const history = await admin('/models/support/history');
      expect(history.data.map((move: any) => move.action)).toEqual(['seeded', 'staged', 'promoted', 'rolled_back']);
    } finally {
      await app.close();
      await upstream.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
