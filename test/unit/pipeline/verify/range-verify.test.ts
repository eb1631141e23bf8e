import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyVerifyCounts, MINUTE_MS, type VerifyPlan } from '../../../../contract/index.js';
import {
  positionProblem,
  sliceProgress,
  startPosition,
  verifyChunk,
  type ChunkOptions,
  type ChunkPosition,
  type StorePair,
} from '../../../../pipeline/verify/range-verify.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { MemoryMetricStore } from '../../../../pipeline/kernel/stores/memory-store.js';
import type { PointsPage } from '../../../../pipeline/kernel/stores/metric-store.js';

// The verify engine on in-memory stores: each slice lists the old store's series the new store
// holds nothing of in the range (compared there), then scans the new store's series in bulk, each
// compared whole with the old store's read of it; walking in many small chunks and pages (each
// resuming from the previous position), or resuming from a heartbeat, counts exactly what one
// pass counts.
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

async function stores(): Promise<StorePair> {
  const opts = { env: 'unit', retentionMs: RETENTION, now: () => NOW };
  const old = new MemoryMetricStore(opts);
  const nu = new MemoryMetricStore(opts);
  const both: MetricPoint[] = [];
  for (let a = 0; a < 30; a++) for (let m = 895; m < 915; m++) both.push(point(`app-${a}`, m * MINUTE_MS));
  await old.writePoints(both);
  await nu.writePoints(both.filter((p) => !(p.app === 'app-3' && p.minute === 905 * MINUTE_MS)));
  await nu.writePoints([point('app-7', 902 * MINUTE_MS, 99)]); // value drift
  await nu.writePoints([point('only-new', 903 * MINUTE_MS)]); // a series only the new store holds: extra
  await old.writePoints([900, 901, 902].map((m) => point('only-old', m * MINUTE_MS))); // one only the old store holds: 3 missing
  // In the new store outside the range only: the list phase compares it (3 missing).
  await old.writePoints([904, 905, 906].map((m) => point('old-in-range', m * MINUTE_MS)));
  await nu.writePoints([point('old-in-range', 890 * MINUTE_MS)]);
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

const fresh = (slice = startPosition()): ChunkPosition => ({ slice, visited: 0, counts: emptyVerifyCounts(), samples: [], extraItems: [] });

function add(total: ChunkPosition, r: ChunkPosition): void {
  total.visited += r.visited;
  for (const k of Object.keys(total.counts) as (keyof typeof total.counts)[]) total.counts[k] += r.counts[k];
  total.samples.push(...r.samples);
  total.extraItems.push(...r.extraItems);
}

type Sizes = Pick<ChunkOptions, 'maxSeries' | 'listPageSize' | 'scanPageSize' | 'concurrency'>;

async function walk(slices: number, sizes: Sizes, s?: StorePair): Promise<{ total: ChunkPosition; chunks: number }> {
  const st = s ?? (await stores());
  const total = fresh();
  let chunks = 0;
  for (let i = 0; i < slices; i++) {
    let position = startPosition();
    while (position.phase !== 'done') {
      const r = await verifyChunk({
        stores: st,
        plan: plan(slices),
        slice: i,
        from: fresh(position),
        maxMs: 60_000,
        pointsPerSecond: 1e9,
        sampleLimit: 100,
        extraLimit: 100,
        now: () => NOW,
        ...sizes,
      });
      chunks++;
      assert.ok(sliceProgress(r.slice) >= sliceProgress(position), 'progress never goes back');
      position = r.slice;
      add(total, r);
    }
    assert.equal(sliceProgress(position), 1);
  }
  return { total, chunks };
}

const ONE_PASS: Sizes = { maxSeries: 10_000, listPageSize: 1000, scanPageSize: 10_000 };
const keyOf = (k: { app: string; minute: number }) => `${k.app}@${k.minute / MINUTE_MS}`;

describe('verify engine (range-verify)', () => {
  it('finds each difference once: missing, drift, a series only the new store holds, one only the old store holds', async () => {
    const { total } = await walk(1, ONE_PASS);
    assert.equal(total.visited, 33, 'every series with a point of the range, once: 30 in both, only-new, only-old, old-in-range');
    assert.deepEqual(
      { missing: total.counts.missing, extra: total.counts.extra, value_drift: total.counts.value_drift, matched: total.counts.matched },
      { missing: 1 + 3 + 3, extra: 1, value_drift: 1, matched: 298 },
    );
    assert.equal(total.counts.oldPoints, 300 + 3 + 3);
    assert.equal(total.counts.newPoints, 299 + 1);
    assert.deepEqual(total.extraItems, [{ app: 'only-new', metric: 'm', minute: 903 * MINUTE_MS }]);
    assert.deepEqual(
      total.samples
        .filter((s) => s.kind === 'missing')
        .map(keyOf)
        .sort(),
      ['app-3@905', 'old-in-range@904', 'old-in-range@905', 'old-in-range@906', 'only-old@900', 'only-old@901', 'only-old@902'],
    );
  });

  it('in many slices and tiny chunks and pages, resuming each time, counts exactly what one pass counts', async () => {
    const one = await walk(1, ONE_PASS);
    // Scan pages of 3 items: every series (10 minutes of the range) runs across 4 pages and is still compared whole.
    const many = await walk(4, { maxSeries: 3, listPageSize: 2, scanPageSize: 3, concurrency: 2 });
    assert.ok(many.chunks > 10, `${many.chunks} chunks`);
    assert.deepEqual(many.total.counts, one.total.counts);
    assert.equal(many.total.visited, one.total.visited);
    assert.deepEqual(many.total.extraItems, one.total.extraItems);
  });

  it('an attempt stopped mid-chunk resumes from its last heartbeat with the same totals', async () => {
    const one = await walk(1, ONE_PASS);
    const s = await stores();
    const total = fresh();
    let position = fresh();
    let stops = 0;
    while (position.slice.phase !== 'done') {
      // Each attempt is aborted after its third report; the next resumes from the last one reported.
      const abort = new AbortController();
      let reports = 0;
      let last: ChunkPosition = position;
      const r = await verifyChunk({
        stores: s,
        plan: plan(1),
        slice: 0,
        from: position,
        maxSeries: 10_000,
        maxMs: 60_000,
        pointsPerSecond: 1e9,
        sampleLimit: 100,
        extraLimit: 100,
        listPageSize: 4,
        scanPageSize: 7,
        concurrency: 2,
        now: () => NOW,
        signal: abort.signal,
        onProgress: (p) => {
          last = structuredClone(p);
          if (++reports === 3) abort.abort();
        },
      });
      if (abort.signal.aborted) stops++;
      assert.deepEqual(r.counts, last.counts, 'what a chunk returns is what it last reported');
      position = last;
    }
    add(total, position);
    assert.ok(stops > 5, `${stops} attempts stopped`);
    assert.deepEqual(total.counts, one.total.counts);
    assert.equal(total.visited, one.total.visited);
    assert.deepEqual(total.extraItems, one.total.extraItems);
  });

  it('refuses to compare a series the scan returned apart, instead of counting its minutes missing', async () => {
    const s = await stores();
    const scan = s.new.scanPoints.bind(s.new);
    // A store that sends each series' first item again at the end of the segment.
    const broken: StorePair = {
      old: s.old,
      new: Object.assign(Object.create(s.new) as typeof s.new, {
        scanPoints: async (...args: Parameters<typeof scan>): Promise<PointsPage> => {
          const page = await scan(...args);
          if (page.next !== null) return page;
          const first = (await scan(args[0], args[1], null, 10_000)).runs[0]!;
          return { ...page, runs: [...page.runs, { ...first, points: first.points.slice(0, 1), returned: 1 }] };
        },
      }),
    };
    await assert.rejects(walk(1, ONE_PASS, broken), /returned series app-\d+#m apart/);
  });

  it('reports progress through the list phase, then by the points the listed series can hold', async () => {
    const s = await stores();
    const seen: number[] = [];
    let position = fresh();
    while (position.slice.phase !== 'done') {
      position = await verifyChunk({
        stores: s,
        plan: plan(1),
        slice: 0,
        from: position,
        maxSeries: 4,
        maxMs: 60_000,
        pointsPerSecond: 1e9,
        sampleLimit: 1,
        extraLimit: 1,
        listPageSize: 5,
        scanPageSize: 40,
        now: () => NOW,
        onProgress: (p) => seen.push(sliceProgress(p.slice)),
      });
    }
    assert.ok(seen.some((p) => p > 0 && p < 0.1) && seen.some((p) => p > 0.3 && p < 1), seen.join(' '));
    assert.ok(
      seen.every((p, i) => i === 0 || p >= seen[i - 1]!),
      'never goes back',
    );
    assert.equal(seen.at(-1), 1);
  });

  it('refuses a position written by the engine before the bulk walk, naming what to do', () => {
    assert.match(positionProblem({ phase: 'old', cursor: null }) ?? '', /older version\): start a new verify run/);
    assert.equal(positionProblem(startPosition()), null);
  });
});
