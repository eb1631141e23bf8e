import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { initialControlState, type ControlState } from '../../../../control/index.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { CandidateRunner } from '../../../../pipeline/jobs/query/candidate-runner.js';
import { ReadRouter } from '../../../../pipeline/jobs/query/read-router.js';
import { closedThrough, KafkaWriterProgress, type StoreSide, type WriterProgress } from '../../../../pipeline/kernel/observability/writer-progress.js';
import type { Comparison } from '../../../../pipeline/kernel/science/compare.js';
import type { ScienceSink } from '../../../../pipeline/jobs/query/science-recorder.js';
import { MemoryMetricStore } from '../../../../pipeline/kernel/stores/memory-store.js';

const M = 60_000;
const T = Date.parse('2026-11-26T10:00:00Z');
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
const q = (from: number, to: number) => ({ app: 'a', metric: 'router.service_ms', fromMinute: T + from * M, toMinute: T + to * M });

/** Writer progress set by hand: each side proven through a time. */
function manualProgress() {
  const through: Record<StoreSide, number> = { old: -Infinity, new: -Infinity };
  const watched: string[] = [];
  const progress: WriterProgress = {
    watch: (env) => void watched.push(env),
    passed: (_env, side, at) => through[side] >= at,
    freshEdge: () => null,
    behindMs: () => null,
    close: async () => undefined,
  };
  return { progress, through, watched };
}

async function setup() {
  // Now: 20 s after minute 10 ended; minute 10 is fresh (settle 30 s), minutes before are not.
  let now = T + 11 * M + 20_000;
  const clock = () => now;
  const opts = { env: 'test', retentionMs: 86_400_000, now: clock };
  const oldStore = new MemoryMetricStore(opts);
  const newStore = new MemoryMetricStore(opts);
  await oldStore.writePoints(Array.from({ length: 11 }, (_, i) => pt(i)));
  await newStore.writePoints(Array.from({ length: 10 }, (_, i) => pt(i))); // minute 10 not (yet) in the new store
  const comparisons: (Pick<Comparison, 'compared' | 'matched' | 'mismatches'> & { unjudged?: number })[] = [];
  const sink: ScienceSink = {
    recordServed: () => undefined,
    recordSplit: () => undefined,
    recordFreshSplit: () => undefined,
    recordShadowLatency: () => undefined,
    recordCandidateFailure: () => undefined,
    recordNewStoreError: () => undefined,
    recordSkipped: () => undefined,
    recordComparison: (_e, _q, c) => void comparisons.push(c),
  };
  const control: ControlState = { ...initialControlState('test', 86_400_000), coverageHorizon: T, sciencePercent: 100 };
  const p = manualProgress();
  const router = new ReadRouter({
    stores: () => ({ old: oldStore, new: newStore }),
    control: () => control,
    recorder: sink,
    candidates: new CandidateRunner(8, 1000),
    random: () => 0,
    now: clock,
    settleMs: 30_000,
    progress: p.progress,
  });
  const rechecks = (router as unknown as { rechecks: { tick(): void } }).rechecks;
  const tick = async () => {
    rechecks.tick();
    await router.settled();
  };
  return { router, oldStore, newStore, comparisons, ...p, tick, advance: (ms: number) => (now += ms), clock };
}

describe('one-sided rechecks', () => {
  it('judges a fresh minute missing as soon as the other writer is proven past the read, and records the read once', async () => {
    const s = await setup();
    await s.router.read('test', q(0, 10));
    await s.router.settled();
    assert.equal(s.comparisons.length, 0, 'held: minute 10 is only in the old store and fresh');
    assert.equal(s.router.rechecksWaiting, 1);
    assert.deepEqual(s.watched, ['test'], 'asks for proof of the writers\u2019 progress');
    await s.tick();
    assert.equal(s.comparisons.length, 0, 'no proof yet, settle time not over: still waiting');
    s.advance(1500);
    s.through.new = s.clock(); // the new store's writer has written everything appended before now
    await s.tick();
    assert.equal(s.comparisons.length, 1);
    assert.equal(s.comparisons[0]!.compared, 11);
    assert.deepEqual(
      s.comparisons[0]!.mismatches.map((m) => [m.kind, (m.minute - T) / M]),
      [['missing', 10]],
    );
    assert.equal(s.router.recheckStats?.judgedOnProof, 1);
  });

  it('matches when the lagging writer has written the minute by then', async () => {
    const s = await setup();
    await s.router.read('test', q(5, 10));
    await s.router.read('test', q(8, 10)); // a second read of the same fresh minute shares the re-read
    await s.router.settled();
    assert.equal(s.router.rechecksWaiting, 1);
    await s.newStore.writePoints([pt(10)]);
    s.through.new = s.clock() + 1;
    await s.tick();
    assert.deepEqual(
      s.comparisons.map((c) => [c.compared, c.matched, c.mismatches.length]),
      [
        [6, 6, 0],
        [3, 3, 0],
      ],
    );
  });

  it('proof about the read must postdate it: an older proof does not count', async () => {
    const s = await setup();
    s.through.new = s.clock() - 1;
    await s.router.read('test', q(9, 10));
    await s.router.settled();
    await s.tick();
    assert.equal(s.comparisons.length, 0);
  });

  it('never judges a minute the other writer has not been proven to reach, however long it waits: it counts as not judged', async () => {
    const s = await setup();
    await s.router.read('test', q(9, 10));
    await s.router.settled();
    // Past the minute's end plus 30 s (the old rule judged it missing then): still held.
    s.advance(29_000);
    await s.tick();
    assert.equal(s.comparisons.length, 0, 'still waiting for proof of the new store\u2019s writer');
    s.advance(1_001); // the hold time (30 s here) since it was seen is over: given up on, not judged
    await s.tick();
    assert.deepEqual(
      s.comparisons.map((c) => [c.compared, c.matched, c.mismatches.length, c.unjudged]),
      [[1, 1, 0, 1]],
      'minute 9 (in both stores) judged and matching; minute 10 not judged, and no mismatch',
    );
    assert.equal(s.router.recheckStats?.unjudged, 1);
    assert.equal(s.router.recheckStats?.judgedOnProof, 0);
  });

  it('a minute the writer reaches only after a long outage is judged then, on proof, as written', async () => {
    const s = await setup();
    await s.router.read('test', q(9, 10));
    await s.router.settled();
    s.advance(25_000); // the new store's writer was down: no proof for 25 s, past the minute's old settle time
    await s.tick();
    assert.equal(s.comparisons.length, 0);
    await s.newStore.writePoints([pt(10)]); // it restarts and writes the minute
    s.through.new = s.clock();
    await s.tick();
    assert.deepEqual(
      s.comparisons.map((c) => [c.compared, c.matched, c.mismatches.length, c.unjudged ?? 0]),
      [[2, 2, 0, 0]],
    );
  });

  it('an extra minute in the new store waits for the old writer', async () => {
    const s = await setup();
    await s.newStore.writePoints([pt(11, { count: 9 })]); // filed under the wrong minute
    s.advance(M);
    await s.oldStore.writePoints([pt(10)]);
    await s.newStore.writePoints([pt(10)]);
    await s.router.read('test', q(10, 11));
    await s.router.settled();
    s.through.new = Infinity;
    await s.tick();
    assert.equal(s.comparisons.length, 0, 'the new writer\u2019s progress says nothing about the old store');
    s.through.old = s.clock();
    await s.tick();
    assert.deepEqual(
      s.comparisons.map((c) => c.mismatches.map((m) => [m.kind, (m.minute - T) / M])),
      [[['extra', 11]]],
    );
  });

  it('close records what is held, with its one-sided minutes not judged', async () => {
    const s = await setup();
    await s.router.read('test', q(8, 10));
    await s.router.settled();
    await s.router.close();
    assert.deepEqual(
      s.comparisons.map((c) => [c.compared, c.mismatches.length, c.unjudged]),
      [[2, 0, 1]],
    );
    assert.equal(s.router.recheckStats?.dropped, 1);
  });
});

/** A fake admin with settable end offsets and committed offsets. */
function fakeAdmin() {
  const high = new Map<number, number>([
    [0, 10],
    [1, 5],
  ]);
  const committed: Record<string, Map<number, number>> = { 'g-old': new Map(), 'g-new': new Map() };
  const admin = {
    fetchTopicOffsets: async () => [...high].map(([partition, h]) => ({ partition, offset: String(h), high: String(h), low: '0' })),
    fetchOffsets: async ({ groupId }: { groupId: string }) => [
      {
        topic: 'test.metrics',
        partitions: [...high.keys()].map((partition) => ({ partition, offset: String(committed[groupId]!.get(partition) ?? -1), metadata: null })),
      },
    ],
  } as unknown as Admin;
  return { admin, high, committed };
}

describe('writer progress from Kafka offsets', () => {
  it('proves a writer past the time of an end-offset sample once its commits reach those ends on every partition', async () => {
    let now = 1000;
    const f = fakeAdmin();
    const p = new KafkaWriterProgress({ admin: f.admin, topic: (env) => `${env}.metrics`, groups: () => ({ old: 'g-old', new: 'g-new' }), now: () => now });
    await p.poll('test');
    assert.equal(p.passed('test', 'old', 1000), false, 'nothing committed yet');
    f.committed['g-old']!.set(0, 10);
    now = 2000;
    f.high.set(0, 12); // more records after the first sample
    await p.poll('test');
    assert.equal(p.passed('test', 'old', 1000), false, 'partition 1 not written yet');
    f.committed['g-old']!.set(1, 5);
    now = 3000;
    await p.poll('test');
    assert.equal(p.passed('test', 'old', 1000), true, 'every record appended before t=1000 is written');
    assert.equal(p.passed('test', 'old', 1001), false, 'but not those of the second sample (partition 0 ends at 12 there)');
    assert.equal(p.passed('test', 'new', 0), false, 'the other writer has shown nothing');
    f.committed['g-old']!.set(0, 12);
    now = 4000;
    await p.poll('test');
    assert.equal(p.passed('test', 'old', 3000), true, 'caught up: proven through the newest sample it reaches');
    assert.deepEqual(p.provenThrough('test'), { old: 4000, new: -Infinity });
  });

  it('keeps the proof it had when the offsets cannot be read', async () => {
    const f = fakeAdmin();
    f.committed['g-new']!.set(0, 10);
    f.committed['g-new']!.set(1, 5);
    const p = new KafkaWriterProgress({ admin: f.admin, topic: (env) => `${env}.metrics`, groups: () => ({ old: 'g-old', new: 'g-new' }), now: () => 500 });
    await p.poll('test');
    (f.admin as unknown as { fetchTopicOffsets: () => Promise<never> }).fetchTopicOffsets = () => Promise.reject(new Error('broker down'));
    await p.poll('test');
    assert.equal(p.passed('test', 'new', 500), true);
  });
});

describe('the fresh edge: the newest minute a store is proven to hold completely', () => {
  const cp = (w: number | null) => JSON.stringify({ v: 1, e: '10', m: w, w });

  it('is the newest minute every observation partition has closed, per the aggregator\u2019s checkpoints', () => {
    const minute = (i: number) => T + i * M;
    assert.equal(
      closedThrough([
        { high: 10, low: 0, committed: 10, metadata: cp(minute(5) + 10_000) }, // closed through minute 4
        { high: 7, low: 0, committed: 5, metadata: cp(minute(6)) }, // closed through minute 5
        { high: 0, low: 0, committed: -1, metadata: null }, // never held a message: bounds nothing
      ]),
      minute(4),
    );
    assert.equal(closedThrough([{ high: 3, low: 0, committed: -1, metadata: null }]), null, 'messages but no checkpoint yet: no edge');
    assert.equal(closedThrough([{ high: 3, low: 0, committed: 3, metadata: cp(null) }]), null, 'no watermark yet: no edge');
    assert.equal(closedThrough([]), null);
  });

  it('moves a writer\u2019s edge to a sample\u2019s closed minute once the writer has passed that sample', async () => {
    let now = T + 12 * M;
    const high = new Map([[0, 10]]);
    const committed: Record<string, number> = { 'g-old': -1, 'g-new': -1 };
    let aggregatorW = T + 11 * M + 5_000; // minutes up to 10 closed
    const admin = {
      fetchTopicOffsets: async (topic: string) =>
        topic === 'test.observations'
          ? [{ partition: 0, offset: '50', high: '50', low: '0' }]
          : [...high].map(([partition, h]) => ({ partition, offset: String(h), high: String(h), low: '0' })),
      fetchOffsets: async ({ groupId, topics }: { groupId: string; topics: string[] }) =>
        groupId === 'g-agg'
          ? [{ topic: topics[0], partitions: [{ partition: 0, offset: '48', metadata: cp(aggregatorW) }] }]
          : [{ topic: topics[0], partitions: [{ partition: 0, offset: String(committed[groupId]), metadata: null }] }],
    } as unknown as Admin;
    const p = new KafkaWriterProgress({
      admin,
      topic: (env) => `${env}.metrics`,
      groups: () => ({ old: 'g-old', new: 'g-new' }),
      aggregator: (env) => ({ group: 'g-agg', topic: `${env}.observations` }),
      now: () => now,
    });
    await p.poll('test');
    assert.equal(p.freshEdge('test', 'new'), null, 'nothing written yet');
    assert.equal(p.behindMs('test', 'new'), null);
    committed['g-old'] = 10;
    now += 500;
    await p.poll('test');
    assert.equal(p.freshEdge('test', 'old'), T + 10 * M, 'the old writer passed the first sample: minute 10 is complete there');
    assert.equal(p.freshEdge('test', 'new'), null, 'the new store\u2019s writer is behind: no edge');
    // Minute 11 closes and is published (2 more records); the new writer catches up only to 10.
    aggregatorW = T + 12 * M + 5_000;
    high.set(0, 12);
    committed['g-new'] = 10;
    now += 500;
    await p.poll('test');
    assert.equal(p.freshEdge('test', 'new'), T + 10 * M, 'proven through minute 10, not 11');
    assert.equal(p.behindMs('test', 'new'), 500, 'the newest sample it passed (the second) is half a second old');
    committed['g-new'] = 12;
    now += 500;
    await p.poll('test');
    assert.equal(p.freshEdge('test', 'new'), T + 11 * M);
  });
});
