/**
 * Text rendering of stack status.
 */
import type { ServiceStatus } from './stack.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Renders status rows as an aligned table. */
export function formatStatus(rows: ServiceStatus[]): string {
  const header = ['SERVICE', 'ENDPOINT', 'MODE', 'PID', 'RSS', 'HEALTH', 'DETAIL'];
  const body = rows.map((r) => [
    r.service,
    r.endpoint,
    r.mode,
    r.pid === undefined ? '-' : String(r.pid),
    r.rssMb === undefined ? '-' : `${r.rssMb} MiB`,
    r.state,
    r.detail,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [header, ...body].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : pad(c, widths[i]!))).join('  ')).join('\n');
}
