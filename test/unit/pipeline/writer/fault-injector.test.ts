import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { injectFaults } from '../../../../pipeline/jobs/writer/fault-injector.js';

const points: MetricPoint[] = Array.from({ length: 2000 }, (_, i) => ({
  app: `app-${i % 40}`,
  metric: 'router.service_ms',
  minute: 1_795_680_000_000 + Math.floor(i / 40) * 60_000,
  count: 5,
  min: 1,
  max: 20.125,
  sum: 40.5,
  median: 7.123,
  p95: 15.5,
  p99: 19.25,
}));

describe('fault injector', () => {
  it('leaves points alone when off', () => {
    const out = injectFaults(points, 0);
    assert.deepEqual(out.points, points);
  });

  it('corrupts about the chosen share, in all three ways, the same way every time', () => {
    const a = injectFaults(points, 0.1);
    const b = injectFaults(points, 0.1);
    assert.deepEqual(a, b, 'deterministic: a retried batch is corrupted identically');
    const total = a.faults.rounding + a.faults.wrong_minute + a.faults.dropped;
    assert.ok(total > 120 && total < 280, `about 10% of 2000 corrupted, got ${total}`);
    assert.ok(a.faults.rounding > 0 && a.faults.wrong_minute > 0 && a.faults.dropped > 0, JSON.stringify(a.faults));
    assert.equal(a.points.length, points.length - a.faults.dropped);
    const rounded = a.points.filter((p, i) => p.minute === points[i]?.minute && p.p99 !== 19.25);
    assert.ok(rounded.length === 0 || rounded.every((p) => p.median !== 7.123));
  });

  it('corrupts only the apps it is limited to (a cohort\u2019s), and the same points as unlimited', () => {
    const inScope = (app: string): boolean => app === 'app-1' || app === 'app-2';
    const key = (p: MetricPoint): string => `${p.app}|${p.minute}`;
    /** The input points written otherwise than given (changed, moved or dropped). */
    const changed = (out: MetricPoint[]): MetricPoint[] => {
      const written = new Map(out.map((p) => [key(p), JSON.stringify(p)]));
      return points.filter((p) => written.get(key(p)) !== JSON.stringify(p));
    };
    const limited = changed(injectFaults(points, 0.5, inScope).points);
    assert.ok(limited.length > 0);
    assert.ok(
      limited.every((p) => inScope(p.app)),
      'no point of another app is touched',
    );
    const everyone = changed(injectFaults(points, 0.5).points);
    assert.deepEqual(
      limited,
      everyone.filter((p) => inScope(p.app)),
      'within the scope, the same points as without a limit',
    );
  });
});
