import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VerifyPlan } from '../../../../contract/index.js';
import { emptyCounts, sliceProgress, startPosition, verifyChunk, type ChunkPosition } from '../../../../pipeline/clients/range-verify.js';
import { MINUTE_MS, type MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { MemoryMetricStore } from '../../../../pipeline/kernel/stores/memory-store.js';

// The verify engine on in-memory stores: each slice walks the old store's part of the key space,
// then the new store's series the old one does not hold; walking in many small chunks (each
// resuming from the previous position) counts exactly what one pass counts.
const NOW = 1_000 * MINUTE_MS;
const RETENTION = 500 * MINUTE_MS;
const point = (app: string, minute: number, median = 5): MetricPoint => ({
  app,
  metric: 'm',
  minute,
  count: 1,
  min: 1,
  max: 9,
  sum: 5,
  median,
  p95: 9,
  p99: 9,
});

async function stores() {
  const opts = { env: 'unit', retentionMs: RETENTION, now: () => NOW };
  const old = new MemoryMetricStore(opts);
  const nu = new MemoryMetricStore(opts);
  const both: MetricPoint[] = [];
  for (let a = 0; a < 30; a++) for (let m = 900; m < 910; m++) both.push(point(`app-${a}`, m * MINUTE_MS));
  await old.writePoints(both);
  await nu.writePoints(both.filter((p) => !(p.app === 'app-3' && p.minute === 905 * MINUTE_MS)));
  await nu.writePoints([point('app-7', 902 * MINUTE_MS, 99)]); // value drift
  await nu.writePoints([point('only-new', 903 * MINUTE_MS)]); // a series only the new store holds: extra
  return { old, new: nu };
}

const plan = (slices: number): VerifyPlan => ({
  env: 'unit',
  range: { fromMinute: 900 * MINUTE_MS, toMinute: 909 * MINUTE_MS },
  requested: null,
  horizon: 900 * MINUTE_MS,
  newestSettledMinute: 909 * MINUTE_MS,
  unsettledMinutesLeftOut: 0,
  retentionMs: RETENTION,
  tolerance: { relative: 1e-9, absolute: 0 },
  settleMs: MINUTE_MS,
  slices,
  plannedAt: NOW,
});

async function walk(slices: number, maxSeries: number, pageSize: number): Promise<{ total: ChunkPosition; chunks: number }> {
  const s = await stores();
  const total: ChunkPosition = { slice: startPosition(), visited: 0, counts: emptyCounts(), samples: [], extraItems: [] };
  let chunks = 0;
  for (let i = 0; i < slices; i++) {
    let position = startPosition();
    while (position.phase !== 'done') {
      const r = await verifyChunk({
        stores: s,
        plan: plan(slices),
        slice: i,
        from: { slice: position, visited: 0, counts: emptyCounts(), samples: [], extraItems: [] },
        maxSeries,
        maxMs: 60_000,
        pointsPerSecond: 1e9,
        sampleLimit: 10,
        extraLimit: 10,
        pageSize,
        now: () => NOW,
      });
      chunks++;
      assert.ok(sliceProgress(r.slice) >= sliceProgress(position), 'progress never goes back');
      position = r.slice;
      total.visited += r.visited;
      for (const k of Object.keys(total.counts) as (keyof typeof total.counts)[]) total.counts[k] += r.counts[k];
      total.samples.push(...r.samples);
      total.extraItems.push(...r.extraItems);
    }
    assert.equal(sliceProgress(position), 1);
  }
  return { total, chunks };
}

describe('verify engine (range-verify)', () => {
  it('finds each difference once: missing, drift, and a series only the new store holds', async () => {
    const { total } = await walk(1, 1000, 1000);
    assert.equal(total.visited, 31);
    assert.deepEqual(
      { missing: total.counts.missing, extra: total.counts.extra, value_drift: total.counts.value_drift, matched: total.counts.matched },
      { missing: 1, extra: 1, value_drift: 1, matched: 298 },
    );
    assert.deepEqual(total.extraItems, [{ app: 'only-new', metric: 'm', minute: 903 * MINUTE_MS }]);
  });

  it('in many slices and tiny chunks and pages, resuming each time, counts exactly what one pass counts', async () => {
    const one = await walk(1, 1000, 1000);
    const many = await walk(4, 3, 2);
    assert.ok(many.chunks > 10, `${many.chunks} chunks`);
    assert.deepEqual(many.total.counts, one.total.counts);
    assert.equal(many.total.visited, one.total.visited);
    assert.deepEqual(many.total.extraItems, one.total.extraItems);
  });
});
