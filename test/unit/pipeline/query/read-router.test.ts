import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialControlState, type ControlState } from '../../../../control/index.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { CandidateRunner } from '../../../../pipeline/jobs/query/candidate-runner.js';
import { ReadRouter } from '../../../../pipeline/jobs/query/read-router.js';
import type { WriterProgress } from '../../../../pipeline/kernel/observability/writer-progress.js';
import type { Comparison } from '../../../../pipeline/kernel/science/compare.js';
import type { ScienceSink } from '../../../../pipeline/jobs/query/science-recorder.js';
import { MemoryMetricStore } from '../../../../pipeline/kernel/stores/memory-store.js';
import type { MetricStore } from '../../../../pipeline/kernel/stores/metric-store.js';

const M = 60_000;
const T = Date.parse('2026-11-26T10:00:00Z');
const NOW = T + 30 * M;
const pt = (i: number, over: Partial<MetricPoint> = {}): MetricPoint => ({
  app: 'a',
  metric: 'router.service_ms',
  minute: T + i * M,
  count: 3,
  min: 1,
  max: 3,
  sum: 6,
  median: 2,
  p95: 3,
  p99: 3,
  ...over,
});

/** A science sink that just counts. */
function fakeSink() {
  const events: string[] = [];
  const splits: string[] = [];
  const comparisons: (Pick<Comparison, 'compared' | 'matched' | 'mismatches'> & { unjudged?: number })[] = [];
  const sink: ScienceSink = {
    recordServed: (_e, store, _ms, failed) => void events.push(`served:${store}${failed ? ':failed' : ''}`),
    recordSplit: (e) => void splits.push(e),
    recordFreshSplit: (e) => void events.push(`fresh-split:${e}`),
    recordShadowLatency: (_e, store) => void events.push(`shadow:${store}`),
    recordCandidateFailure: (_e, kind, store) => void events.push(`candidate:${kind}${store === 'old' ? ':old' : ''}`),
    recordNewStoreError: () => void events.push('new-store-error'),
    recordSkipped: () => void events.push('skipped'),
    recordComparison: (_e, _q, c) => void comparisons.push(c),
  };
  return { sink, events, comparisons, splits };
}

async function setup(state: Partial<ControlState>, newOverride?: Partial<MetricStore>, oldOverride?: Partial<MetricStore>) {
  const opts = { env: 'test', retentionMs: 86_400_000, now: () => NOW };
  const oldStore = new MemoryMetricStore(opts);
  const newStore = new MemoryMetricStore(opts);
  const all = Array.from({ length: 20 }, (_, i) => pt(i));
  await oldStore.writePoints(all);
  await newStore.writePoints(all.filter((p) => p.minute >= T + 5 * M)); // dual write began at minute 5
  const f = fakeSink();
  const control: ControlState = { ...initialControlState('test', 86_400_000), coverageHorizon: T + 5 * M, ...state };
  const newS: MetricStore = newOverride ? Object.assign(Object.create(newStore) as MetricStore, newOverride) : newStore;
  const oldS: MetricStore = oldOverride ? Object.assign(Object.create(oldStore) as MetricStore, oldOverride) : oldStore;
  const router = new ReadRouter({
    stores: () => ({ old: oldS, new: newS }),
    control: () => control,
    recorder: f.sink,
    candidates: new CandidateRunner(8, 100),
    random: () => 0.5,
    now: () => NOW,
  });
  return { router, oldStore, newStore, ...f };
}

const q = (from: number, to: number) => ({ app: 'a', metric: 'router.service_ms', fromMinute: T + from * M, toMinute: T + to * M });

describe('read router', () => {
  it('serves from the old store and compares a shadow read of the new one in science mode', async () => {
    const s = await setup({ sciencePercent: 100 });
    const r = await s.router.read('test', q(0, 19));
    assert.equal(r.servedBy, 'old');
    assert.equal(r.points.length, 20, 'the served result is the old store, complete');
    await s.router.settled();
    assert.equal(s.comparisons.length, 1);
    assert.deepEqual(
      { compared: s.comparisons[0]!.compared, mismatches: s.comparisons[0]!.mismatches.length },
      { compared: 15, mismatches: 0 },
      'minutes before the horizon are not compared',
    );
  });

  it('does not shadow-read when the sample misses or there is no horizon', async () => {
    const s = await setup({ sciencePercent: 40 }); // random() = 0.5 -> 50 >= 40: not sampled
    await s.router.read('test', q(0, 19));
    const none = await setup({ sciencePercent: 100, coverageHorizon: null });
    await none.router.read('test', q(0, 19));
    await s.router.settled();
    assert.equal(s.comparisons.length + none.comparisons.length, 0);
  });

  it('in cutover serves the new store within coverage, and splits a query reaching before the horizon', async () => {
    const s = await setup({ sciencePercent: 100, cutoverPercent: 100 });
    const inside = await s.router.read('test', q(6, 10));
    assert.equal(inside.servedBy, 'new');
    assert.deepEqual(inside.parts, [{ store: 'new', fromMinute: T + 6 * M, toMinute: T + 10 * M, kind: 'whole' }]);
    const before = await s.router.read('test', q(2, 10));
    assert.equal(before.servedBy, 'split');
    assert.deepEqual(before.parts, [
      { store: 'old', fromMinute: T + 2 * M, toMinute: T + 4 * M, kind: 'before_horizon' },
      { store: 'new', fromMinute: T + 5 * M, toMinute: T + 10 * M, kind: 'covered' },
    ]);
    assert.deepEqual(
      before.points.map((p) => (p.minute - T) / M),
      [2, 3, 4, 5, 6, 7, 8, 9, 10],
      'complete history, in minute order, one point per minute',
    );
    assert.deepEqual(s.splits, ['test'], 'the split query is counted as split, once');
    await s.router.settled();
    assert.ok(s.comparisons.every((c) => c.mismatches.length === 0));
    assert.deepEqual(
      s.comparisons.map((c) => c.compared),
      [5, 6],
      'served new parts are compared against the old store too',
    );
  });

  it('at cutover 100% serves a real 6-hour dashboard range from the new store once retention is within coverage', async () => {
    // Retention 10 minutes (the demo's): a 6 h range is clipped to the last 10 minutes, all after the horizon.
    const s = await setup({ sciencePercent: 100, cutoverPercent: 100, retentionMs: 10 * M });
    const r = await s.router.read('test', q(-330, 29));
    assert.equal(r.servedBy, 'new');
    assert.deepEqual(r.parts, [{ store: 'new', fromMinute: T + 21 * M, toMinute: T + 29 * M, kind: 'whole' }]);
    assert.deepEqual(
      s.events.filter((e) => e.startsWith('served:')),
      ['served:new'],
      'the old store served nothing',
    );
  });

  it('serves nothing, from no store, for a range entirely past retention', async () => {
    const s = await setup({ sciencePercent: 100, retentionMs: 10 * M });
    const r = await s.router.read('test', q(0, 19));
    assert.deepEqual([r.servedBy, r.points, r.parts, r.compared], ['none', [], [], false]);
    assert.deepEqual(s.events, []);
    // Science mode clips too: the old store serves only what retention still holds.
    const partly = await s.router.read('test', q(0, 25));
    assert.deepEqual(partly.parts, [{ store: 'old', fromMinute: T + 21 * M, toMinute: T + 25 * M, kind: 'whole' }]);
  });

  it('falls back to the old store when the new store fails a served read', async () => {
    const s = await setup({ cutoverPercent: 100 }, { readSeries: () => Promise.reject(new Error('dynamodb down')) });
    const r = await s.router.read('test', q(6, 10));
    assert.equal(r.servedBy, 'old');
    assert.equal(r.points.length, 5);
    assert.ok(s.events.includes('new-store-error'));
    const split = await s.router.read('test', q(2, 10));
    assert.equal(split.servedBy, 'old');
    assert.deepEqual(
      split.parts.map((p) => p.store),
      ['old', 'old'],
    );
    assert.equal(split.points.length, 9);
  });

  it('records a failing or slow candidate without failing or delaying the served query', async () => {
    const failing = await setup({ sciencePercent: 100 }, { readSeries: () => Promise.reject(new Error('dynamodb down')) });
    assert.equal((await failing.router.read('test', q(0, 19))).points.length, 20);
    const slow = await setup({ sciencePercent: 100 }, { readSeries: () => new Promise<MetricPoint[]>((r) => setTimeout(() => r([]), 1000)) });
    const t0 = performance.now();
    await slow.router.read('test', q(0, 19));
    assert.ok(performance.now() - t0 < 100, 'the served read did not wait for the candidate');
    await failing.router.settled();
    await slow.router.settled();
    assert.ok(failing.events.includes('candidate:error'));
    assert.ok(slow.events.includes('candidate:timeout'));
  });

  it('records a failing or slow shadow read of the old store in cutover as the old store\u2019s, not the new store\u2019s', async () => {
    const failing = await setup({ cutoverPercent: 100 }, undefined, { readSeries: () => Promise.reject(new Error('cassandra down')) });
    const served = await failing.router.read('test', q(6, 10));
    assert.equal(served.servedBy, 'new');
    const slow = await setup({ cutoverPercent: 100 }, undefined, { readSeries: () => new Promise<MetricPoint[]>((r) => setTimeout(() => r([]), 1000)) });
    await slow.router.read('test', q(6, 10));
    await failing.router.settled();
    await slow.router.settled();
    assert.ok(failing.events.includes('candidate:error:old'), failing.events.join(' '));
    assert.ok(slow.events.includes('candidate:timeout:old'), slow.events.join(' '));
    assert.ok(!failing.events.includes('candidate:error') && !slow.events.includes('candidate:timeout'));
  });

  it('serves only the new store once the old one is decommissioned', async () => {
    const s = await setup({ oldStoreAvailable: false, cutoverPercent: 100 });
    const r = await s.router.read('test', q(0, 19));
    assert.equal(r.servedBy, 'new');
    assert.equal(r.points.length, 15);
  });

  it('does not count a minute the new store has not written yet, moments after it closed, as missing', async () => {
    const s = await setup({ sciencePercent: 100 });
    // Minute 29 ended 0 s ago (now is minute 30): the old store's writer was a moment faster.
    await s.oldStore.writePoints([pt(29)]);
    await s.router.read('test', q(20, 29));
    await s.router.settled();
    assert.deepEqual(s.comparisons[0]!.mismatches, []);
  });

  it('judges expiry as of the read, not as of the end of a slow candidate', async () => {
    const s = await setup({ sciencePercent: 100, retentionMs: 25 * M + 500 });
    // Minute 5 expires 500 ms after the read; the candidate's result is compared 1 s later.
    let clock = NOW;
    const router = new ReadRouter({
      stores: () => ({ old: s.oldStore, new: s.newStore }),
      control: () => ({ ...initialControlState('test', 25 * M + 500), coverageHorizon: T + 5 * M, sciencePercent: 100 }),
      recorder: s.sink,
      candidates: new CandidateRunner(8, 100),
      random: () => 0.5,
      now: () => (clock += 1000) - 1000,
    });
    await router.read('test', q(5, 19));
    await router.settled();
    assert.equal(s.comparisons[0]!.mismatches.length, 0, JSON.stringify(s.comparisons[0]!.mismatches.map((m) => m.kind)));
  });

  it('catches a corrupted new store', async () => {
    const s = await setup({ sciencePercent: 100 });
    await s.newStore.writePoints([pt(7, { p99: 3.5 })]);
    await s.router.read('test', q(0, 19));
    await s.router.settled();
    assert.deepEqual(
      s.comparisons[0]!.mismatches.map((m) => [m.kind, m.fields]),
      [['value_drift', ['p99']]],
    );
  });
});

/** A router in cutover 100 % whose new store's writer is proven only up to `edge` (minute index, or null: never proven). */
async function fenced(edge: number | null, state: Partial<ControlState> = {}) {
  const s = await setup({ sciencePercent: 100, cutoverPercent: 100, ...state });
  const watched: string[] = [];
  const progress: WriterProgress = {
    watch: (env) => void watched.push(env),
    passed: () => false,
    freshEdge: () => (edge === null ? null : T + edge * M),
    behindMs: () => 34_000,
    close: async () => undefined,
  };
  const router = new ReadRouter({
    stores: () => ({ old: s.oldStore, new: s.newStore }),
    control: () => ({ ...initialControlState('test', 86_400_000), coverageHorizon: T + 5 * M, sciencePercent: 100, cutoverPercent: 100, ...state }),
    recorder: s.sink,
    candidates: new CandidateRunner(8, 100),
    random: () => 0.5,
    now: () => NOW,
    progress,
  });
  return { ...s, router, watched };
}

describe('read router: the fresh end while the old store is still written', () => {
  it('serves the new store only up to its writer\u2019s proven edge and the newer minutes from the old store, stitched exactly', async () => {
    const s = await fenced(16);
    // The new store's writer is behind: it has not written minutes 17..19, which the old store has.
    await s.newStore.deletePoints([17, 18, 19].map((m) => ({ app: 'a', metric: 'router.service_ms', minute: T + m * M })));
    const r = await s.router.read('test', q(2, 19));
    assert.equal(r.servedBy, 'split');
    assert.deepEqual(r.parts, [
      { store: 'old', fromMinute: T + 2 * M, toMinute: T + 4 * M, kind: 'before_horizon' },
      { store: 'new', fromMinute: T + 5 * M, toMinute: T + 16 * M, kind: 'covered' },
      { store: 'old', fromMinute: T + 17 * M, toMinute: T + 19 * M, kind: 'fresh' },
    ]);
    assert.deepEqual(
      r.points.map((p) => (p.minute - T) / M),
      Array.from({ length: 18 }, (_, i) => i + 2),
      'every minute the old store has, once each, in minute order',
    );
    assert.ok(s.events.includes('fresh-split:test'), 'counted as a fresh-end split');
    assert.deepEqual(s.watched.slice(0, 1), ['test'], 'keeps the writer progress polled');
    await s.router.settled();
    assert.deepEqual(
      s.comparisons.map((c) => [c.compared, c.mismatches.length]),
      [[12, 0]],
      'only the minutes served by the new store (5..16) are compared: the fresh end is not judged',
    );
  });

  it('takes a fresh minute only the new store holds yet (the old store\u2019s writer is behind), and prefers the old store\u2019s where both have it', async () => {
    const s = await fenced(16);
    await s.oldStore.deletePoints([{ app: 'a', metric: 'router.service_ms', minute: T + 19 * M }]);
    await s.newStore.writePoints([pt(18, { p99: 99 })]);
    const r = await s.router.read('test', q(10, 19));
    assert.deepEqual(
      r.points.map((p) => [(p.minute - T) / M, p.p99]),
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map((m) => [m, 3]),
      'minute 19 from the new store, minute 18 the old store\u2019s value',
    );
    assert.ok(!s.events.includes('fresh-split:test'), 'no hole was kept out: the new store had every fresh minute the old one had');
  });

  it('serves from the old store whole until the new store\u2019s writer has proven anything', async () => {
    const s = await fenced(null);
    const r = await s.router.read('test', q(6, 19));
    assert.equal(r.servedBy, 'old');
    assert.equal(r.points.length, 14);
    assert.deepEqual(
      s.events.filter((e) => e.startsWith('served:')),
      ['served:old'],
    );
  });

  it('no fence once the old store is no longer written: the new store serves, and says how far behind its writer is', async () => {
    const s = await fenced(16, { oldWriter: false });
    const r = await s.router.read('test', q(6, 19));
    assert.equal(r.servedBy, 'new');
    assert.deepEqual(r.newWriter, { behindMs: 34_000, freshEdge: T + 16 * M });
  });
});

describe('read router with cohorts', () => {
  it('routes each app by its cohort\u2019s percents and counts what it records for the environment and the cohort', async () => {
    const opts = { env: 'test', retentionMs: 86_400_000, now: () => NOW };
    const oldStore = new MemoryMetricStore(opts);
    const newStore = new MemoryMetricStore(opts);
    for (const app of ['app-0001', 'app-0003']) {
      const points = Array.from({ length: 20 }, (_, i) => pt(i, { app }));
      await oldStore.writePoints(points);
      await newStore.writePoints(points.filter((p) => p.minute >= T + 5 * M));
    }
    const scopes: string[] = [];
    const sink: ScienceSink = {
      recordServed: (e, store) => void scopes.push(`served:${store}:${e}`),
      recordSplit: () => undefined,
      recordFreshSplit: () => undefined,
      recordShadowLatency: (e, store) => void scopes.push(`shadow:${store}:${e}`),
      recordCandidateFailure: () => undefined,
      recordNewStoreError: () => undefined,
      recordSkipped: () => undefined,
      recordComparison: (e) => void scopes.push(`compared:${e}`),
    };
    // The environment says science 100 %; the cohorts say otherwise for their apps.
    const control: ControlState = {
      ...initialControlState('test', 86_400_000),
      coverageHorizon: T + 5 * M,
      sciencePercent: 100,
      cohorts: [
        { name: 'internal', apps: ['app-0001'], sciencePercent: 100, cutoverPercent: 100 },
        { name: 'everyone-else', sciencePercent: 0, cutoverPercent: 0 },
      ],
    };
    const router = new ReadRouter({
      stores: () => ({ old: oldStore, new: newStore }),
      control: () => control,
      recorder: sink,
      candidates: new CandidateRunner(8, 100),
      random: () => 0.5,
      now: () => NOW,
    });
    const read = (app: string) => router.read('test', { app, metric: 'router.service_ms', fromMinute: T + 6 * M, toMinute: T + 10 * M });
    const internal = await read('app-0001');
    const other = await read('app-0003');
    await router.settled();
    assert.deepEqual([internal.servedBy, internal.cohort], ['new', 'internal'], 'cohort 1 is cut over: the new store serves it');
    assert.deepEqual([other.servedBy, other.cohort, other.compared], ['old', 'everyone-else', false], 'everyone else: old store, not even compared');
    assert.deepEqual(scopes.sort(), ['compared:test#internal', 'served:new:test#internal', 'served:old:test#everyone-else', 'shadow:old:test#internal']);
    // A state without cohorts (published before them) routes every app by the environment's percents.
    delete control.cohorts;
    const plain = await read('app-0003');
    assert.deepEqual([plain.servedBy, plain.cohort, plain.compared], ['old', undefined, true]);
  });
});
