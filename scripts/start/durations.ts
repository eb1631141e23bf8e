/**
 * Durations as people and the pipeline's command lines write them ("10m", "90s", "7d").
 */

const UNITS: [suffix: string, ms: number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** The largest unit that divides ms exactly: 600000 → "10m", 90000 → "90s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const [suffix, size] of UNITS) if (ms !== 0 && ms % size === 0) return `${ms / size}${suffix}`;
  return `${ms}ms`;
}
