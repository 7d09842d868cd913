// The time window of a spend report or export, from `from`/`to` (dates or ISO 8601 times) or a budget period.
import type { Period } from '../core/budget-types.js';
import { periodWindow } from '../core/periods.js';

/** A date alone (YYYY-MM-DD) means that UTC day: as `from` its start, as `to` its end (the whole day is included). */
const dateOnly = /^\d{4}-\d{2}-\d{2}$/;

/** A `from` or `to` value as an instant; undefined when it is neither a date nor an ISO 8601 time. */
export function windowBound(value: string, side: 'from' | 'to'): Date | undefined {
  if (dateOnly.test(value)) {
    const day = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value) return undefined;
    if (side === 'to') day.setUTCDate(day.getUTCDate() + 1);
    return day;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** The current window of a budget period (in the organisation's time zone), as `/admin/spend` reports budgets. */
export function periodSpendWindow(period: Period, now: Date, timeZone: string): { from: Date; to: Date } {
  const window = periodWindow(period, now, timeZone);
  return { from: window.start, to: window.end };
}
