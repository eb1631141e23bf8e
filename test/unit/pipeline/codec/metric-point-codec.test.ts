import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMetricPoint, encodeMetricPoint } from '../../../../pipeline/kernel/codec/metric-point-codec.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';

const MINUTE = Date.parse('2026-12-03T10:00:00Z');
const point = (over: Partial<MetricPoint>): MetricPoint => ({
  app: 'app-1',
  metric: 'router.service_ms',
  minute: MINUTE,
  count: 3,
  min: 1,
  max: 3,
  sum: 6,
  median: 2,
  p95: 3,
  p99: 3,
  ...over,
});

describe('metric point codec', () => {
  it('round-trips every finite float64 exactly, negative zero included', () => {
    const edges: Partial<MetricPoint>[] = [
      { min: -0, median: -0, p95: 0, p99: 0, max: 0, sum: -0 },
      { min: Number.MIN_VALUE, median: 2.2250738585072014e-308, p95: 1e-130, p99: 1e-129, max: 1e-128, sum: 5e-324 * 3 },
      { min: -Number.MAX_VALUE, median: 0.1 + 0.2, p95: 123456789.12345679, p99: 1e126, max: Number.MAX_VALUE, sum: -1.7976931348623157e308 },
      { min: 0.30000000000000004, median: 0.30000000000000004, p95: 9007199254740993, p99: 9007199254740993, max: 9007199254740994, sum: 1 / 3 },
    ];
    for (const e of edges) {
      const p = point(e);
      const bytes = encodeMetricPoint(p);
      assert.doesNotThrow(() => JSON.parse(bytes.toString('utf8')), 'plain JSON, readable with standard tools');
      const back = decodeMetricPoint(bytes);
      assert.ok(back.ok, back.ok ? '' : back.reason);
      for (const k of ['min', 'max', 'sum', 'median', 'p95', 'p99'] as const)
        assert.ok(Object.is(back.point[k], p[k]), `${k}: ${back.point[k]} read back for ${p[k]}`);
      assert.deepEqual({ ...back.point }, { ...p });
    }
  });

  it('refuses what is not a metric point, with the reason', () => {
    const cases: [Buffer | null, RegExp][] = [
      [null, /empty message/],
      [Buffer.from('{"v":1,'), /invalid JSON/],
      [encodeMetricPoint(point({ max: Number.NaN })), /max: Expected number, received null|max:/],
      [encodeMetricPoint(point({ median: 5 })), /statistics out of order/],
      [encodeMetricPoint(point({ minute: MINUTE + 1 })), /minute: must be the start of a minute/],
      [encodeMetricPoint(point({ count: 0 })), /count:/],
    ];
    for (const [bytes, re] of cases) {
      const r = decodeMetricPoint(bytes);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, re);
    }
  });
});
