// GET /admin/alerts' query parameters (kind, since) and the merge of budget alerts, session suspensions and governance alerts.
import { governanceAlertKinds } from '../../alerts/store.js';
import { CovenantError } from '../../core/errors.js';

/** Every kind GET /admin/alerts lists: budget alerts, session suspensions, governance alerts. */
export const alertListKinds: readonly string[] = ['threshold', 'projected_exhaustion', 'rate_jump', 'session_suspended', ...governanceAlertKinds];

/** `kind`: one kind or several, comma-separated; undefined lists every kind. */
export function alertKindsParameter(value: string | undefined): string[] | undefined {
  if (value === undefined || value === '') return undefined;
  const kinds = value.split(',').map((kind) => kind.trim()).filter((kind) => kind !== '');
  const unknown = kinds.find((kind) => !alertListKinds.includes(kind));
  if (unknown !== undefined) throw new CovenantError('invalid_request', `kind must be one or more of ${alertListKinds.join(', ')} (comma-separated).`, { param: 'kind' });
  return kinds;
}

const units: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `since`: an ISO 8601 time or date, or a span back from now (`30m`, `24h`, `7d`); epoch ms. */
export function sinceParameter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value === '') return undefined;
  const span = /^(\d+)([mhd])$/.exec(value);
  if (span) return now - Number(span[1]) * (units[span[2] as string] as number);
  const time = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new CovenantError('invalid_request', 'since must be an ISO 8601 time or date, or a span such as 24h or 7d.', { param: 'since' });
  return time;
}

/** Newest first across every list (ISO 8601 UTC times sort as text; the sort is stable), filtered and cut to `limit`. */
export function mergeAlerts(lists: Record<string, unknown>[][], filter: { kinds?: string[]; since?: number; limit: number }): Record<string, unknown>[] {
  const since = filter.since === undefined ? undefined : new Date(filter.since).toISOString();
  return lists.flat()
    .filter((entry) => filter.kinds === undefined || filter.kinds.includes(String(entry.kind)))
    .filter((entry) => since === undefined || String(entry.time) >= since)
    .sort((a, b) => String(b.time).localeCompare(String(a.time)))
    .slice(0, filter.limit);
}
