// The spend report (GET /admin/spend) and `covenant spend` against a local stand-in for the gateway.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BudgetGuard, type BudgetScope } from '../src/budgets/guard.js';
import { createMemoryBudgetStore } from '../src/stores/memory/budget-store.js';
import { spendReport, type SpendReport } from '../src/budgets/spend-report.js';
import { registerSpendCommands } from '../src/cli/spend.js';
import type { ModelPricing } from '../src/core/pricing.js';

const pricing: ModelPricing = { inputMicrosPerMtok: 1_000_000, outputMicrosPerMtok: 1_000_000, cachedInputMicrosPerMtok: 1_000_000, cacheWriteMicrosPerMtok: 1_000_000 };
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
const now = Date.UTC(2024, 4, 15, 10, 30);
const configured: BudgetScope[] = [
  { scope: 'org', budgets: [{ usd: 10_000, period: 'month' }] },
  { scope: 'department:claims', budgets: [{ usd: 500, period: 'day' }, { tokens: 50_000_000, period: 'month' }] },
  { scope: 'key:triage-bot', budgets: [{ usd: 5, period: 'day' }] },
];
const userBudgets = [{ department: 'claims', budgets: [{ usd: 20, period: 'day' as const }] }];

/** Spend 1,000 tokens ($0.001) for each user, and leave one $0.002 reservation open for alice. */
async function seeded() {
  const store = createMemoryBudgetStore();
  const guard = new BudgetGuard({ store, settings: { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 }, clock: () => now });
  for (const user of ['alice', 'bob']) {
    const scopes = [...configured.slice(0, 2), { scope: `user:claims/${user}`, budgets: userBudgets[0].budgets }];
    const handle = await guard.reserve({ requestId: user, scopes, pricing, prompt: { bound: 500 }, requestedMaxTokens: 1500, modelMaxOutput: 4096 });
    await guard.settle(handle, { usage: usage(400, 600) });
  }
  await guard.reserve({ requestId: 'open', scopes: [{ scope: 'user:claims/alice', budgets: userBudgets[0].budgets }], pricing, prompt: { bound: 500 }, requestedMaxTokens: 1500, modelMaxOutput: 4096 });
  return store;
}

describe('spendReport', () => {
  it('shows when the recent spend rate exhausts a budget, and null when the budget lasts its period', async () => {
    const projections: string[] = [];
    const report = await spendReport({
      store: await seeded(), now, scopes: configured, userBudgets,
      // A stand-in for the tracker: the department's usd budget runs out an hour from now; nothing else does.
      projection: (budget, at) => {
        projections.push(budget.scope);
        return budget.counterKey.includes('department:claims') && budget.counterKey.includes('usd') ? at + 3_600_000 : undefined;
      },
    });
    expect(report.scopes[1].budgets[0].projected_exhaustion_at).toBe(new Date(now + 3_600_000).toISOString());
    expect(report.scopes[1].budgets[1].projected_exhaustion_at).toBeNull();
    expect(new Set(projections)).toEqual(new Set(report.scopes.map((scope) => scope.scope)));
  });

  it('lists every scope, users found in the store included, with limit, spent, reserved, remaining and period', async () => {
    const report = await spendReport({ store: await seeded(), now, scopes: configured, userBudgets });
    expect(report.scopes.map((scope) => scope.scope)).toEqual(['org', 'department:claims', 'key:triage-bot', 'user:claims/alice', 'user:claims/bob']);
    const department = report.scopes[1].budgets;
    expect(department[0]).toEqual({
      unit: 'usd', period: 'day', window: '2024-05-15',
      period_start: '2024-05-15T00:00:00.000Z', period_end: '2024-05-16T00:00:00.000Z', projected_exhaustion_at: null,
      limit: '500.000000', limit_micros: 500_000_000, spent: '0.002000', spent_micros: 2000,
      reserved: '0.000000', reserved_micros: 0, remaining: '499.998000', remaining_micros: 499_998_000,
    });
    expect(department[1]).toMatchObject({ unit: 'tokens', period: 'month', limit: 50_000_000, spent: 2000, reserved: 0, remaining: 49_998_000 });
    expect(report.scopes[2].budgets[0]).toMatchObject({ spent_micros: 0, remaining: '5.000000' });
    expect(report.scopes[3].budgets[0]).toMatchObject({ spent_micros: 1000, reserved_micros: 2000, remaining_micros: 20_000_000 - 3000 });
  });

  it('lists only users with spend in the current windows: earlier days are history, however many users they had', async () => {
    const store = await seeded();
    const yesterday = new BudgetGuard({ store, settings: { min_output_tokens: 16, on_store_unavailable: 'fail_closed', local_cap_usd: 1 }, clock: () => now - 86_400_000 });
    const handle = await yesterday.reserve({ requestId: 'dave', scopes: [{ scope: 'user:claims/dave', budgets: userBudgets[0].budgets }], pricing, prompt: { bound: 500 }, requestedMaxTokens: 1500, modelMaxOutput: 4096 });
    await yesterday.settle(handle, { usage: usage(400, 600) });
    const report = await spendReport({ store, now, scopes: configured, userBudgets });
    expect(report.scopes.map((scope) => scope.scope)).toEqual(['org', 'department:claims', 'key:triage-bot', 'user:claims/alice', 'user:claims/bob']);
    // Asked for by name, dave is shown, at today's zero.
    const dave = await spendReport({ store, now, scopes: configured, userBudgets, scope: 'user:claims/dave' });
    expect(dave.scopes[0].budgets[0]).toMatchObject({ window: '2024-05-15', spent_micros: 0 });
  });

  it('narrows to one scope, a user not yet seen included', async () => {
    const store = await seeded();
    const department = await spendReport({ store, now, scopes: configured, userBudgets, scope: 'department:claims' });
    expect(department.scopes.map((scope) => scope.scope)).toEqual(['department:claims']);
    const carol = await spendReport({ store, now, scopes: configured, userBudgets, scope: 'user:claims/carol' });
    expect(carol.scopes).toEqual([{ scope: 'user:claims/carol', budgets: [expect.objectContaining({ spent_micros: 0, remaining: '20.000000' })] }]);
  });
});

describe('covenant spend', () => {
  let server: Server | undefined;
  afterEach(async () => {
    process.exitCode = undefined;
    delete process.env.COVENANT_TEST_ADMIN_KEY;
    vi.restoreAllMocks();
    if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
  });

  async function startGateway(report: SpendReport): Promise<{ url: string; seen: string[] }> {
    const seen: string[] = [];
    server = createServer((request, response) => {
      seen.push(request.url ?? '');
      if (request.headers.authorization !== 'Bearer admin-secret') {
        response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'The admin key is unknown.', type: 'authentication_error', code: 'invalid_api_key', param: null } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  async function run(...argv: string[]): Promise<{ out: string; error: string }> {
    let out = '';
    let error = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { out += String(chunk); return true; });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { error += String(chunk); return true; });
    const program = new Command().exitOverride();
    registerSpendCommands(program);
    await program.parseAsync(['spend', '--admin-key-env', 'COVENANT_TEST_ADMIN_KEY', ...argv], { from: 'user' });
    vi.restoreAllMocks();
    return { out, error };
  }

  it('prints an aligned table of the gateway\'s report, narrowed by --scope', async () => {
    const report = await spendReport({ store: await seeded(), now, scopes: configured, userBudgets });
    const gateway = await startGateway(report);
    process.env.COVENANT_TEST_ADMIN_KEY = 'admin-secret';
    const { out } = await run('--url', gateway.url, '--scope', 'department:claims');
    expect(gateway.seen).toEqual(['/admin/spend?scope=department%3Aclaims']);
    expect(process.exitCode).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SCOPE\s+BUDGET\s+LIMIT\s+SPENT\s+RESERVED\s+REMAINING\s+PERIOD START\s+PERIOD END\s+PROJECTED EXHAUSTION$/);
    expect(lines).toHaveLength(1 + 6); // the stand-in ignores the scope: org 1, department 2, key 1, two users 1 each
    expect(lines[2]).toMatch(/^department:claims\s+usd\/day\s+\$500\.000000\s+\$0\.002000\s+\$0\.000000\s+\$499\.998000\s+2024-05-15T00:00:00\.000Z\s+2024-05-16T00:00:00\.000Z\s+-$/);
    // Columns line up: every row's SPENT column ends where the header's does.
    const spentEnd = lines[0].indexOf('SPENT') + 'SPENT'.length;
    for (const line of lines.slice(1)) expect(line.slice(0, spentEnd)).toMatch(/(\$[0-9.]+| tok)$/);
  });

  it('prints the JSON report with --json', async () => {
    const report = await spendReport({ store: await seeded(), now, scopes: configured, userBudgets });
    const gateway = await startGateway(report);
    process.env.COVENANT_TEST_ADMIN_KEY = 'admin-secret';
    const { out } = await run('--url', gateway.url, '--json');
    expect(JSON.parse(out)).toEqual(report);
  });

  it('exits 2 with a clear message when the key is missing, wrong, or the gateway is down', async () => {
    const gateway = await startGateway({ time: '', scopes: [] });
    expect((await run('--url', gateway.url)).error).toMatch(/set COVENANT_TEST_ADMIN_KEY to an admin key/);
    expect(process.exitCode).toBe(2);
    process.exitCode = undefined;
    process.env.COVENANT_TEST_ADMIN_KEY = 'wrong';
    expect((await run('--url', gateway.url)).error).toMatch(/HTTP 401: The admin key is unknown\./);
    expect(process.exitCode).toBe(2);
    process.exitCode = undefined;
    const closedPort = gateway.url;
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    expect((await run('--url', closedPort)).error).toMatch(/cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(process.exitCode).toBe(2);
  });
});
