// Cost attribution through the whole gateway: tags from the header and Chat Completions metadata, bounded by config,
// on every inference entry; spend by tag; the FOCUS export of real traffic sums to the ledger, the budgets and the
// fake provider's own bill, to the micro-dollar.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { Command } from 'commander';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSpendCommands } from '../src/cli/spend.js';
import { focusColumns } from '../src/finops/focus.js';
import { startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const adminKey = 'sk-tags-admin';
const claimsAdminKey = 'sk-tags-claims-admin';
const versions = { fast: 'gpt-4o-mini-2024-07-18', smart: 'gpt-4o-2024-08-06' };
const prices = { [versions.fast]: { input_per_mtok: 3, output_per_mtok: 7 }, [versions.smart]: { input_per_mtok: 11, output_per_mtok: 13 } };

let upstream: FakeOpenAI | undefined;
let gateway: TestGateway | undefined;
const directories: string[] = [];
afterEach(async () => {
  await gateway?.stop();
  await upstream?.close();
  gateway = undefined;
  upstream = undefined;
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function config(url: string): string {
  const price = (version: string) => `{ input_per_mtok: ${prices[version].input_per_mtok}, output_per_mtok: ${prices[version].output_per_mtok} }`;
  return `
store: sqlite:{{DB}}
admin_keys:
  - { name: ops, key_env: ADMIN_KEY }
  - { name: claims-admin, key_env: CLAIMS_ADMIN_KEY, department: claims }
providers: [ { name: openai, type: openai, base_url: ${url} }, { name: local, type: mock } ]
models:
  - { alias: fast, provider: openai, version: ${versions.fast}, price: ${price(versions.fast)} }
  - { alias: smart, provider: openai, version: ${versions.smart}, price: ${price(versions.smart)} }
  - { alias: local, provider: local, version: mock-1, price: { input_per_mtok: 1, output_per_mtok: 1 } }
tags: { keys: [team, feature], max_value_length: 12, max_count: 2 }
org:
  name: acme
  budgets: [ { usd: 1000, period: month } ]
  departments:
    - name: claims
      keys: [ { name: bot-a, key_env: KEY_A }, { name: bot-b, key_env: KEY_B } ]
    - name: search
      keys: [ { name: crawler, key_env: KEY_C } ]
`;
}
const environment = { ADMIN_KEY: adminKey, CLAIMS_ADMIN_KEY: claimsAdminKey, KEY_A: 'sk-a', KEY_B: 'sk-b', KEY_C: 'sk-c' };

async function start(): Promise<TestGateway> {
  upstream = await startFakeOpenAI({ prices, outputTokens: 25 });
  gateway = await startTestGateway(config(upstream.url), environment);
  return gateway;
}

function client(key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${gateway!.url}/v1`, maxRetries: 0 });
}

async function admin<T>(path: string, key = adminKey): Promise<{ status: number; body: T; text: string; type: string | null }> {
  const response = await fetch(`${gateway!.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const text = await response.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = undefined as T;
  }
  return { status: response.status, body, text, type: response.headers.get('content-type') };
}

interface Entry { kind: string; request_id: string; tags?: Record<string, string>; decision: { outcome: string; reason?: string }; cost_usd_micros: number }

async function inferenceEntries(): Promise<Entry[]> {
  return (await admin<{ data: Entry[] }>('/admin/audit/entries?kind=inference&limit=10000')).body.data;
}

/** Run a CLI command in-process against the test gateway; returns what it printed. */
async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  let stdout = '';
  let stderr = '';
  registerSpendCommands(program, { stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; }, environment: { COVENANT_ADMIN_KEY: adminKey } });
  await program.parseAsync(['node', 'covenant', ...args, '--url', gateway!.url]);
  return { stdout, stderr };
}

/** Sum a decimal-dollar column exactly, in micro-dollars (no floats). */
function micros(decimal: string): number {
  const match = /^(\d+)\.(\d{6})$/.exec(decimal);
  if (!match) throw new Error(`"${decimal}" is not a six-place decimal`);
  return Number(match[1]) * 1_000_000 + Number(match[2]);
}

/** A small RFC 4180 reader for the test (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (quoted) {
      if (character === '"' && text[index + 1] === '"') { field += '"'; index += 1; } else if (character === '"') quoted = false; else field += character;
    } else if (character === '"') quoted = true;
    else if (character === ',') { row.push(field); field = ''; } else if (character === '\r' && text[index + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; index += 1; } else field += character;
  }
  if (field !== '' || row.length > 0) throw new Error('the CSV does not end in CRLF');
  return rows;
}

describe('cost attribution tags', () => {
  it('puts header and metadata tags on the ledger entry, sorted; untagged entries carry none', async () => {
    await start();
    const openai = client('sk-a');
    await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-covenant-tags': 'team=search, feature=autocomplete' } });
    await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hello' }], metadata: { team: 'claims', note: 'not a tag' } });
    await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hello' }], metadata: { team: 'claims' } }, { headers: { 'x-covenant-tags': 'team=ops' } });
    await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hello' }] });
    const anthropic = new Anthropic({ apiKey: 'sk-b', baseURL: gateway!.url, maxRetries: 0, defaultHeaders: { 'x-covenant-tags': 'feature=summary' } });
    await anthropic.messages.create({ model: 'local', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    const entries = await inferenceEntries();
    expect(entries.map((entry) => entry.tags)).toEqual([
      { feature: 'autocomplete', team: 'search' }, { team: 'claims' }, { team: 'ops' }, undefined, { feature: 'summary' },
    ]);
    expect(Object.keys(entries[0].tags!)).toEqual(['feature', 'team']);
    // Metadata still reaches the provider unchanged, tag keys and others alike; the tags header does not.
    const chats = upstream!.requests.filter((request) => request.path.startsWith('/v1/chat/completions'));
    expect(chats).toHaveLength(4);
    expect(chats[1].body.metadata).toEqual({ team: 'claims', note: 'not a tag' });
    expect(chats[0].headers['x-covenant-tags']).toBeUndefined();
  });

  it('refuses unknown keys, over-long values and malformed headers with a 400 naming the tag, and records the refusal with its valid tags', async () => {
    await start();
    const openai = client('sk-a');
    const body = { model: 'fast', messages: [{ role: 'user' as const, content: 'hello' }] };
    const refusals = [
      { headers: { 'x-covenant-tags': 'team=search,owner=bob' }, param: 'tags.owner', message: /Unknown tag "owner"/ },
      { headers: { 'x-covenant-tags': 'team=a-very-long-team-name' }, param: 'tags.team', message: /longer than 12/ },
      { headers: { 'x-covenant-tags': 'team' }, param: 'x-covenant-tags', message: /key=value/ },
    ];
    for (const refusal of refusals) {
      const error = await openai.chat.completions.create(body, { headers: refusal.headers }).catch((caught: unknown) => caught) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.code).toBe('invalid_request');
      expect(error.param).toBe(refusal.param);
      expect(error.message).toMatch(refusal.message);
    }
    const metadataError = await openai.chat.completions.create({ ...body, metadata: { feature: 'x'.repeat(13) } }).catch((caught: unknown) => caught) as InstanceType<typeof OpenAI.APIError>;
    expect(metadataError.param).toBe('tags.feature');
    // A request refused for another reason (an unknown alias) keeps its valid tags on its entry.
    await expect(openai.chat.completions.create({ ...body, model: 'nope' }, { headers: { 'x-covenant-tags': 'team=search' } })).rejects.toThrow(/nope/);
    const entries = await inferenceEntries();
    expect(entries).toHaveLength(5);
    expect(entries.every((entry) => entry.decision.outcome === 'refused')).toBe(true);
    expect(entries.slice(0, 4).map((entry) => entry.decision.reason)).toEqual(['invalid_request', 'invalid_request', 'invalid_request', 'invalid_request']);
    expect(entries[4].tags).toEqual({ team: 'search' });
    // A refusal for a bad tag records the valid ones beside it, never the bad one.
    expect(entries[0].tags).toEqual({ team: 'search' });
    expect(entries[1].tags).toBeUndefined();
    expect(upstream!.bill.requests).toBe(0);
  });

  it('reports spend by tag from the ledger, untagged under null; a department admin sees its department only; covenant spend --by', async () => {
    await start();
    const tagged = async (key: string, tags: string | undefined, model = 'fast') => client(key).chat.completions.create(
      { model, messages: [{ role: 'user', content: 'spend by tag' }] }, tags === undefined ? {} : { headers: { 'x-covenant-tags': tags } });
    await tagged('sk-a', 'team=search');
    await tagged('sk-a', 'team=search,feature=chat', 'smart');
    await tagged('sk-b', 'team=claims');
    await tagged('sk-c', 'team=search');
    await tagged('sk-c', undefined);
    const entries = await inferenceEntries();
    const costOf = (predicate: (entry: Entry) => boolean) => entries.filter(predicate).reduce((sum, entry) => sum + entry.cost_usd_micros, 0);

    type Report = { group_by: string; groups: { value: string | null; requests: number; cost_usd: string; cost_usd_micros: number }[]; total: { cost_usd_micros: number } };
    const report = await admin<Report>('/admin/spend?group_by=tag:team');
    expect(report.status).toBe(200);
    const byValue = Object.fromEntries(report.body.groups.map((group) => [String(group.value), group]));
    expect(byValue.search.cost_usd_micros).toBe(costOf((entry) => entry.tags?.team === 'search'));
    expect(byValue.search.requests).toBe(3);
    expect(byValue.claims.cost_usd_micros).toBe(costOf((entry) => entry.tags?.team === 'claims'));
    expect(byValue.null.cost_usd_micros).toBe(costOf((entry) => entry.tags === undefined));
    expect(report.body.groups.at(-1)?.value).toBeNull();
    expect(micros(byValue.search.cost_usd)).toBe(byValue.search.cost_usd_micros);
    expect(report.body.total.cost_usd_micros).toBe(upstream!.bill.costMicros);

    const scoped = await admin<Report>('/admin/spend?group_by=tag:team', claimsAdminKey);
    const scopedGroups = Object.fromEntries(scoped.body.groups.map((group) => [String(group.value), group.requests]));
    expect(scopedGroups).toEqual({ search: 2, claims: 1 });
    expect(scoped.body.total.cost_usd_micros).toBe(costOf((entry) => (entry as Entry & { department: string }).department === 'claims'));

    const window = await admin<Report>('/admin/spend?group_by=tag:team&from=2000-01-01&to=2000-01-31');
    expect(window.body.groups).toEqual([]);
    expect((await admin('/admin/spend?group_by=tag:owner')).status).toBe(400);
    expect((await admin('/admin/spend?group_by=tag:team&from=2026-01-01')).status).toBe(400);
    expect((await admin('/admin/spend?group_by=tag:team&period=fortnight')).status).toBe(400);

    const table = await cli(['spend', '--by', 'tag:team']);
    expect(table.stdout).toMatch(/^TEAM +REQUESTS/m);
    expect(table.stdout).toMatch(new RegExp(`^search +3 .*\\$${byValue.search.cost_usd.replace('.', '\\.')}$`, 'm'));
    expect(table.stdout).toMatch(/^\(untagged\) +1 /m);
    const json = JSON.parse((await cli(['spend', '--by', 'tag:team', '--json'])).stdout) as Report;
    expect(json.total.cost_usd_micros).toBe(report.body.total.cost_usd_micros);
  });
});

describe('spend export', () => {
  it('sums a FOCUS export of real traffic to /admin/spend and the provider\'s own bill, to the micro-dollar; csv and json agree', async () => {
    await start();
    const keys = ['sk-a', 'sk-b', 'sk-c'];
    const teams = ['search', 'claims', undefined];
    await Promise.all(Array.from({ length: 60 }, async (_, index) => {
      const openai = client(keys[index % 3]);
      const team = teams[index % 3 === 0 ? 0 : (index % 5) % 3];
      const options = team ? { headers: { 'x-covenant-tags': `team=${team},feature=f${index % 2}` } } : {};
      const body = { model: index % 4 === 0 ? 'smart' : 'fast', messages: [{ role: 'user' as const, content: `question ${index} ${'word '.repeat(index)}` }] };
      if (index % 6 === 0) {
        const stream = await openai.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, options);
        for await (const chunk of stream) void chunk;
      } else {
        await openai.chat.completions.create(body, options);
      }
    }));
    // A refusal costs nothing and adds no row.
    await client('sk-a').chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);

    const today = new Date().toISOString().slice(0, 10);
    const monthStart = `${today.slice(0, 8)}01`;
    const spend = await admin<{ scopes: { scope: string; budgets: { spent_micros: number }[] }[] }>('/admin/spend');
    const orgSpent = spend.body.scopes.find((scope) => scope.scope === 'org')!.budgets[0].spent_micros;
    expect(orgSpent).toBe(upstream!.bill.costMicros);
    expect(orgSpent).toBeGreaterThan(0);

    const directory = mkdtempSync(join(tmpdir(), 'covenant-focus-'));
    directories.push(directory);
    const file = join(directory, 'focus.csv');
    const written = await cli(['spend', 'export', '--format', 'focus', '--from', monthStart, '--to', today, '--out', file]);
    expect(written.stderr).toContain(file);
    const rows = parseCsv(readFileSync(file, 'utf8'));
    const [header, ...records] = rows;
    expect(header).toEqual([...focusColumns]);
    for (const column of ['BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'BillingCurrency', 'BillingPeriodStart', 'BillingPeriodEnd', 'ChargePeriodStart', 'ChargePeriodEnd', 'ChargeCategory', 'ChargeClass', 'ChargeDescription', 'ServiceName', 'ServiceCategory', 'ProviderName', 'PublisherName', 'InvoiceIssuerName', 'ConsumedQuantity', 'ConsumedUnit', 'PricingQuantity', 'PricingUnit', 'SkuId', 'Tags', 'x_Department', 'x_KeyName', 'x_ModelAlias', 'x_InputTokens', 'x_OutputTokens']) {
      expect(header).toContain(column);
    }
    const column = (name: string) => header.indexOf(name);
    const total = records.reduce((sum, record) => sum + micros(record[column('BilledCost')]), 0);
    expect(total).toBe(orgSpent);
    expect(records.reduce((sum, record) => sum + micros(record[column('EffectiveCost')]), 0)).toBe(orgSpent);
    expect(records.reduce((sum, record) => sum + Number(record[column('x_CostMicros')]), 0)).toBe(upstream!.bill.costMicros);
    // One row per day × department × key × model version × tag set; each model version's spend matches the provider's bill for it.
    const identities = records.map((record) => ['ChargePeriodStart', 'x_Department', 'x_KeyId', 'SkuId', 'Tags'].map((name) => record[column(name)]).join('|'));
    expect(new Set(identities).size).toBe(records.length);
    for (const version of Object.values(versions)) {
      const billed = records.filter((record) => record[column('SkuId')] === version).reduce((sum, record) => sum + micros(record[column('BilledCost')]), 0);
      expect(billed).toBe(upstream!.bill.byModel[version].costMicros);
    }
    const first = records[0];
    expect(first[column('ChargeCategory')]).toBe('Usage');
    expect(first[column('ChargeClass')]).toBe('');
    expect(first[column('BillingCurrency')]).toBe('USD');
    expect(first[column('ServiceCategory')]).toBe('AI and Machine Learning');
    expect(first[column('ChargePeriodStart')]).toBe(`${today}T00:00:00Z`);
    expect(first[column('BillingPeriodStart')]).toBe(`${monthStart}T00:00:00Z`);
    expect(first[column('BillingAccountName')]).toBe('acme');
    const tagged = records.find((record) => record[column('Tags')] !== '{}')!;
    expect(Object.keys(JSON.parse(tagged[column('Tags')]) as object).sort()).toEqual(['feature', 'team']);

    const plain = await admin('/admin/spend/export?format=csv&from=' + monthStart + '&to=' + today);
    expect(plain.type).toMatch(/^text\/csv/);
    const [plainHeader, ...plainRecords] = parseCsv(plain.text);
    expect(plainRecords.reduce((sum, record) => sum + Number(record[plainHeader.indexOf('cost_usd_micros')]), 0)).toBe(orgSpent);
    const json = await admin<{ total_cost_usd_micros: number; rows: { cost_usd_micros: number }[] }>(`/admin/spend/export?format=json&from=${monthStart}&to=${today}`);
    expect(json.body.total_cost_usd_micros).toBe(orgSpent);
    expect(json.body.rows).toHaveLength(records.length);

    // Without --out the export goes to standard output.
    const printed = JSON.parse((await cli(['spend', 'export', '--format', 'json', '--from', monthStart, '--to', today])).stdout) as { total_cost_usd_micros: number };
    expect(printed.total_cost_usd_micros).toBe(orgSpent);

    // A department-scoped admin exports its department only.
    const scoped = parseCsv((await admin(`/admin/spend/export?format=focus&from=${monthStart}&to=${today}`, claimsAdminKey)).text).slice(1);
    expect(scoped.length).toBeGreaterThan(0);
    expect(scoped.every((record) => record[column('x_Department')] === 'claims')).toBe(true);

    // Outside the window: a header only.
    expect(parseCsv((await admin('/admin/spend/export?format=focus&from=2000-01-01&to=2000-01-31')).text)).toHaveLength(1);
    expect((await admin('/admin/spend/export?format=xml&from=2000-01-01&to=2000-01-31')).status).toBe(400);
    expect((await admin('/admin/spend/export?format=focus')).status).toBe(400);
  });
});
