/**
 * Statistics of one (app, metric, minute) window.
 *
 * Percentiles are EXACT (nearest-rank on all of the window's values; no sketch, so the error
 * bound is zero): the aggregator keeps every value of an open window, which at MetaaS rates is
 * small (8 bytes a value, for one minute plus the allowed lateness). The sum is taken over the
 * values in ascending order, so it does not depend on the order observations arrived in.
 */
import type { MetricPoint } from '../../kernel/model/metric-point.js';

/** Nearest-rank percentile of ascending-sorted values: the value at rank ceil(p/100 * n). */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('nearestRank of no values');
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[Math.min(rank, n) - 1]!;
}

/** Computes a metric point from a window's values (which it sorts in place). */
export function computePoint(app: string, metric: string, minute: number, values: Float64Array | number[]): MetricPoint {
  if (values.length === 0) throw new Error(`window ${app}/${metric}/${minute} has no values`);
  const sorted = values instanceof Float64Array ? values.sort() : Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    app,
    metric,
    minute,
    count: sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    sum,
    median: nearestRank(sorted, 50),
    p95: nearestRank(sorted, 95),
    p99: nearestRank(sorted, 99),
  };
}
