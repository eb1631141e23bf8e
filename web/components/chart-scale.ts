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

/** A round step at or above raw: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/** Decimals that show a step exactly (5 → 0, 2.5 → 1, 0.25 → 2). */
function stepDecimals(step: number): number {
  for (let d = 0; d < 8; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 8;
}

/** A y-axis for the data: a round top, evenly spaced round ticks from 0, and the decimals every tick label shares. */
export interface AxisScale {
  top: number;
  ticks: number[];
  /** Decimals of the tick labels (in the unit shown: percent points for a percent axis). */
  decimals: number;
}

/**
 * The y-axis of a chart: about four even intervals from 0 to a round top just above the data (a
 * percent axis never above 100 %), so the ticks are evenly spaced (0, 1,250, 2,500 … rather than
 * 0, 1500, 3000, 5000) and share one number of decimals.
 */
export function axisScale(values: number[], unit: ChartUnit): AxisScale {
  const scale = unit === 'percent' ? 100 : 1;
  const max = (values.length ? Math.max(...values) : 0) * scale;
  const cap = unit === 'percent' ? 100 : Number.POSITIVE_INFINITY;
  const want = max > 0 ? Math.min(max * 1.05, cap) : unit === 'percent' ? 1 : 1;
  let step = niceStep(want / 4);
  let top = Math.ceil(want / step - 1e-9) * step;
  if (top > cap) [step, top] = [25, 100];
  const ticks: number[] = [];
  for (let i = 0; i * step <= top + step * 1e-9; i++) ticks.push(Number(((i * step) / scale).toPrecision(12)));
  return { top: Number((top / scale).toPrecision(12)), ticks, decimals: stepDecimals(step) };
}

/** The y-axis top for the data (axisScale's top). */
export function axisTop(values: number[], unit: ChartUnit): number {
  return axisScale(values, unit).top;
}

/** A value with its unit; with `decimals` (an axis's), every label of the axis has the same. */
export function formatValue(v: number, unit: ChartUnit, decimals?: number): string {
  if (unit === 'percent') {
    const p = v * 100;
    return `${p.toFixed(decimals ?? (p > 0 && p < 1 ? 2 : p < 10 ? 1 : 0))}%`;
  }
  if (unit === 'ms') return `${v.toFixed(decimals ?? (v < 10 ? 2 : v < 100 ? 1 : 0))} ms`;
  const n = decimals === undefined ? Math.round(v) : Number(v.toFixed(decimals));
  return `${n.toLocaleString('en-US', { maximumFractionDigits: decimals ?? 0 })}/min`;
}

/**
 * The rows of a chart's window fitted to its data: from a minute before the first minute with
 * any figure to the end, and never fewer than `minMinutes` rows (a fresh environment still shows
 * a short axis, not an hour with its data squeezed into the right edge).
 */
export function fitWindow<T extends { time: number | null } & Record<string, number | null>>(rows: T[], o: { minMinutes: number }): T[] {
  const hasData = (r: T): boolean => Object.entries(r).some(([k, v]) => k !== 'time' && typeof v === 'number');
  const firstData = rows.findIndex(hasData);
  const start = firstData === -1 ? rows.length - o.minMinutes : Math.min(firstData - 1, rows.length - o.minMinutes);
  return rows.slice(Math.max(0, start));
}
