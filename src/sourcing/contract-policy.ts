// Covenant config from a checked contract: the model alias's `contract:` block (support, notice, drift thresholds).
import type { ClauseFinding } from './contract-check.js';

export interface ContractPolicy {
  support_until?: string;
  notice_days?: number;
  drift?: { min_similarity?: number; max_variance?: number; max_safety_failures?: number; window?: string };
}

/** A date plus whole months, as YYYY-MM-DD (the last day of a shorter month when the day does not exist). */
export function addMonths(date: string, months: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const target = new Date(Date.UTC(year, month - 1 + Math.floor(months), 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, last));
  return target.toISOString().slice(0, 10);
}

/**
 * The `contract:` block for a model alias from the parameters found; `start` is when the support period starts
 * (the contract's effective date). Fractions are ratios (0.15 for 15%), the window a duration such as "7d".
 */
export function contractPolicy(findings: readonly ClauseFinding[], start: string): ContractPolicy {
  const parameter = (name: string) => findings.flatMap((finding) => finding.parameters[name] ? [finding.parameters[name]!] : [])[0];
  const policy: ContractPolicy = {};
  const support = parameter('support_months');
  if (support) policy.support_until = addMonths(start, support.value);
  const notice = parameter('notice_days');
  if (notice) policy.notice_days = Math.ceil(notice.value);
  const drift: NonNullable<ContractPolicy['drift']> = {};
  const similarity = parameter('min_similarity');
  if (similarity) drift.min_similarity = similarity.value;
  const variance = parameter('max_variance');
  if (variance) drift.max_variance = Math.round(variance.value * 10) / 1000;
  const safety = parameter('max_safety_failure_rate');
  if (safety) drift.max_safety_failures = Math.round(safety.value * 10) / 1000;
  const window = parameter('window_days');
  if (window) drift.window = `${Math.round(window.value)}d`;
  if (Object.keys(drift).length > 0) policy.drift = drift;
  return policy;
}

const months: Record<string, number> = {
  january: 1, february: 2, march: 3, april: 4, may: 5, june: 6, july: 7, august: 8, september: 9, october: 10, november: 11, december: 12,
};

/** The contract's effective date ("Effective Date: 1 March 2027", "effective as of 2027-03-01"), as YYYY-MM-DD. */
export function effectiveDate(text: string): string | undefined {
  const at = text.search(/\beffective\b/i);
  if (at < 0) return undefined;
  const near = text.slice(at, at + 120);
  const iso = /\b(\d{4})-(\d{2})-(\d{2})\b/.exec(near);
  if (iso) return iso[0];
  const dayFirst = /\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Z][a-z]+),?\s+(\d{4})\b/.exec(near);
  const monthFirst = /\b([A-Z][a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b/.exec(near);
  const parts = dayFirst && months[dayFirst[2]!.toLowerCase()] ? [dayFirst[3], months[dayFirst[2]!.toLowerCase()], dayFirst[1]]
    : monthFirst && months[monthFirst[1]!.toLowerCase()] ? [monthFirst[3], months[monthFirst[1]!.toLowerCase()], monthFirst[2]] : undefined;
  if (!parts) return undefined;
  return `${parts[0]}-${String(parts[1]).padStart(2, '0')}-${String(parts[2]).padStart(2, '0')}`;
}
