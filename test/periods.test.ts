// Budget period windows: calendar values, DST days, ISO weeks, and contiguity properties across time zones.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Period } from '../src/config/schema.js';
import { isoWeek, periodWindow } from '../src/core/periods.js';

const iso = (date: Date) => date.toISOString();
const hours = (window: { start: Date; end: Date }) => (window.end.getTime() - window.start.getTime()) / 3_600_000;

describe('periodWindow: known values', () => {
  it('gives UTC calendar windows', () => {
    const now = new Date('2024-02-29T13:45:12.345Z');
    expect(periodWindow('hour', now)).toEqual({ start: new Date('2024-02-29T13:00:00Z'), end: new Date('2024-02-29T14:00:00Z'), key: '2024-02-29T13:00+00:00' });
    expect(periodWindow('day', now)).toEqual({ start: new Date('2024-02-29T00:00:00Z'), end: new Date('2024-03-01T00:00:00Z'), key: '2024-02-29' });
    expect(periodWindow('week', now)).toEqual({ start: new Date('2024-02-26T00:00:00Z'), end: new Date('2024-03-04T00:00:00Z'), key: '2024-W09' });
    expect(periodWindow('month', now)).toEqual({ start: new Date('2024-02-01T00:00:00Z'), end: new Date('2024-03-01T00:00:00Z'), key: '2024-02' });
    const total = periodWindow('total', now);
    expect(total.key).toBe('total');
    expect(total.start.getTime()).toBe(0);
    expect(total.end.getTime()).toBeGreaterThan(new Date('9999-01-01').getTime());
  });

  it('has a 23-hour day when New York springs forward and a 25-hour day when it falls back', () => {
    const spring = periodWindow('day', new Date('2024-03-10T12:00:00Z'), 'America/New_York');
    expect([iso(spring.start), iso(spring.end), spring.key]).toEqual(['2024-03-10T05:00:00.000Z', '2024-03-11T04:00:00.000Z', '2024-03-10']);
    expect(hours(spring)).toBe(23);
    const fall = periodWindow('day', new Date('2024-11-03T12:00:00Z'), 'America/New_York');
    expect([iso(fall.start), iso(fall.end)]).toEqual(['2024-11-03T04:00:00.000Z', '2024-11-04T05:00:00.000Z']);
    expect(hours(fall)).toBe(25);
  });

  it('tells apart the hour that happens twice when DST ends', () => {
    const first = periodWindow('hour', new Date('2024-11-03T05:30:00Z'), 'America/New_York'); // 01:30 EDT
    const second = periodWindow('hour', new Date('2024-11-03T06:30:00Z'), 'America/New_York'); // 01:30 EST
    expect(first.key).toBe('2024-11-03T01:00-04:00');
    expect(second.key).toBe('2024-11-03T01:00-05:00');
    expect(first.end).toEqual(second.start);
  });

  it('starts hours at half past in India and at a quarter to in Nepal', () => {
    expect(iso(periodWindow('hour', new Date('2024-06-01T10:10:00Z'), 'Asia/Kolkata').start)).toBe('2024-06-01T09:30:00.000Z');
    expect(iso(periodWindow('hour', new Date('2024-06-01T10:10:00Z'), 'Asia/Kathmandu').start)).toBe('2024-06-01T09:15:00.000Z');
  });

  it('starts a Santiago day at the DST jump when local midnight does not exist', () => {
    // Chile moved its clocks from 24:00 to 01:00 on 2023-09-03: that day starts at 00:00 -04 = 04:00Z and has 23 hours.
    const day = periodWindow('day', new Date('2023-09-03T15:00:00Z'), 'America/Santiago');
    expect(day.key).toBe('2023-09-03');
    expect(iso(day.start)).toBe('2023-09-03T04:00:00.000Z');
    expect(hours(day)).toBe(23);
  });

  it('numbers ISO weeks across year ends and starts weeks on Monday', () => {
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 });
    expect(isoWeek(2026, 1, 1)).toEqual({ year: 2026, week: 1 });
    const week = periodWindow('week', new Date('2025-01-01T12:00:00Z'), 'Europe/Berlin');
    expect(week.key).toBe('2025-W01');
    expect(iso(week.start)).toBe('2024-12-29T23:00:00.000Z'); // Monday 30 December, 00:00 CET
  });

  it('uses the zone calendar for months: 1 March in Tokyo is still February in UTC', () => {
    const window = periodWindow('month', new Date('2024-02-29T16:00:00Z'), 'Asia/Tokyo');
    expect(window.key).toBe('2024-03');
    expect(iso(window.start)).toBe('2024-02-29T15:00:00.000Z');
  });

  it('rejects an unknown time zone instead of falling back to UTC', () => {
    expect(() => periodWindow('day', new Date(), 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

const zones = [
  'UTC', 'America/New_York', 'Europe/London', 'Europe/Berlin', 'Australia/Sydney', 'Asia/Kolkata',
  'Asia/Kathmandu', 'America/Sao_Paulo', 'America/Santiago', 'Asia/Tehran', 'Pacific/Chatham', 'America/Havana',
];
const periods: Period[] = ['hour', 'day', 'week', 'month'];
const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) });

describe('periodWindow: properties', () => {
  it('contains now, and windows are contiguous: each ends exactly where the next starts', () => {
    fc.assert(fc.property(instant, fc.constantFrom(...zones), fc.constantFrom(...periods), (now, zone, period) => {
      const window = periodWindow(period, new Date(now), zone);
      expect(window.start.getTime()).toBeLessThanOrEqual(now);
      expect(window.end.getTime()).toBeGreaterThan(now);
      const next = periodWindow(period, window.end, zone);
      expect(next.start).toEqual(window.end);
      expect(next.key).not.toBe(window.key);
      const previous = periodWindow(period, new Date(window.start.getTime() - 1), zone);
      expect(previous.end).toEqual(window.start);
      // Every instant of the window maps to the same key (checked at its last millisecond).
      expect(periodWindow(period, new Date(window.end.getTime() - 1), zone).key).toBe(window.key);
    }), { numRuns: 2000 });
  }, 30_000);

  it('has window lengths a calendar allows (DST moves them by at most an hour)', () => {
    const bounds: Record<Exclude<Period, 'total'>, [number, number]> = {
      hour: [1, 1], day: [23, 25], week: [167, 169], month: [28 * 24 - 1, 31 * 24 + 1],
    };
    fc.assert(fc.property(instant, fc.constantFrom(...zones), fc.constantFrom(...periods), (now, zone, period) => {
      const length = hours(periodWindow(period, new Date(now), zone));
      expect(length).toBeGreaterThanOrEqual(bounds[period as Exclude<Period, 'total'>][0]);
      expect(length).toBeLessThanOrEqual(bounds[period as Exclude<Period, 'total'>][1]);
    }), { numRuns: 2000 });
  }, 30_000);

  it('gives the same answer whatever order it is asked in (the window cache is invisible)', () => {
    fc.assert(fc.property(fc.array(instant, { minLength: 2, maxLength: 20 }), fc.constantFrom(...zones), (instants, zone) => {
      const forward = instants.map((now) => periodWindow('day', new Date(now), zone));
      const backward = [...instants].reverse().map((now) => periodWindow('day', new Date(now), zone)).reverse();
      expect(backward).toEqual(forward);
    }));
  });
});
