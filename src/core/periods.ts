// Budget period windows (hour, day, ISO week, calendar month, total) in any IANA time zone, DST-safe via Intl.
import type { Period } from './budget-types.js';

/** One budget window: [start, end). `key` names it uniquely for its period in its time zone. */
export interface PeriodWindow {
  start: Date;
  end: Date;
  key: string;
}

const hourMs = 3_600_000;
const dayMs = 86_400_000;
/** The largest instant a Date can hold (ECMA-262 §21.4.1.1): the end of the `total` window. */
const maxInstant = 8.64e15;

interface LocalFields { year: number; month: number; day: number; hour: number; minute: number; second: number }

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws RangeError for an unknown zone: config validation should surface it, never a silent UTC fallback.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock fields of `instant` (ms) in `timeZone`. */
function localFields(instant: number, timeZone: string): LocalFields {
  if (timeZone === 'UTC') {
    const date = new Date(instant);
    return {
      year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(),
      hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds(),
    };
  }
  const fields: LocalFields = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type in fields) fields[part.type as keyof LocalFields] = Number(part.value);
  }
  return fields;
}

/** The zone's UTC offset (ms, local minus UTC) at `instant`. */
function offsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  const fields = localFields(whole, timeZone);
  return Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second) - whole;
}

/**
 * The instant at which the zone's wall clock shows `wall` (ms as if UTC). Where the wall time happens twice
 * (DST ends) the earlier one; where it does not exist (DST starts) the instant the clock jumps past it
 * (Temporal's "compatible" disambiguation). Deterministic, so consecutive windows share their boundary exactly.
 */
function instantOfWall(wall: number, timeZone: string): number {
  const offsets = new Set([offsetAt(wall - dayMs, timeZone), offsetAt(wall + dayMs, timeZone)]);
  let earliest = Number.POSITIVE_INFINITY;
  for (const offset of offsets) {
    const candidate = wall - offset;
    if (candidate + offsetAt(candidate, timeZone) === wall) earliest = Math.min(earliest, candidate);
  }
  if (earliest !== Number.POSITIVE_INFINITY) return earliest;
  // A gap: the offset before the jump applies, which lands at (or just after) the jump.
  return wall - offsetAt(wall - dayMs, timeZone);
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  return `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** ISO 8601 week-numbering year and week of a calendar date (weeks start Monday; week 1 holds the first Thursday). */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(date + (3 - weekday) * dayMs);
  const weekYear = thursday.getUTCFullYear();
  const firstDay = Date.UTC(weekYear, 0, 1);
  return { year: weekYear, week: Math.floor((thursday.getTime() - firstDay) / dayMs / 7) + 1 };
}

function computeWindow(period: Period, now: number, timeZone: string): { start: number; end: number; key: string } {
  if (period === 'total') return { start: 0, end: maxInstant, key: 'total' };
  const local = localFields(now, timeZone);
  if (period === 'hour') {
    // The hour containing `now` on the local clock; the offset in the key tells apart the hour repeated when DST ends.
    const start = Math.floor(now / 1000) * 1000 - (local.minute * 60 + local.second) * 1000;
    const key = `${local.year}-${pad(local.month)}-${pad(local.day)}T${pad(local.hour)}:00${formatOffset(offsetAt(start, timeZone))}`;
    return { start, end: start + hourMs, key };
  }
  let first: number;
  let next: number;
  let key: string;
  if (period === 'day') {
    first = Date.UTC(local.year, local.month - 1, local.day);
    next = first + dayMs;
    key = `${local.year}-${pad(local.month)}-${pad(local.day)}`;
  } else if (period === 'week') {
    const today = Date.UTC(local.year, local.month - 1, local.day);
    first = today - ((new Date(today).getUTCDay() + 6) % 7) * dayMs;
    next = first + 7 * dayMs;
    const week = isoWeek(local.year, local.month, local.day);
    key = `${week.year}-W${pad(week.week)}`;
  } else {
    first = Date.UTC(local.year, local.month - 1, 1);
    next = Date.UTC(local.year, local.month, 1);
    key = `${local.year}-${pad(local.month)}`;
  }
  return { start: instantOfWall(first, timeZone), end: instantOfWall(next, timeZone), key };
}

// One cached window per (period, zone): requests arrive in time order, so nearly every call is a hit.
const cache = new Map<string, { start: number; end: number; key: string }>();

/**
 * The window of `period` that contains `now`, on the calendar of `timeZone` (IANA name, default UTC).
 * Windows of one period are contiguous: each one's end is exactly the next one's start.
 * @example periodWindow('day', new Date('2024-03-10T12:00:00Z'), 'America/New_York')
 *   // {start: 2024-03-10T05:00Z, end: 2024-03-11T04:00Z (a 23-hour day), key: '2024-03-10'}
 */
export function periodWindow(period: Period, now: Date, timeZone = 'UTC'): PeriodWindow {
  const instant = now.getTime();
  const cacheKey = `${period}\u0000${timeZone}`;
  let window = cache.get(cacheKey);
  if (!window || instant < window.start || instant >= window.end) {
    window = computeWindow(period, instant, timeZone);
    cache.set(cacheKey, window);
  }
  return { start: new Date(window.start), end: new Date(window.end), key: window.key };
}

/**
 * Whether a window of `period` named `windowKey` ended before `cutoff` (epoch ms). `total` never ends. Day, week and
 * month keys are fixed-width dates that sort in time order; an hour key carries its UTC offset, so it is compared as
 * an instant (the hour repeated when DST ends has two keys that do not sort in time order).
 */
export function windowEndedBefore(period: Period, windowKey: string, cutoff: number, timeZone: string): boolean {
  if (period === 'total') return false;
  if (period === 'hour') {
    const start = Date.parse(windowKey);
    return Number.isFinite(start) && start + hourMs <= cutoff;
  }
  return windowKey < periodWindow(period, new Date(cutoff), timeZone).key;
}
