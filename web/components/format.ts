/** Display helpers shared by pages (pure functions). */
import { formatDuration, formatMinuteRange } from '../../contract';

export const pct = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`);

export const time = (ms: number | null | undefined): string =>
  ms
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '–';

/** "in 3m 20s" / "5m ago". */
export function relative(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return '–';
  const d = ms - now;
  const abs = Math.abs(d);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.floor((abs % 60_000) / 1000);
  const text = h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

export const num = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));

/** "45s" / "12m 5s" / "3h 30m" (a duration in ms; contract's formatDuration). */
export const duration = (ms: number | null | undefined): string => (ms === null || ms === undefined || !Number.isFinite(ms) ? '–' : formatDuration(ms));

/** A range of minutes, both ends inclusive (contract's formatMinuteRange). */
export const minuteRange = (r: { fromMinute: number; toMinute: number } | null | undefined): string => (r ? formatMinuteRange(r) : '–');
