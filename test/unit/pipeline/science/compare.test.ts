import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { clipToHorizon, compareSeries } from '../../../../pipeline/kernel/science/compare.js';

const M = 60_000;
const T = Date.parse('2026-11-26T10:00:00Z');
const pt = (i: number, over: Partial<MetricPoint> = {}): MetricPoint => ({
  app: 'a',
  metric: 'router.service_ms',
  minute: T + i * M,
  count: 10,
  min: 1,
  max: 9,
  sum: 50,
  median: 5,
  p95: 8,
  p99: 9,
  ...over,
});
const opts = { horizon: T + 2 * M, now: T + 10 * M, retentionMs: 86_400_000, tolerance: { relative: 1e-9, absolute: 0 } };

describe('compareSeries', () => {
  it('finds no mismatch when the stores agree', () => {
    const pts = [0, 1, 2, 3, 4].map((i) => pt(i));
    const c = compareSeries(pts, pts, opts);
    assert.deepEqual({ compared: c.compared, matched: c.matched, mismatches: c.mismatches.length }, { compared: 3, matched: 3, mismatches: 0 });
  });

  it('ignores minutes before the coverage horizon, where the new store is incomplete by design', () => {
    const c = compareSeries(
      [0, 1, 2, 3].map((i) => pt(i)),
      [2, 3].map((i) => pt(i)),
      opts,
    );
    assert.equal(c.mismatches.length, 0);
    assert.equal(c.compared, 2);
    assert.equal(compareSeries([pt(3)], [], { ...opts, horizon: null }).compared, 0, 'no horizon yet: nothing is compared');
  });

  it('classifies missing, extra, value drift and expired-returned', () => {
    const oldPts = [pt(2), pt(3), pt(4)];
    const newPts = [pt(2, { p99: 9.000001 }), pt(4), pt(5)];
    const c = compareSeries(oldPts, newPts, opts);
    assert.deepEqual(
      c.mismatches.map((m) => [m.kind, (m.minute - T) / M, m.fields ?? []]),
      [
        ['value_drift', 2, ['p99']],
        ['missing', 3, []],
        ['extra', 5, []],
      ],
    );
    const expired = compareSeries([pt(3)], [pt(3)], { ...opts, now: T + 3 * M + opts.retentionMs });
    assert.equal(expired.mismatches[0]?.kind, 'expired_returned');
  });

  it('does not judge a just-closed minute that only one store has yet, but judges it once settled and always judges values', () => {
    // Minute 9 ended at T + 10 min = now: one writer has written it, the other not yet.
    const justClosed = compareSeries([pt(8), pt(9)], [pt(8)], { ...opts, settleMs: 30_000 });
    assert.deepEqual(
      { compared: justClosed.compared, matched: justClosed.matched, mismatches: justClosed.mismatches.length },
      { compared: 1, matched: 1, mismatches: 0 },
    );
    assert.equal(compareSeries([pt(8)], [pt(8), pt(9)], { ...opts, settleMs: 30_000 }).mismatches.length, 0, 'nor an extra one');
    const settled = compareSeries([pt(8), pt(9)], [pt(8)], { ...opts, settleMs: 30_000, now: opts.now + 30_000 });
    assert.deepEqual(
      settled.mismatches.map((m) => [m.kind, (m.minute - T) / M]),
      [['missing', 9]],
      'still missing 30 s after the minute ended: a real difference',
    );
    const drift = compareSeries([pt(9)], [pt(9, { p99: 10 })], { ...opts, settleMs: 30_000 });
    assert.equal(drift.mismatches[0]?.kind, 'value_drift', 'a minute both stores have is judged at once');
    assert.equal(compareSeries([pt(8), pt(9)], [pt(8)], opts).mismatches[0]?.kind, 'missing', 'no settle time by default');
    assert.deepEqual(
      justClosed.unsettled.map((u) => [u.presentIn, (u.minute - T) / M]),
      [['old', 9]],
      'the minute left out is reported, with the store that had it',
    );
  });

  it('judges a one-sided minute at any age once the writers are proven past the reads', () => {
    // Minute 10 has not even ended (a minute closes early when later event times push the watermark).
    const c = compareSeries([pt(10)], [], { ...opts, settleMs: 30_000, writersProven: true });
    assert.deepEqual(
      c.mismatches.map((m) => [m.kind, (m.minute - T) / M]),
      [['missing', 10]],
    );
    assert.equal(c.unsettled.length, 0);
  });

  it('does not judge a minute about to expire that only one store still returned (the reads ran moments apart)', () => {
    // Retention 5 minutes at now = T + 10 min: minute 5 expires now + 0, minute 6 a minute later.
    const edge = { ...opts, retentionMs: 5 * M + 10_000, settleMs: 30_000 };
    // Minute 5 expires in 10 s: the old store's read already missed it, the new store's did not.
    const expiring = compareSeries([pt(6), pt(7)], [pt(5), pt(6), pt(7)], edge);
    assert.deepEqual({ compared: expiring.compared, mismatches: expiring.mismatches.length }, { compared: 2, mismatches: 0 });
    // A minute with well over settleMs to live that only one store has is a real difference.
    const real = compareSeries([pt(6), pt(7)], [pt(5), pt(6), pt(7)], { ...edge, retentionMs: 5 * M + 60_000 });
    assert.deepEqual(
      real.mismatches.map((m) => [m.kind, (m.minute - T) / M]),
      [['extra', 5]],
    );
    // And a minute both have is judged up to its expiry.
    assert.equal(compareSeries([pt(5, { p99: 7 })], [pt(5)], edge).mismatches[0]?.kind, 'value_drift');
  });

  it('accepts differences within the tolerance', () => {
    const c = compareSeries([pt(3, { sum: 0.30000000000000004 })], [pt(3, { sum: 0.3 })], opts);
    assert.equal(c.matched, 1);
    const strict = compareSeries([pt(3, { sum: 0.30000000000000004 })], [pt(3, { sum: 0.3 })], { ...opts, tolerance: { relative: 0, absolute: 0 } });
    assert.equal(strict.mismatches[0]?.kind, 'value_drift');
  });

  it('clips a range to the horizon', () => {
    assert.deepEqual(clipToHorizon(T, T + 5 * M, T + 2 * M), { from: T + 2 * M, to: T + 5 * M });
    assert.equal(clipToHorizon(T, T + M, T + 2 * M), undefined);
    assert.equal(clipToHorizon(T, T + M, null), undefined);
  });
});
