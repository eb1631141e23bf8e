/**
 * Wire format of `<env>.metrics`: one metric point per message, JSON (points are few next to
 * observations, and JSON keeps the topic readable with standard Kafka tools), validated by zod
 * at the writers' boundary.
 */
import { z } from 'zod';
import { MINUTE_MS, type MetricPoint } from '../model/metric-point.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** Schema of a metric point message (version 1). */
export const metricPointSchema = z
  .object({
    v: z.literal(1),
    app: z.string().min(1).max(128),
    metric: z.string().min(1).max(128),
    minute: z.number().int().refine((m) => m % MINUTE_MS === 0, 'must be the start of a minute (epoch ms, multiple of 60000)'),
    count: z.number().int().positive(),
    min: finite,
    max: finite,
    sum: finite,
    median: finite,
    p95: finite,
    p99: finite,
  })
  .refine((p) => p.min <= p.median && p.median <= p.p95 && p.p95 <= p.p99 && p.p99 <= p.max, 'statistics out of order (need min <= median <= p95 <= p99 <= max)');

/** Encodes a metric point as a message value. */
export function encodeMetricPoint(p: MetricPoint): Buffer {
  return Buffer.from(
    JSON.stringify({ v: 1, app: p.app, metric: p.metric, minute: p.minute, count: p.count, min: p.min, max: p.max, sum: p.sum, median: p.median, p95: p.p95, p99: p.p99 }),
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
