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
