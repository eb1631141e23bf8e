import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { initialControlState, type ControlState } from '../../../../control/index.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { CandidateRunner } from '../../../../pipeline/jobs/query/candidate-runner.js';
import { ReadRouter } from '../../../../pipeline/jobs/query/read-router.js';
import { startQueryService, type QueryServer } from '../../../../pipeline/jobs/query/query-service.js';
import type { ScienceSink } from '../../../../pipeline/jobs/query/science-recorder.js';
import { MemoryMetricStore } from '../../../../pipeline/kernel/stores/memory-store.js';
import type { MetricStore, SeriesQuery } from '../../../../pipeline/kernel/stores/metric-store.js';
import { createLogger } from '../../../../kit/logger.js';

// The served read never waits on its shadow: with science at 100 % and a candidate store that
// answers only after 2 s, or never, every response is written before anything of the candidate
// has run (not even its request), no response waits for it, and shadow reads stay under the cap
// (over it they are skipped, never queued).
const M = 60_000;
const NOW = Date.parse('2026-12-06T12:00:00Z');
const T = NOW - 30 * M;
const pt = (i: number): MetricPoint => ({
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
});

/** Everything that happened, in order: responses ended, candidate reads started and answered. */
const events: string[] = [];
const originalEnd = http.ServerResponse.prototype.end;

/** A candidate store whose reads answer after `delayMs` (never, when null). */
function slowStore(base: MetricStore, delayMs: number | null): MetricStore & { answered: number; started: number } {
  const s = Object.create(base) as MetricStore & { answered: number; started: number };
  s.answered = 0;
  s.started = 0;
  s.readSeries = (q: SeriesQuery) => {
    s.started++;
    events.push('candidate-start');
    if (delayMs === null) return new Promise<MetricPoint[]>(() => undefined);
    return new Promise<MetricPoint[]>((resolve) =>
      setTimeout(() => {
        s.answered++;
        events.push('candidate-answer');
        resolve(base.readSeries(q));
      }, delayMs),
    );
  };
  return s;
}

async function serve(candidateDelayMs: number | null, maxCandidates: number) {
  const opts = { env: 'test', retentionMs: 86_400_000, now: () => NOW };
  const oldStore = new MemoryMetricStore(opts);
  const newBase = new MemoryMetricStore(opts);
  await oldStore.writePoints(Array.from({ length: 20 }, (_, i) => pt(i)));
  await newBase.writePoints(Array.from({ length: 20 }, (_, i) => pt(i)));
  const newStore = slowStore(newBase, candidateDelayMs);
  let skipped = 0;
  let recorded = 0;
  const sink: ScienceSink = {
    recordServed: () => undefined,
    recordSplit: () => undefined,
    recordFreshSplit: () => undefined,
    recordShadowLatency: () => undefined,
    recordCandidateFailure: () => void recorded++,
    recordNewStoreError: () => undefined,
    recordSkipped: () => void skipped++,
    recordComparison: () => void recorded++,
  };
  const control: ControlState = { ...initialControlState('test', 86_400_000), coverageHorizon: T, sciencePercent: 100, newWriter: true };
  const candidates = new CandidateRunner(maxCandidates, 60_000);
  const router = new ReadRouter({ stores: () => ({ old: oldStore, new: newStore }), control: () => control, recorder: sink, candidates, now: () => NOW });
  const server: QueryServer = await startQueryService(
    { router, environments: ['test'], control: () => control, registry: new Registry(), logger: createLogger('test', 'silent'), now: () => NOW },
    0,
  );
  const get = async (): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/envs/test/apps/a/metrics/router.service_ms?from=${T}&to=${T + 19 * M}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { points: unknown[] };
    return body.points.length;
  };
  return { server, get, newStore, candidates, counts: () => ({ skipped, recorded }) };
}

describe('the served read never waits on its shadow', () => {
  http.ServerResponse.prototype.end = function (this: http.ServerResponse, ...args: Parameters<typeof originalEnd>) {
    if ((this.req?.url ?? '').startsWith('/v1/envs/test/apps')) events.push('response-end');
    return originalEnd.apply(this, args);
  } as typeof originalEnd;
  after(() => {
    http.ServerResponse.prototype.end = originalEnd;
  });

  it('with a candidate that answers after 2 s: every response is written before its candidate even starts, and none waits for it', async () => {
    events.length = 0;
    const s = await serve(2_000, 64);
    try {
      for (let i = 0; i < 10; i++) assert.equal(await s.get(), 20, 'the old store served the whole range');
      assert.equal(s.newStore.answered, 0, 'all ten answered while no candidate had answered yet: none waited for its shadow');
      assert.equal(s.newStore.started, 10, 'each read was compared (science at 100 %)');
      // Each candidate starts only after its own response was written.
      const order = events.filter((e) => e === 'response-end' || e === 'candidate-start');
      let ended = 0;
      let started = 0;
      for (const e of order) {
        if (e === 'response-end') ended++;
        else assert.ok(++started <= ended, `candidate ${started} started before response ${started} was written: ${order.join(', ')}`);
      }
    } finally {
      await s.server.close();
    }
  });

  it('with a candidate that never answers: responses keep coming, shadow reads stay under the cap, the rest are skipped, never queued', async () => {
    events.length = 0;
    const s = await serve(null, 4);
    try {
      for (let i = 0; i < 12; i++) assert.equal(await s.get(), 20);
      assert.equal(s.candidates.running, 4, 'four shadow reads hang, holding the four slots');
      assert.equal(s.newStore.started, 4, 'no more were started');
      assert.equal(s.counts().skipped, 8, 'the other eight samples were skipped');
    } finally {
      await s.server.close();
    }
  });
});
