// Spend read from a real ledger, on SQLite and PostgreSQL: the window, the department filter and paging select exactly
// the inference entries they should, and the daily rows sum to them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dailyUsage } from '../src/finops/daily-usage.js';
import { spendEntries } from '../src/finops/spend-entries.js';
import { tagSpend } from '../src/finops/tag-spend.js';
import type { LedgerEntryInput, LedgerStore } from '../src/ledger/index.js';
import { openPostgres, type PostgresDatabase } from '../src/stores/postgres/database.js';
import { openPostgresLedger } from '../src/stores/postgres/ledger-store.js';
import { openSqliteLedger } from '../src/stores/sqlite/ledger-store.js';
import { createTestSchema } from './helpers/services.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sqliteLedger(): Promise<LedgerStore> {
  const directory = mkdtempSync(join(tmpdir(), 'covenant-finops-'));
  const store = openSqliteLedger({ path: join(directory, 'covenant.db'), checkpointIntervalMs: 60_000 });
  cleanups.push(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });
  return store;
}

async function postgresLedger(): Promise<LedgerStore> {
  const schema = createTestSchema();
  const database: PostgresDatabase = await openPostgres({ url: schema.url, schema: schema.schema, max: 4 });
  const store = await openPostgresLedger({ database, checkpointIntervalMs: 60_000 });
  cleanups.push(async () => {
    await store.close();
    await database.close();
    await schema.drop();
  });
  return store;
}

function inference(time: Date, department: string, costMicros: number, tags?: Record<string, string>): LedgerEntryInput {
  return {
    kind: 'inference', time, request_id: `req_${time.getTime()}_${department}`, department, key: `${department}-bot`, key_id: `key_${department}`,
    ...(tags ? { tags } : {}), route: 'chat', alias: 'fast', provider: 'openai', model_version: 'gpt-x',
    tokens: { input: 10, output: 5, cached_input: 0, reasoning: 0 }, cost_usd_micros: costMicros, decision: { outcome: 'allowed' },
  };
}

describe.each([['SQLite', sqliteLedger], ['PostgreSQL', postgresLedger]])('spend from the %s ledger', (_name, open) => {
  it('reads the window\'s inference entries across pages, late appends included, one department when asked', async () => {
    const ledger = await open();
    const inside: LedgerEntryInput[] = [];
    // The month before, every day of December (two departments, some tagged), and January: in append order, with a
    // long request's entry appended after later ones.
    await ledger.append(inference(new Date('2026-11-30T23:59:59Z'), 'claims', 1_000_000));
    for (let day = 1; day <= 31; day += 1) {
      for (const department of ['claims', 'search']) {
        const entry = inference(new Date(Date.UTC(2026, 11, day, 12)), department, 1_000 * day + (department === 'claims' ? 1 : 2), day % 2 === 0 ? { team: department } : undefined);
        inside.push(entry);
        await ledger.append(entry);
      }
      await ledger.append({ kind: 'key.created', department: 'claims', key: 'other' });
    }
    await ledger.append(inference(new Date('2027-01-01T00:00:00Z'), 'claims', 1_000_000));
    const late = inference(new Date('2026-12-31T23:59:00Z'), 'search', 777);
    inside.push(late);
    await ledger.append(late);
    await ledger.flush();

    const window = { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z'), pageSize: 7 };
    const sum = (entries: LedgerEntryInput[]) => entries.reduce((total, entry) => total + (entry.cost_usd_micros as number), 0);
    const rows = await dailyUsage(spendEntries(ledger, window));
    expect(rows.reduce((total, row) => total + row.costMicros, 0)).toBe(sum(inside));
    expect(rows.reduce((total, row) => total + row.requests, 0)).toBe(inside.length);

    const claims = await dailyUsage(spendEntries(ledger, { ...window, department: 'claims' }));
    expect(claims.every((row) => row.department === 'claims')).toBe(true);
    expect(claims.reduce((total, row) => total + row.costMicros, 0)).toBe(sum(inside.filter((entry) => entry.department === 'claims')));

    const byTeam = await tagSpend(spendEntries(ledger, window), 'team', window);
    expect(Object.fromEntries(byTeam.groups.map((group) => [String(group.value), group.cost_usd_micros]))).toEqual({
      claims: sum(inside.filter((entry) => (entry.tags as Record<string, string> | undefined)?.team === 'claims')),
      search: sum(inside.filter((entry) => (entry.tags as Record<string, string> | undefined)?.team === 'search')),
      null: sum(inside.filter((entry) => entry.tags === undefined)),
    });
  });
});
