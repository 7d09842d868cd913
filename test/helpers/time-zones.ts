// Time zones for tests whose budgets have calendar periods: one where the day has just begun, wherever the clock is.

/**
 * A fixed-offset IANA zone (`Etc/GMT±N`, whose sign is inverted: Etc/GMT-4 is UTC+4) in which `now` falls in the hour
 * after local midnight, so a day (and a month) has almost all of itself ahead: burn-rate projections and period
 * rollovers do not depend on when the test runs.
 * @example zoneJustPastMidnight(new Date('2026-12-06T21:25:00Z')) // 'Etc/GMT-3' (00:25 on the 7th)
 */
export function zoneJustPastMidnight(now = new Date()): string {
  // The offset that makes local time 00:xx (minus the UTC hour), taken into -12..+11: Etc/GMT zones cover UTC-12 to UTC+14.
  const offset = ((36 - now.getUTCHours()) % 24) - 12;
  if (offset === 0) return 'Etc/UTC';
  return `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
