/**
 * Validation of the read API's parameters (the HTTP boundary): clear 400s for bad ranges, stats,
 * apps and metrics.
 */
import { z } from 'zod';
import { MINUTE_MS } from '../../../contract/index.js';
import { POINT_STATS, type PointStat } from '../../kernel/model/metric-point.js';

/** A validated series request. */
export interface SeriesRequest {
  app: string;
  metric: string;
  /** First minute, inclusive, epoch ms. */
  fromMinute: number;
  /** Last minute, inclusive, epoch ms. */
  toMinute: number;
  stats: PointStat[];
}

/** Limits of the read API. */
export interface QueryLimits {
  /** Longest range one query may ask for, ms. */
  maxRangeMs: number;
  /** Range when `from` is not given, ms. */
  defaultRangeMs: number;
}

/** Default limits: a day at most, the last hour by default. */
export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxRangeMs: 24 * 3_600_000, defaultRangeMs: 3_600_000 };

const appSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'app must be 1-128 letters, digits, ".", "_", ":" or "-"');
const metricSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, 'metric must be dotted lower-case words like router.service_ms')
  .max(128);

function parseTime(name: string, raw: string): number | string {
  const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(t)) return `${name}: '${raw}' is not an ISO-8601 time or epoch milliseconds`;
  return t;
}

/** Validates path and query parameters; returns the request or the list of problems. */
export function parseSeriesRequest(
  path: { app: string; metric: string },
  query: URLSearchParams,
  now: number,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): { ok: true; request: SeriesRequest } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const app = appSchema.safeParse(path.app);
  if (!app.success) problems.push(app.error.issues[0]!.message);
  const metric = metricSchema.safeParse(path.metric);
  if (!metric.success) problems.push(metric.error.issues[0]!.message);
  const toRaw = query.get('to');
  const fromRaw = query.get('from');
  const to = toRaw === null ? now : parseTime('to', toRaw);
  if (typeof to === 'string') problems.push(to);
  const toMs = typeof to === 'number' ? to : now;
  const from = fromRaw === null ? toMs - limits.defaultRangeMs : parseTime('from', fromRaw);
  if (typeof from === 'string') problems.push(from);
  if (typeof from === 'number' && typeof to === 'number') {
    // Real dates only: 2000-01-01 .. now + 1 day (larger epoch values give "Invalid Date" downstream).
    const lo = Date.parse('2000-01-01T00:00:00Z');
    const hi = now + 86_400_000;
    if (from < lo || from > hi) problems.push(`from (${from}) is outside 2000-01-01 .. now + 1 day`);
    else if (to < lo || to > hi) problems.push(`to (${to}) is outside 2000-01-01 .. now + 1 day`);
    else if (from > to) problems.push(`from (${new Date(from).toISOString()}) is after to (${new Date(to).toISOString()})`);
    else if (to - from > limits.maxRangeMs)
      problems.push(`range of ${((to - from) / 3_600_000).toFixed(1)} h is longer than the limit of ${limits.maxRangeMs / 3_600_000} h`);
  }
  const statsRaw = query.get('stats');
  let stats: PointStat[] = [...POINT_STATS];
  if (statsRaw !== null) {
    const asked = statsRaw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = asked.filter((s) => !(POINT_STATS as readonly string[]).includes(s));
    if (asked.length === 0) problems.push(`stats is empty (choose from ${POINT_STATS.join(', ')})`);
    if (unknown.length > 0) problems.push(`unknown stats ${unknown.join(', ')} (choose from ${POINT_STATS.join(', ')})`);
    stats = asked.filter((s): s is PointStat => (POINT_STATS as readonly string[]).includes(s));
  }
  const known = new Set(['from', 'to', 'stats']);
  for (const k of query.keys()) if (!known.has(k)) problems.push(`unknown parameter '${k}' (use from, to, stats)`);
  if (problems.length > 0) return { ok: false, problems };
  const f = from as number;
  const t = to as number;
  return {
    ok: true,
    request: { app: path.app, metric: path.metric, fromMinute: Math.floor(f / MINUTE_MS) * MINUTE_MS, toMinute: Math.floor(t / MINUTE_MS) * MINUTE_MS, stats },
  };
}
