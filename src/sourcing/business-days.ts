// Business-day arithmetic on calendar dates (YYYY-MM-DD, UTC): weekends and listed holidays are not business days.

const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD. */
export function isDate(text: string): boolean {
  const match = datePattern.exec(text);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === text;
}

function toDate(text: string): Date {
  if (!isDate(text)) throw new RangeError(`"${text}" is not a date (YYYY-MM-DD)`);
  return new Date(`${text}T00:00:00Z`);
}

const format = (date: Date): string => date.toISOString().slice(0, 10);
const nextDay = (date: Date): Date => new Date(date.getTime() + 86_400_000);

export function isBusinessDay(date: string, holidays: ReadonlySet<string> = new Set()): boolean {
  const day = toDate(date).getUTCDay();
  return day !== 0 && day !== 6 && !holidays.has(date);
}

/**
 * The date `count` business days after `start` (the start day itself does not count): a request made on Friday
 * 2027-01-01 with 10 business days is due on Friday 2027-01-15; a holiday on the way pushes it a day further.
 */
export function addBusinessDays(start: string, count: number, holidays: ReadonlySet<string> = new Set()): string {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${count} is not a whole number of business days`);
  let date = toDate(start);
  let left = count;
  while (left > 0) {
    date = nextDay(date);
    if (isBusinessDay(format(date), holidays)) left -= 1;
  }
  return format(date);
}

/** Business days from `from` to `to`: positive when `to` is later (days left), negative when earlier (days late). */
export function businessDaysBetween(from: string, to: string, holidays: ReadonlySet<string> = new Set()): number {
  const [earlier, later, sign] = from <= to ? [from, to, 1] : [to, from, -1];
  let date = toDate(earlier);
  const end = toDate(later).getTime();
  let count = 0;
  while (date.getTime() < end) {
    date = nextDay(date);
    if (isBusinessDay(format(date), holidays)) count += 1;
  }
  return count * sign;
}
