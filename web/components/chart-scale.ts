// The charts' scales and units (pure functions, shared with the tests).

/** What the values are: a share (0..1, shown in %), milliseconds, or a count per minute. */
export type ChartUnit = 'percent' | 'ms' | 'per-minute';

/** A rounded axis top at or above max: 1, 2 or 5 times a power of ten. */
export function niceCeil(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** The y-axis top for the data: fitted to it, and for a percent axis never above 100 %. */
export function axisTop(values: number[], unit: ChartUnit): number {
  const max = values.length ? Math.max(...values) : 0;
  if (unit === 'percent') return Math.min(1, max <= 0 ? 0.01 : niceCeil(max * 1.1 * 100) / 100);
  return max <= 0 ? 1 : niceCeil(max * 1.1);
}

/** A value with its unit. */
export function formatValue(v: number, unit: ChartUnit): string {
  if (unit === 'percent') return `${(v * 100).toFixed(v * 100 < 1 && v > 0 ? 2 : v * 100 < 10 ? 1 : 0)} %`;
  if (unit === 'ms') return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ms`;
  return `${Math.round(v).toLocaleString('en-US')}/min`;
}
