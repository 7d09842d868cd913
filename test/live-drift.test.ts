// Live drift: a breach sustained over the contract window raises material_drift once (ledger, callback); a brief spike does not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LiveDrift, type MaterialDriftEvent } from '../src/drift/live.js';
import { RollingSums } from '../src/drift/window.js';
import type { LedgerEntryInput } from '../src/ledger/types.js';
import { startApp } from '../src/gateway/app.js';
import { promptShape } from '../src/gateway/stages/drift-stage.js';
import { startFakeOpenAI } from './fakes/openai.js';

/** A monitor on a hand-moved clock: baseline 100 ms, current window 200 ms, contract window 1 s, 5 samples. */
function monitor() {
  let now = 0;
  const events: MaterialDriftEvent[] = [];
  const entries: LedgerEntryInput[] = [];
  const drift = new LiveDrift({
    clock: () => now, baselineMs: 100, currentMs: 200, minSamples: 5,
    terms: (alias) => (alias === 'support' ? { maxVariance: 0.15, windowMs: 1000 } : undefined),
    record: async (entry) => { entries.push(entry); },
    onMaterialDrift: (event) => { events.push(event); },
  });
  /** One call every 10 ms from now until `until`, with this latency and output length. */
  const traffic = (until: number, latencyMs: number, outputTokens = 20, shape = 'chat|json|1|user|') => {
    for (; now < until; now += 10) drift.observe({ alias: 'support', version: 'v1', shape, latencyMs, outputTokens });
  };
  return { drift, events, entries, traffic, at: () => now };
}

describe('live drift', () => {
  it('raises material drift once when a latency breach lasts the contract window, and calls the callback', async () => {
    const { drift, events, entries, traffic } = monitor();
    traffic(300, 100);
    expect(drift.report('support').versions[0]).toMatchObject({ version: 'v1', baseline: { latency_ms: 100, output_tokens: 20 }, breach_since: null, material_drift: false });
    traffic(800, 100);
    traffic(1500, 200);
    // Breaching since about 810 ms (once the current window's mean is over 15%), not yet for a whole second.
    let view = drift.report('support').versions[0]!;
    expect(view.breach_since).not.toBeNull();
    expect(view.material_drift).toBe(false);
    expect(events).toHaveLength(0);
    traffic(2500, 200);
    await drift.idle();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ alias: 'support', version: 'v1', max_variance: 0.15, window_ms: 1000, baseline: { latency_ms: 100 }, current: { latency_ms: 200 } });
    expect(events[0]!.variance.latency).toBeCloseTo(1, 6);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'drift.material', alert: 'material_drift', alias: 'support', version: 'v1' });
    view = drift.report('support').versions[0]!;
    expect(view).toMatchObject({ material_drift: true, current: { latency_ms: 200 }, variance: { latency: 1, output_tokens: 0 } });

    // Back to normal: the breach clears; a later sustained breach is raised again.
    traffic(3000, 100);
    expect(drift.report('support').versions[0]).toMatchObject({ breach_since: null, material_drift: false });
    traffic(4500, 100, 40);
    await drift.idle();
    expect(events).toHaveLength(2);
    expect(events[1]!.variance.output_tokens).toBeCloseTo(1, 6);
  });

  it('does not raise on a brief spike', async () => {
    const { drift, events, traffic } = monitor();
    traffic(500, 100);
    traffic(800, 300);
    traffic(3000, 100);
    await drift.idle();
    expect(events).toHaveLength(0);
    expect(drift.report('support').versions[0]).toMatchObject({ breach_since: null, material_drift: false });
  });

  it('compares each prompt shape with its own baseline, so a change in the mix of shapes is not drift', async () => {
    const { drift, events, traffic, at } = monitor();
    // Two shapes with very different natural latencies, each with its baseline.
    traffic(300, 100, 20, 'short');
    traffic(600, 1000, 200, 'long');
    // Now only the long shape is called: the mean latency is ten times the short baseline, yet nothing changed.
    traffic(at() + 3000, 1000, 200, 'long');
    await drift.idle();
    expect(events).toHaveLength(0);
    expect(drift.report('support').versions[0]).toMatchObject({ material_drift: false, variance: { latency: 0, output_tokens: 0 }, shapes: 2 });
  });

  it('uses the default terms (15%, 24 h) for an alias the terms function does not know', () => {
    const drift = new LiveDrift();
    expect(drift.report('other')).toEqual({ alias: 'other', max_variance: 0.15, window_ms: 86_400_000, versions: [] });
  });

  it('adds saved windows of several replicas back: baselines and window slots summed, a breach from its earliest start', () => {
    let now = 0;
    const make = () => new LiveDrift({ clock: () => now, baselineMs: 100, currentMs: 10_000, minSamples: 5, terms: () => ({ maxVariance: 0.15, windowMs: 1000 }) });
    const [first, second] = [make(), make()];
    const call = (drift: LiveDrift, latencyMs: number) => drift.observe({ alias: 'support', version: 'v1', shape: 's', latencyMs, outputTokens: 20 });
    for (; now < 100; now += 10) { call(first, 100); call(second, 300); }
    for (; now < 200; now += 10) call(first, 100);
    // The second replica's answers slow down first: its breach starts once it has 5 compared calls (240), the first's at 310.
    for (; now < 300; now += 10) call(second, 600);
    for (; now < 400; now += 10) { call(first, 200); call(second, 600); }
    expect(first.report('support').versions[0]!.breach_since).toBe(new Date(310).toISOString());
    expect(second.report('support').versions[0]!.breach_since).toBe(new Date(240).toISOString());
    const merged = make();
    merged.restore([...first.saved(), ...second.saved()]);
    const [version] = merged.report('support').versions;
    // Baselines: 10 calls of 100 ms + 10 of 300 ms; current: 10 + 10 (first) and 20 (second) calls.
    expect(version).toMatchObject({ baseline: { latency_ms: 200, samples: 20 }, current: { samples: 40 }, breach_since: new Date(240).toISOString(), material_drift: false });
    expect(version!.current.latency_ms).toBeCloseTo((10 * 100 + 10 * 200 + 20 * 600) / 40, 6);
  });

  it('rolling sums forget what is older than their span', () => {
    const window = new RollingSums(1000, 10, 2);
    window.add(0, [5, 1]);
    window.add(500, [7, 1]);
    expect(window.totals(900)).toEqual([12, 2]);
    expect(window.totals(1200)).toEqual([7, 1]);
    expect(window.totals(5000)).toEqual([0, 0]);
  });

  it('a prompt shape is the structure, never the content', () => {
    const one = promptShape({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }] }, 'chat', false);
    const other = promptShape({ messages: [{ role: 'system', content: 'Be long.' }, { role: 'user', content: 'Bonjour à tous' }] }, 'chat', false);
    expect(one).toBe(other);
    expect(one).not.toContain('Hello');
    expect(promptShape({ messages: [{ role: 'user', content: 'Hello' }] }, 'chat', false)).not.toBe(one);
    expect(promptShape({ messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'y' }] }, 'chat', true)).not.toBe(one);
  });
});

describe('live drift in the gateway', () => {
  it('watches real calls: GET /admin/models/:alias/drift shows the versions, and a slower upstream raises material_drift', async () => {
    const upstream = await startFakeOpenAI({ behaviour: { latencyMs: 100 } });
    const directory = mkdtempSync(join(tmpdir(), 'covenant-live-drift-'));
    const events: MaterialDriftEvent[] = [];
    const app = await startApp({
      configText: `
store: sqlite:${join(directory, 'covenant.db')}
admin_keys: [ { name: ops, key_env: ADMIN_KEY } ]
providers: [ { name: openai, type: openai, base_url: ${upstream.url} } ]
models: [ { alias: support, provider: openai, version: gpt-4o-mini } ]
org:
  name: acme
  departments: [ { name: quality, keys: [ { name: app, key_env: APP_KEY } ] } ]
`,
      environment: { ADMIN_KEY: 'sk-admin', APP_KEY: 'sk-app' }, host: '127.0.0.1', port: 0,
      liveDrift: {
        baselineMs: 0, currentMs: 2000, minSamples: 3, terms: () => ({ maxVariance: 0.15, windowMs: 500 }),
        onMaterialDrift: (event) => { events.push(event); },
      },
    });
    try {
      const call = (content: string, system?: string) => fetch(`${app.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: 'Bearer sk-app', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'support', messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content }] }),
      }).then((response) => response.json());
      // Warm-up calls of another shape (tokenizers, connections), so the baseline is not a cold start.
      for (let index = 0; index < 3; index++) await call(`warm ${index}`, 'Be brief.');
      for (let index = 0; index < 6; index++) await call(`question ${index}`);
      const drift = async () => (await fetch(`${app.url}/admin/models/support/drift`, { headers: { authorization: 'Bearer sk-admin' } })).json() as Promise<any>;
      const first = await drift();
      expect(first.alias).toBe('support');
      expect(first.versions).toHaveLength(1);
      expect(first.versions[0]).toMatchObject({ version: 'gpt-4o-mini', material_drift: false, shapes: 2 });
      // The question shape's baseline (its first three calls) is set; the warm-up shape's is still open (it freezes on its next call).
      expect(first.versions[0].baseline.samples).toBe(3);

      // The upstream slows down behind the same id and stays slow for longer than the window.
      upstream.setBehaviour({ latencyMs: 600 });
      const started = Date.now();
      while (events.length === 0 && Date.now() - started < 15_000) await call('question again');
      expect(events).toHaveLength(1);
      expect(events[0]!.variance.latency).toBeGreaterThan(0.15);
      const after = await drift();
      expect(after.versions[0].material_drift).toBe(true);
      expect(after.versions[0].breach_since).not.toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const entries = await (await fetch(`${app.url}/admin/audit/entries?kind=drift.material`, { headers: { authorization: 'Bearer sk-admin' } })).json() as { data: any[] };
      expect(entries.data).toHaveLength(1);
      expect(entries.data[0]).toMatchObject({ alias: 'support', version: 'gpt-4o-mini', alert: 'material_drift' });

      const unknown = await fetch(`${app.url}/admin/models/nothing/drift`, { headers: { authorization: 'Bearer sk-admin' } });
      expect(unknown.status).toBe(404);
    } finally {
      await app.close();
      await upstream.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
