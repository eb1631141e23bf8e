import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MINUTE_MS } from '../../../../contract/index.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { MemoryMetricStore } from '../../../../pipeline/kernel/stores/memory-store.js';
import { StoreError } from '../../../../pipeline/kernel/stores/store-error.js';

const RETENTION_MS = 10 * MINUTE_MS;
const T0 = Date.UTC(2026, 10, 26, 9, 0);

function point(minute: number, overrides: Partial<MetricPoint> = {}): MetricPoint {
  return { app: 'app-1', metric: 'router.service_ms', minute, count: 3, min: 1.5, max: 9.25, sum: 14, median: 3.25, p95: 9.25, p99: 9.25, ...overrides };
}

/** A store on a clock the test moves by hand. */
function storeWithClock(start = T0): { store: MemoryMetricStore; clock: { now: number } } {
  const clock = { now: start };
  return { store: new MemoryMetricStore({ env: 'test', retentionMs: RETENTION_MS, now: () => clock.now }), clock };
}

const series = { app: 'app-1', metric: 'router.service_ms' };

describe('MemoryMetricStore', () => {
  it('upserts by (app, metric, minute): writing the same key again replaces the values', async () => {
    const { store } = storeWithClock();
    assert.deepEqual(await store.writePoints([point(T0)]), { written: 1, expired: 0, rejected: [] });
    const second = point(T0, { count: 7, max: 42.5, p99: 41 });
    assert.deepEqual(await store.writePoints([second]), { written: 1, expired: 0, rejected: [] });
    assert.deepEqual(await store.readSeries({ ...series, fromMinute: T0, toMinute: T0 }), [second]);
  });

  it('keeps the last of duplicate keys in one batch and counts both as written', async () => {
    const { store } = storeWithClock();
    const last = point(T0, { sum: 99 });
    assert.deepEqual(await store.writePoints([point(T0), last]), { written: 2, expired: 0, rejected: [] });
    assert.deepEqual(await store.readSeries({ ...series, fromMinute: T0, toMinute: T0 }), [last]);
  });

  it('reads an inclusive minute range in ascending order, only for the asked series', async () => {
    const { store } = storeWithClock(T0 + 5 * MINUTE_MS);
    const minutes = [3, 0, 4, 1, 2].map((i) => T0 + i * MINUTE_MS);
    await store.writePoints(minutes.map((m) => point(m, { count: m })));
    await store.writePoints([point(T0 + MINUTE_MS, { metric: 'other.metric' }), point(T0 + MINUTE_MS, { app: 'app-2' })]);
    const got = await store.readSeries({ ...series, fromMinute: T0 + MINUTE_MS, toMinute: T0 + 3 * MINUTE_MS });
    assert.deepEqual(
      got.map((p) => p.minute),
      [1, 2, 3].map((i) => T0 + i * MINUTE_MS),
    );
    assert.deepEqual(
      got,
      [1, 2, 3].map((i) => point(T0 + i * MINUTE_MS, { count: T0 + i * MINUTE_MS })),
    );
    assert.deepEqual(await store.readSeries({ ...series, fromMinute: T0 + 4 * MINUTE_MS, toMinute: T0 + 4 * MINUTE_MS }), [
      point(T0 + 4 * MINUTE_MS, { count: T0 + 4 * MINUTE_MS }),
    ]);
    assert.deepEqual(await store.readSeries({ ...series, fromMinute: T0 + 3 * MINUTE_MS, toMinute: T0 + MINUTE_MS }), []);
  });

  it('stops returning a point once minute + retention has passed', async () => {
    const { store, clock } = storeWithClock(T0 + MINUTE_MS);
    await store.writePoints([point(T0), point(T0 + MINUTE_MS)]);
    const range = { ...series, fromMinute: T0, toMinute: T0 + MINUTE_MS };
    clock.now = T0 + RETENTION_MS - 1;
    assert.deepEqual(
      (await store.readSeries(range)).map((p) => p.minute),
      [T0, T0 + MINUTE_MS],
    );
    clock.now = T0 + RETENTION_MS; // the expiry instant itself counts as expired
    assert.deepEqual(
      (await store.readSeries(range)).map((p) => p.minute),
      [T0 + MINUTE_MS],
    );
    clock.now = T0 + MINUTE_MS + RETENTION_MS;
    assert.deepEqual(await store.readSeries(range), []);
  });

  it('counts a point already expired on arrival and does not store it', async () => {
    const { store, clock } = storeWithClock(T0 + RETENTION_MS);
    const result = await store.writePoints([point(T0), point(T0 + MINUTE_MS)]);
    assert.deepEqual(result, { written: 1, expired: 1, rejected: [] });
    clock.now = T0; // even with the clock turned back, the expired point was never stored
    assert.deepEqual(
      (await store.readSeries({ ...series, fromMinute: T0, toMinute: T0 + MINUTE_MS })).map((p) => p.minute),
      [T0 + MINUTE_MS],
    );
  });

  it('rejects invalid points with a reason and still writes the others', async () => {
    const { store } = storeWithClock();
    const bad = [point(T0, { app: 'a#b' }), point(T0, { p95: Number.NaN }), point(T0 + 1, {}), point(T0, { count: 1.5 }), point(T0, { metric: '' })];
    const result = await store.writePoints([point(T0), ...bad, point(T0 + MINUTE_MS)]);
    assert.equal(result.written, 2);
    assert.equal(result.expired, 0);
    assert.deepEqual(
      result.rejected.map((r) => r.point),
      bad,
    );
    assert.match(result.rejected[0]!.reason, /app 'a#b' contains '#'/);
    assert.match(result.rejected[1]!.reason, /p95 NaN must be a finite number/);
    assert.match(result.rejected[2]!.reason, /minute .* multiple of 60000/);
    assert.match(result.rejected[3]!.reason, /count 1.5/);
    assert.match(result.rejected[4]!.reason, /metric must be a non-empty string/);
    assert.equal((await store.readSeries({ ...series, fromMinute: T0, toMinute: T0 + MINUTE_MS })).length, 2);
  });

  it('hands out copies: changing a written or read point does not change the store', async () => {
    const { store } = storeWithClock();
    const written = point(T0);
    await store.writePoints([written]);
    written.max = -1;
    const [read] = await store.readSeries({ ...series, fromMinute: T0, toMinute: T0 });
    assert.equal(read!.max, 9.25);
    read!.max = -2;
    assert.equal((await store.readSeries({ ...series, fromMinute: T0, toMinute: T0 }))[0]!.max, 9.25);
  });

  it('keeps negative zero, like the other stores', async () => {
    const { store } = storeWithClock();
    await store.writePoints([point(T0, { min: -0 })]);
    const [read] = await store.readSeries({ ...series, fromMinute: T0, toMinute: T0 });
    assert.ok(Object.is(read!.min, -0));
  });

  it('refuses a malformed query with a non-retriable error', async () => {
    const { store } = storeWithClock();
    await assert.rejects(store.readSeries({ ...series, fromMinute: Number.NaN, toMinute: T0 }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.retriable, false);
      assert.match(err.message, /fromMinute/);
      return true;
    });
  });
});
