/**
 * Pure display helpers shared by the workflow (gate texts), the CLI and the console, so a
 * duration or a range of minutes reads the same everywhere. Plain code only (this file is part of
 * the workflow bundle).
 */
import type { MinuteRange } from './verify.js';

/** Human-readable duration: 250ms, 45s, 10m, 2h 5m, 7d 3h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return sign + parts.join(' ');
}

/** A minute (epoch ms) in ISO form, to the minute when it has no seconds: 2026-12-05T14:03Z. */
export function formatMinute(ms: number): string {
  return new Date(ms).toISOString().replace(':00.000Z', 'Z');
}

/** A range of minutes, both ends inclusive: 2026-12-05T14:00Z .. 2026-12-05T15:59Z. */
export function formatMinuteRange(r: MinuteRange): string {
  return `${formatMinute(r.fromMinute)} .. ${formatMinute(r.toMinute)}`;
}

/** How far behind one store's writers are (see StoreWriterLag), or null when unknown. */
interface LagFigures {
  behindMs: number;
  messages: number;
}

/** Lag this small is a writer keeping up (one poll or batch behind), not a writer behind. */
export const CAUGHT_UP_MS = 2_000;

/**
 * One store's writer lag in words: "DynamoDB writer caught up", "Cassandra writer behind by 34s
 * (5200 points unwritten)", "DynamoDB writer: lag unknown".
 */
export function describeWriterLag(store: 'old' | 'new', lag: LagFigures | null): string {
  const name = store === 'old' ? 'Cassandra writer' : 'DynamoDB writer';
  if (lag === null) return `${name}: lag unknown`;
  if (lag.messages === 0 || lag.behindMs <= CAUGHT_UP_MS) return `${name} caught up`;
  return `${name} behind by ${formatDuration(lag.behindMs)} (${lag.messages} points unwritten)`;
}

// ---- human units ---------------------------------------------------------------------------
// What a page, a notification, the CLI and an export show a person: UTC date-times, percents
// with their sample count, durations in words. The raw figures stay with the data (evidence,
// exports' raw columns); these only say them.

const pad = (n: number): string => String(n).padStart(2, '0');

/** An epoch-ms time as a UTC date-time: 2026-12-05 14:03:07 UTC ('–' for none). */
export function formatUtc(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** An epoch-ms time as a UTC clock time: 14:03:07 UTC ('–' for none). */
export function formatUtcClock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** A count with thousands separators: 1,234. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const whole = Math.round(n);
  const digits = String(Math.abs(whole)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return whole < 0 ? `-${digits}` : digits;
}

/**
 * A fraction (0..1) as a percent with as many digits as it needs and no more: 0 → 0%,
 * 0.125 → 12.5%, 0.0005 → 0.05%, 1 → 100%. The thresholds of the policy (0.1%) keep their digits.
 */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  const p = fraction * 100;
  if (p === 0) return '0%';
  const abs = Math.abs(p);
  const digits = abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = p.toFixed(digits).replace(/\.?0+$/, '');
  // A tiny non-zero share never reads as 0%.
  return text === '0' || text === '-0' ? `${p < 0 ? '-' : ''}<0.001%` : `${text}%`;
}

/** Whole units of a duration, largest first, with their names in words. */
const WORD_UNITS: [number, string, string][] = [
  [86_400_000, 'day', 'days'],
  [3_600_000, 'h', 'h'],
  [60_000, 'min', 'min'],
  [1000, 's', 's'],
];

/** A duration in words, to its two largest units: 45 s, 3 min 20 s, 2 h 5 min, 7 days 3 h; under a second: 250 ms. */
export function formatDurationWords(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${sign}${rest} ms`;
  const parts: string[] = [];
  for (const [size, one, many] of WORD_UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) {
      if (n > 0) parts.push(`${n} ${n === 1 ? one : many}`);
      rest -= n * size;
    }
    if (parts.length === 2 || (parts.length === 1 && n === 0)) break;
  }
  return sign + parts.join(' ');
}

/**
 * How long until something happens, as a person says it, coarse enough not to jitter from one
 * refresh to the next: a few seconds, less than a minute, about 3 min, about 2 h, about 3 days.
 */
export function formatEta(ms: number): string {
  if (!Number.isFinite(ms)) return 'no estimate';
  if (ms <= 15_000) return 'a few seconds';
  if (ms < 60_000) return 'less than a minute';
  if (ms < 90 * 60_000) return `about ${Math.max(1, Math.round(ms / 60_000))} min`;
  if (ms < 36 * 3_600_000) return `about ${Math.round(ms / 3_600_000)} h`;
  return `about ${Math.round(ms / 86_400_000)} days`;
}

/**
 * A rate judged on its sample, never a bare fraction: "12.5% of 8 comparisons"; with fewer than
 * `minSample` in it, "not enough comparisons to judge (8 of 20 needed)"; with none, "no
 * comparisons yet". `noun` names what was counted (plural).
 */
export function formatSampledRate(part: number, whole: number, minSample = 1, noun = 'comparisons'): string {
  if (!(whole > 0)) return `no ${noun} yet`;
  if (whole < minSample) return `not enough ${noun} to judge (${formatCount(whole)} of ${formatCount(minSample)} needed)`;
  return `${formatPercent(part / whole)} of ${formatCount(whole)} ${noun}`;
}

/**
 * A refusal of the workflow in the words of the surface that shows it: the workflow names the
 * request's field (overridePromotionOrder); the CLI says its flag, the console its checkbox.
 */
export function refusalWords(message: string, surface: 'cli' | 'console'): string {
  const how = surface === 'cli' ? 'repeat with --override-promotion-order and a --reason' : 'tick “override promotion order” and give a reason';
  return message.replace(/repeat with overridePromotionOrder and a reason/g, how);
}

/**
 * ISO 8601 UTC times inside a text (the workflow's gate details and reasons write them so, and
 * recorded histories keep those words) said as the console says times: 2026-12-06T19:24:00.000Z
 * → 2026-12-06 19:24:00 UTC, 2026-12-05T14:03Z → 2026-12-05 14:03 UTC.
 */
export function humanizeTimes(text: string): string {
  return text.replace(
    /\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::(\d{2})(?:\.\d+)?)?Z\b/g,
    (_m, day: string, hm: string, sec?: string) => `${day} ${hm}${sec ? `:${sec}` : ''} UTC`,
  );
}
