// The pure parts of cost attribution and the spend export: tag parsing, the RFC 4180 writer, daily rows, FOCUS records.
import { describe, expect, it } from 'vitest';
import { CovenantError } from '../src/core/errors.js';
import { parseTags, parseTagsLeniently, type TagPolicy } from '../src/core/tags.js';
import { csvField, csvLine } from '../src/finops/csv.js';
import { dailyUsage } from '../src/finops/daily-usage.js';
import { exportLines } from '../src/finops/export.js';
import { focusColumns, focusRecord } from '../src/finops/focus.js';
import type { SpendEntry } from '../src/finops/spend-entries.js';
import { tagSpend } from '../src/finops/tag-spend.js';
import { windowBound } from '../src/finops/window.js';

const policy: TagPolicy = { keys: new Set(['team', 'feature', 'env']), maxValueLength: 8, maxCount: 2 };

function refusal(work: () => unknown): CovenantError {
  try {
    work();
  } catch (error) {
    if (error instanceof CovenantError) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('parseTags', () => {
  it('returns null without a header or metadata, and without declared keys to look for', () => {
    expect(parseTags(undefined, undefined, policy)).toBeNull();
    expect(parseTags(undefined, { team: 'x' }, { ...policy, keys: new Set() })).toBeNull();
    expect(parseTags('', undefined, policy)).toBeNull();
  });

  it('reads header pairs and declared metadata keys, sorted, the header winning', () => {
    const tags = parseTags(' team = search ,feature=auto', { team: 'claims', note: 'ignored' }, policy);
    expect(tags).toEqual({ feature: 'auto', team: 'search' });
    expect(Object.keys(tags!)).toEqual(['feature', 'team']);
    expect(parseTags(undefined, { env: 'prod', other: 1 }, policy)).toEqual({ env: 'prod' });
  });

  it('refuses unknown keys, empty, over-long or non-string values, too many tags and malformed pairs, naming the tag', () => {
    expect(refusal(() => parseTags('owner=bob', undefined, policy))).toMatchObject({ status: 400, code: 'invalid_request', param: 'tags.owner' });
    expect(refusal(() => parseTags('team=', undefined, policy)).param).toBe('tags.team');
    expect(refusal(() => parseTags('team=123456789', undefined, policy)).message).toMatch(/longer than 8/);
    expect(refusal(() => parseTags(undefined, { team: 7 }, policy)).param).toBe('tags.team');
    expect(refusal(() => parseTags('team=a,feature=b,env=c', undefined, policy)).message).toMatch(/at most 2 tags/);
    expect(refusal(() => parseTags('team', undefined, policy)).param).toBe('x-covenant-tags');
    expect(refusal(() => parseTags('team=a', undefined, { ...policy, keys: new Set() })).message).toMatch(/no tags are configured/);
    expect(parseTagsLeniently('owner=bob', undefined, policy)).toBeNull();
    expect(parseTagsLeniently('team=a', undefined, policy)).toEqual({ team: 'a' });
    // A refusal keeps its valid tags only, at most max_count of them.
    expect(parseTagsLeniently('owner=bob,team=a,feature=123456789,junk', { env: 3 }, policy)).toEqual({ team: 'a' });
    expect(parseTagsLeniently('team=a,feature=b,env=c', undefined, policy)).toEqual({ env: 'c', feature: 'b' });
  });
});

describe('csv', () => {
  it('quotes only fields with a comma, quote, CR or LF, doubling quotes (RFC 4180 §2.6, §2.7), and ends records in CRLF', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(12)).toBe('12');
    expect(csvLine(['{"team":"a,b"}', 3, undefined])).toBe('"{""team"":""a,b""}",3,\r\n');
  });
});

describe('windowBound', () => {
  it('reads dates as whole UTC days (to includes its day) and ISO times as instants; rejects anything else', () => {
    expect(windowBound('2026-11-01', 'from')?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(windowBound('2026-11-30', 'to')?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(windowBound('2026-11-30T12:00:00Z', 'to')?.toISOString()).toBe('2026-11-30T12:00:00.000Z');
    expect(windowBound('2026-02-30', 'from')).toBeUndefined();
    expect(windowBound('yesterday', 'from')).toBeUndefined();
  });
});

function entry(time: string, fields: Partial<SpendEntry> = {}): SpendEntry {
  return {
    time, department: 'claims', keyId: 'key_1', keyName: 'bot', alias: 'fast', provider: 'openai', modelVersion: 'gpt-x',
    tags: {}, inputTokens: 100, outputTokens: 10, cachedInputTokens: 0, reasoningTokens: 0, costMicros: 7, refused: false, ...fields,
  };
}

/** A month of traffic: every day, two keys, two versions, some tagged; costs chosen so float sums would drift. */
function month(): SpendEntry[] {
  const entries: SpendEntry[] = [];
  for (let day = 1; day <= 31; day += 1) {
    for (let request = 0; request < 7; request += 1) {
      entries.push(entry(`2026-12-${String(day).padStart(2, '0')}T${String(request * 3).padStart(2, '0')}:15:00.000Z`, {
        keyId: request % 2 === 0 ? 'key_1' : 'key_2', keyName: request % 2 === 0 ? 'bot' : 'crawler',
        modelVersion: request % 3 === 0 ? 'gpt-big' : 'gpt-small', tags: request % 4 === 0 ? { team: 'search' } : {},
        costMicros: 100_001 + day * 13 + request, inputTokens: 1000 + request, outputTokens: 50 + day,
      }));
    }
    // A refusal: no cost, no tokens, no row.
    entries.push(entry(`2026-12-${String(day).padStart(2, '0')}T23:00:00.000Z`, { costMicros: 0, inputTokens: 0, outputTokens: 0, refused: true, modelVersion: null }));
  }
  return entries;
}

describe('dailyUsage and the FOCUS export', () => {
  it('rolls a month up per day × department × key × model version × tag set, and the FOCUS file sums to the entries exactly', async () => {
    const entries = month();
    const rows = await dailyUsage(entries);
    const expected = entries.reduce((sum, item) => sum + item.costMicros, 0);
    expect(rows.reduce((sum, row) => sum + row.costMicros, 0)).toBe(expected);
    expect(rows.reduce((sum, row) => sum + row.requests, 0)).toBe(31 * 7);
    expect(new Set(rows.map((row) => row.day)).size).toBe(31);
    expect(rows[0].day).toBe('2026-12-01');

    const text = [...exportLines(rows, 'focus', { organisation: 'acme', from: new Date('2026-12-01'), to: new Date('2027-01-01') })].join('');
    const lines = text.split('\r\n').filter((line) => line !== '');
    expect(lines[0]).toBe(focusColumns.join(','));
    expect(lines).toHaveLength(rows.length + 1);
    const billed = focusColumns.indexOf('BilledCost');
    // BilledCost is the first column and never quoted: sum its decimals as integers.
    const total = lines.slice(1).reduce((sum, line) => {
      const [whole, fraction] = line.split(',')[billed].split('.');
      expect(fraction).toHaveLength(6);
      return sum + Number(whole) * 1_000_000 + Number(fraction);
    }, 0);
    expect(total).toBe(expected);

    const json = JSON.parse([...exportLines(rows, 'json', { organisation: 'acme', from: new Date('2026-12-01'), to: new Date('2027-01-01') })].join('')) as { total_cost_usd_micros: number; rows: unknown[] };
    expect(json.total_cost_usd_micros).toBe(expected);
    expect(json.rows).toHaveLength(rows.length);
  });

  it('fills FOCUS columns with allowed values: a day\'s charge period, its calendar month as billing period, equal costs', () => {
    const record = focusRecord({
      day: '2026-12-31', department: 'claims', keyId: 'key_1', keyName: 'bot', provider: 'openai', alias: 'fast', modelVersion: 'gpt-x',
      tags: { team: 'a,"b"' }, requests: 2, inputTokens: 30, outputTokens: 12, cachedInputTokens: 5, reasoningTokens: 0, costMicros: 1_234_567,
    }, 'acme');
    expect(record).toMatchObject({
      BilledCost: '1.234567', EffectiveCost: '1.234567', ListCost: '1.234567', ContractedCost: '1.234567', BillingCurrency: 'USD',
      ChargePeriodStart: '2026-12-31T00:00:00Z', ChargePeriodEnd: '2027-01-01T00:00:00Z',
      BillingPeriodStart: '2026-12-01T00:00:00Z', BillingPeriodEnd: '2027-01-01T00:00:00Z',
      ChargeCategory: 'Usage', ChargeClass: null, ServiceCategory: 'AI and Machine Learning', ProviderName: 'openai',
      ConsumedQuantity: 42, ConsumedUnit: 'Tokens', PricingQuantity: 42, PricingUnit: 'Tokens', SkuId: 'gpt-x',
      SubAccountId: 'claims', x_KeyName: 'bot', x_ModelAlias: 'fast', x_InputTokens: 30, x_OutputTokens: 12, x_CostMicros: 1_234_567,
    });
    expect(JSON.parse(record.Tags as string)).toEqual({ team: 'a,"b"' });
    expect(focusColumns.filter((column) => column.startsWith('x_')).length).toBeGreaterThan(0);
    expect(focusColumns.slice(0, focusColumns.indexOf('x_Department')).every((column) => !column.startsWith('x_'))).toBe(true);
  });

  it('groups spend by one tag, untagged under null and last, with exact totals', async () => {
    const entries = month();
    const report = await tagSpend(entries, 'team', { from: new Date('2026-12-01'), to: new Date('2027-01-01') });
    expect(report.groups.map((group) => group.value)).toEqual(['search', null]);
    expect(report.groups[0].requests).toBe(31 * 2);
    expect(report.total.cost_usd_micros).toBe(entries.reduce((sum, item) => sum + item.costMicros, 0));
    expect(report.groups[1].requests).toBe(31 * 6);
  });
});
