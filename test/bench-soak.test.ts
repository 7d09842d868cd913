// The soak's verdicts (bench/soak.mjs): a figure that levels off is flat, one that keeps climbing is not; the WAL by its bound.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the benchmarks, without types
import { metrics, verdict } from '../bench/soak.mjs';

type Metric = { name: string };
const metric = (name: string) => (metrics as Metric[]).find((candidate) => candidate.name === name)!;
/** One sample every 10 s for an hour, `value(minute)` for the named figure. */
const hour = (name: string, value: (minute: number) => number) =>
  Array.from({ length: 360 }, (_, index) => ({ seconds: (index + 1) * 10, [name]: value(((index + 1) * 10) / 60) }));

describe('the soak verdicts', () => {
  it('RSS that settles is flat; RSS that grows a megabyte a minute is not', () => {
    expect(verdict(hour('rss_mib', (minute) => 250 + 40 * (1 - Math.exp(-minute / 5))), metric('rss_mib')).flat).toBe(true);
    expect(verdict(hour('rss_mib', (minute) => 250 + minute), metric('rss_mib')).flat).toBe(false);
  });

  it('a WAL file that steps up to its working size late in the hour is within the bound; one that keeps growing is not', () => {
    // The file only grows: a burst late in the run raises it from 7 to 18 MiB, where it stays.
    const stepped = verdict(hour('wal_mib', (minute) => (minute < 50 ? 7 : 18)), metric('wal_mib'));
    expect(stepped).toMatchObject({ flat: true, max: 18 });
    expect(stepped.changeOverSecondHalf).toBeGreaterThan(8);
    expect(verdict(hour('wal_mib', (minute) => 2 + minute / 2), metric('wal_mib'))).toMatchObject({ flat: false, max: 32 });
    expect(verdict(hour('wal_used_mib', (minute) => (minute * 60) % 3), metric('wal_used_mib')).flat).toBe(true);
  });
});
