/**
 * Wire format of `<env>.metrics`: one metric point per message, JSON (points are few next to
 * observations, and JSON keeps the topic readable with standard Kafka tools), validated by zod
 * at the writers' boundary.
 */
import { z } from 'zod';
import { MINUTE_MS } from '../../../contract/index.js';
import type { MetricPoint } from '../model/metric-point.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** Schema of a metric point message (version 1). */
export const metricPointSchema = z
  .object({
    v: z.literal(1),
    app: z.string().min(1).max(128),
    metric: z.string().min(1).max(128),
    minute: z
      .number()
      .int()
      .refine((m) => m % MINUTE_MS === 0, 'must be the start of a minute (epoch ms, multiple of 60000)'),
    count: z.number().int().positive(),
    min: finite,
    max: finite,
    sum: finite,
    median: finite,
    p95: finite,
    p99: finite,
  })
  .refine(
    (p) => p.min <= p.median && p.median <= p.p95 && p.p95 <= p.p99 && p.p99 <= p.max,
    'statistics out of order (need min <= median <= p95 <= p99 <= max)',
  );

/**
 * A number as JSON text that parses back to the same float64: JSON.stringify writes -0 as "0",
 * while "-0" is valid JSON that JSON.parse reads as -0. Every other finite double already
 * round-trips (shortest representation).
 */
function exactNumber(x: number): string {
  return Object.is(x, -0) ? '-0' : JSON.stringify(x);
}

/** Encodes a metric point as a message value (every statistic read back Object.is-equal, -0 included). */
export function encodeMetricPoint(p: MetricPoint): Buffer {
  const stats = (['min', 'max', 'sum', 'median', 'p95', 'p99'] as const).map((k) => `,"${k}":${exactNumber(p[k])}`).join('');
  return Buffer.from(
    `{"v":1,"app":${JSON.stringify(p.app)},"metric":${JSON.stringify(p.metric)},"minute":${JSON.stringify(p.minute)},"count":${JSON.stringify(p.count)}${stats}}`,
  );
}

/** Decodes and validates a metric point message; returns the reason when it is not one. */
export function decodeMetricPoint(bytes: Buffer | null): { ok: true; point: MetricPoint } | { ok: false; reason: string } {
  if (!bytes || bytes.length === 0) return { ok: false, reason: 'empty message' };
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  const parsed = metricPointSchema.safeParse(doc);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || 'point'}: ${i.message}`).join('; ') };
  }
  const { v: _v, ...point } = parsed.data;
  return { ok: true, point };
}
