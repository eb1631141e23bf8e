/**
 * The per-app, per-minute statistics the aggregator publishes and the stores keep.
 */
import { MINUTE_MS } from '../../../contract/index.js';

/** Statistics a metric point carries, besides its key. */
export const POINT_STATS = ['count', 'min', 'max', 'sum', 'median', 'p95', 'p99'] as const;

/** One statistic's name. */
export type PointStat = (typeof POINT_STATS)[number];

/** Per-app, per-metric, per-minute statistics. Keyed by (app, metric, minute); writing it twice is harmless. */
export interface MetricPoint {
  /** Application id. */
  app: string;
  /** Metric name, e.g. "router.service_ms". */
  metric: string;
  /** Start of the minute (event time), epoch milliseconds, a multiple of 60 000. */
  minute: number;
  /** Number of observations. */
  count: number;
  min: number;
  max: number;
  sum: number;
  /** Exact nearest-rank percentiles (see README). */
  median: number;
  p95: number;
  p99: number;
}

/** Start of the minute that contains an epoch-millisecond time. */
export function minuteOf(timeMs: number): number {
  return Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
}

/** Stable string key of a point: "app\u0000metric\u0000minute". */
export function pointKey(p: Pick<MetricPoint, 'app' | 'metric' | 'minute'>): string {
  return `${p.app}\u0000${p.metric}\u0000${p.minute}`;
}
