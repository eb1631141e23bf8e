/**
 * Display helpers shared by pages (pure functions), in the same human units as the CLI and the
 * notifications (contract/format.ts): UTC date-times, percents, durations in words, and a rate
 * never without its sample.
 */
import { formatCount, formatDurationWords, formatEta, formatMinuteRange, formatPercent, formatSampledRate, formatUtc } from '../../contract/index.js';

/** A fraction (0..1) as a percent ('–' for none). */
export const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : formatPercent(x));

/** An epoch-ms time as a UTC date-time: 2026-12-05 14:03:07 UTC. */
export const time = (ms: number | null | undefined): string => (ms ? formatUtc(ms) : '–');

/** "in about 3 min" / "3 min 20 s ago" (a coarse estimate ahead, a precise age behind). */
export function relative(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return '–';
  const d = ms - now;
  if (d >= 0) return `in ${formatEta(d)}`;
  const age = Math.floor(-d / 1000) * 1000;
  return age < 1000 ? 'just now' : `${formatDurationWords(age)} ago`;
}

/** A count with thousands separators ('–' for none). */
export const num = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : formatCount(x));

/** A duration in words: 45 s, 12 min 5 s, 3 h 30 min ('–' for none). */
export const duration = (ms: number | null | undefined): string => (ms === null || ms === undefined || !Number.isFinite(ms) ? '–' : formatDurationWords(ms));

/** A range of minutes, both ends inclusive (contract's formatMinuteRange). */
export const minuteRange = (r: { fromMinute: number; toMinute: number } | null | undefined): string => (r ? formatMinuteRange(r) : '–');

/** A mismatch rate with its sample: "0% of 1,234 comparisons", or "not enough comparisons to judge (8 of 20 needed)". */
export const sampledRate = (mismatches: number | null | undefined, comparisons: number | null | undefined, minSample: number): string =>
  comparisons === null || comparisons === undefined ? '–' : formatSampledRate(mismatches ?? 0, comparisons, minSample);
