import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computePoint, nearestRank } from '../../../../pipeline/jobs/aggregator/window-stats.js';
import { parseCheckpoint, PartitionWindows } from '../../../../pipeline/jobs/aggregator/partition-windows.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import type { Observation } from '../../../../pipeline/kernel/model/observation.js';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const o = (t: number, value: number, app = 'a', metric = 'router.service_ms'): Observation => ({ app, metric, value, time: T0 + t });

describe('window statistics', () => {
  it('computes exact nearest-rank percentiles and an order-independent sum', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    const p = computePoint('a', 'm', T0, values);
    assert.deepEqual(
      { count: p.count, min: p.min, max: p.max, sum: p.sum, median: p.median, p95: p.p95, p99: p.p99 },
      { count: 100, min: 1, max: 100, sum: 5050, median: 50, p95: 95, p99: 99 },
    );
    const shuffledA = [0.1, 0.2, 0.3, 1e16, -1e16];
    const shuffledB = [1e16, 0.3, -1e16, 0.2, 0.1];
    assert.equal(computePoint('a', 'm', T0, shuffledA).sum, computePoint('a', 'm', T0, shuffledB).sum);
    assert.equal(nearestRank([7], 99), 7);
  });
});

/** Feeds messages (each a list of observations) and collects published points. */
function run(w: PartitionWindows, messages: Observation[][], firstOffset = 0n): { points: MetricPoint[]; late: Observation[] } {
  const points: MetricPoint[] = [];
  const late: Observation[] = [];
  messages.forEach((msg, i) => {
    const out = w.addMessage(firstOffset + BigInt(i), msg);
    points.push(...out.closed);
    late.push(...out.late);
  });
  return { points, late };
}

describe('partition windows', () => {
  it('closes a minute when the watermark passes its end, and counts later observations as late', () => {
    const w = new PartitionWindows({ allowedLatenessMs: 5000 });
    const { points, late } = run(w, [[o(1000, 1), o(30_000, 3)], [o(59_000, 2)], [o(64_000, 10)], [o(65_000, 11)], [o(20_000, 99)]]);
    assert.equal(points.length, 1, 'minute 0 closed once the watermark reached 60 s');
    assert.deepEqual(
      { minute: points[0]!.minute, count: points[0]!.count, sum: points[0]!.sum, max: points[0]!.max },
      { minute: T0, count: 3, sum: 6, max: 3 },
    );
    assert.deepEqual(late, [o(20_000, 99)]);
    assert.equal(w.openWindows, 1);
  });

  it('keeps observations within the allowed lateness', () => {
    const w = new PartitionWindows({ allowedLatenessMs: 10_000 });
    const { points, late } = run(w, [[o(1000, 1)], [o(65_000, 2)], [o(55_000, 3)], [o(75_000, 4)]]);
    assert.deepEqual(late, []);
    assert.equal(points[0]!.count, 2, 'the out-of-order observation at 55 s was still counted');
  });

  it('commits the first offset an open window still needs, and the next offset when none is open', () => {
    const w = new PartitionWindows({ allowedLatenessMs: 0 });
    run(w, [[o(1000, 1)], [o(2000, 2)], [o(61_000, 3)]], 100n);
    assert.equal(w.commitPoint()!.offset, 102n, 'minute 1 opened at offset 102');
    w.advanceIdle(T0 + 180_000);
    assert.equal(w.openWindows, 0);
    assert.equal(w.commitPoint()!.offset, 103n);
  });

  it('after a restart from the commit point, republishes exactly what an uninterrupted run publishes', () => {
    // A stream with several apps, interleaved minutes and out-of-order events.
    const stream: Observation[][] = [];
    for (let i = 0; i < 400; i++) {
      const t = i * 700 + ((i * 7919) % 9000) - 4500;
      stream.push([o(t, (i * 37) % 101, `app-${i % 3}`), o(t + 300, (i * 13) % 53, `app-${(i + 1) % 3}`, 'router.connect_ms')]);
    }
    const reference = new PartitionWindows({ allowedLatenessMs: 6000 });
    const all = run(reference, stream);
    const expected = new Map(all.points.map((p) => [`${p.app}|${p.metric}|${p.minute}`, p]));

    for (const crashAt of [37, 150, 151, 299, 399]) {
      const first = new PartitionWindows({ allowedLatenessMs: 6000 });
      const before = run(first, stream.slice(0, crashAt));
      const cp = first.commitPoint()!;
      const checkpoint = parseCheckpoint(JSON.stringify(cp.checkpoint))!;
      // The new owner resumes at the committed offset with the checkpoint.
      const second = new PartitionWindows({ allowedLatenessMs: 6000, checkpoint });
      const after = run(second, stream.slice(Number(cp.offset)), cp.offset);
      const published = new Map<string, MetricPoint>();
      for (const p of [...before.points, ...after.points]) {
        const key = `${p.app}|${p.metric}|${p.minute}`;
        const prior = published.get(key);
        if (prior) assert.deepEqual(p, prior, `crash at ${crashAt}: republished ${key} differs`);
        published.set(key, p);
      }
      assert.deepEqual(new Map([...published].sort()), new Map([...expected].sort()), `crash at ${crashAt}`);
      assert.equal(before.late.length + after.late.length, all.late.length, `crash at ${crashAt}: late counted once`);
    }
  });

  it('closes an idle partition only up to the end of its latest minute, so later data is not late', () => {
    const w = new PartitionWindows({ allowedLatenessMs: 5000 });
    run(w, [[o(1000, 1)], [o(30_000, 2)]]);
    // Events are from long ago: the wall clock is an hour later.
    const closed = w.advanceIdle(T0 + 3_600_000);
    assert.equal(closed.length, 1);
    assert.equal(w.watermark, T0 + 60_000);
    const next = w.addMessage(2n, [o(65_000, 3)]);
    assert.deepEqual(next.late, [], 'data resuming in the next minute is on time');
    assert.equal(w.addMessage(3n, [o(59_000, 4)]).late.length, 1, 'data for the closed minute is late');
  });

  it('ignores unreadable checkpoint metadata', () => {
    assert.equal(parseCheckpoint('not json'), undefined);
    assert.equal(parseCheckpoint(JSON.stringify({ v: 2, e: '5' })), undefined);
    assert.equal(parseCheckpoint(null), undefined);
    assert.deepEqual(parseCheckpoint(JSON.stringify({ v: 1, e: '5', m: 1, w: 0 })), { v: 1, e: '5', m: 1, w: 0 });
  });
});
