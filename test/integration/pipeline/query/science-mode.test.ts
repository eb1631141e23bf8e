import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { createDynamoClient, createKafka } from '../../../../config/clients.js';
import { initialControlState, type ControlState } from '../../../../control/index.js';
import { publishAndAwait } from '../../../../control/publisher.js';
import { sendObservations } from '../../../../tools/generator/observation-sender.js';
import { generateWorkload, type WorkloadOptions } from '../../../../tools/generator/workload.js';
import { MINUTE_MS } from '../../../../contract/index.js';
import { minuteOf } from '../../../../pipeline/kernel/model/metric-point.js';
import { faultFor } from '../../../../pipeline/jobs/writer/fault-injector.js';
import { readMismatchSamples, readScienceSummary } from '../../../../pipeline/kernel/science/science-stats-reader.js';
import { envTopics } from '../../../../pipeline/kernel/topics.js';
import { testConfig } from '../../../support/stack.js';
import {
  batchCompute,
  dropEnv,
  launchPipeline,
  openStores,
  queryPort,
  queryProcess,
  testEnv,
  waitForStores,
  type PipelineProcess,
} from '../../../support/pipeline.js';

// Science mode on the real stack: identical data gives zero mismatches, minutes before the
// coverage horizon never count, and the fault switch's corruption shows up in the stats table
// with samples of both results.
const cfg = testConfig();

describe('science mode', () => {
  const env = testEnv('sci');
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'test-science' });
  const dynamo = createDynamoClient(cfg);
  let producer: Producer;
  let state: ControlState;
  let port: number;
  const base = Math.floor((Date.now() - 20 * 60_000) / MINUTE_MS) * MINUTE_MS;

  const publish = async (patch: Partial<ControlState>): Promise<void> => {
    state = { ...state, ...patch, version: state.version + 1, updatedAt: new Date().toISOString(), updatedBy: 'test', reason: 'test' };
    const r = await publishAndAwait({ kafka, producer }, state, { timeoutMs: 20_000 });
    assert.ok(r.acknowledged.length >= 3, `writers and the query service acknowledged v${state.version}: ${r.acknowledged.map((h) => h.role).join(', ')}`);
  };
  const send = async (w: WorkloadOptions): Promise<void> => {
    // 2000/s keeps each send's slice of (compressed) event time well inside the allowed lateness.
    await sendObservations(producer, generateWorkload(w), { topic: envTopics(env).observations, ratePerSec: 2000 });
  };
  const query = async (
    app: string,
    metric: string,
    from: number,
    to: number,
  ): Promise<{ status: number; servedBy: string | null; points: { time: number }[] }> => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/envs/${env}/apps/${app}/metrics/${metric}?from=${from}&to=${to}`);
    const body = (await res.json()) as { points: { time: number }[] };
    return { status: res.status, servedBy: res.headers.get('x-switchyard-served-by'), points: body.points };
  };

  before(async () => {
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const launched = await launchPipeline(cfg, env, { writerMode: 'follow' });
    procs.push(...launched.all);
    const q = queryProcess(`${env}-query`, env).start();
    procs.push(q);
    port = await queryPort(q);
    state = initialControlState(env, 7 * 86_400_000);
  });
  after(async () => {
    await producer.disconnect();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  it('compares identical data with zero mismatches and ignores minutes before the horizon', async () => {
    // Phase 1: old store only (minutes 0-5). Phase 2: dual write from minute 7, horizon at minute 8.
    await publish({ oldWriter: true, newWriter: false });
    const phase1: WorkloadOptions = { seed: 1, apps: 4, metrics: ['router.service_ms'], count: 4000, startTime: base, spanMs: 6 * MINUTE_MS - 1 };
    await send(phase1);
    const stores = openStores(cfg, env);
    try {
      await waitForStores({ cassandra: stores.cassandra, dynamodb: stores.cassandra }, batchCompute(generateWorkload(phase1)), 60_000);
      await publish({ newWriter: true, coverageHorizon: base + 8 * MINUTE_MS });
      const phase2: WorkloadOptions = {
        seed: 2,
        apps: 4,
        metrics: ['router.service_ms'],
        count: 4000,
        startTime: base + 7 * MINUTE_MS,
        spanMs: 5 * MINUTE_MS - 1,
      };
      await send(phase2);
      await waitForStores(stores, batchCompute(generateWorkload(phase2)), 60_000);
    } finally {
      await stores.close();
    }

    await publish({ sciencePercent: 100 });
    const started = Date.now();
    for (let i = 1; i <= 4; i++) {
      const r = await query(`app-000${i}`, 'router.service_ms', base, base + 12 * MINUTE_MS);
      assert.equal(r.status, 200);
      assert.equal(r.servedBy, 'old');
      assert.ok(
        r.points.some((p) => p.time < base + 6 * MINUTE_MS),
        'the old store serves the whole range, before the horizon too',
      );
    }
    await sleep(2000);
    const summary = await readScienceSummary(dynamo, env, Date.now() - started + 2 * MINUTE_MS);
    assert.equal(summary.counters.comparisons, 4, JSON.stringify(summary.counters));
    assert.equal(summary.counters.mismatches, 0, 'identical data after the horizon, and nothing before it counted');
    assert.equal(summary.counters.servedOld, 4);
  });

  it('catches the fault switch: mismatches in the stats table, with samples of both results', async () => {
    await publish({ faults: { newWriterCorruptionRate: 0.5 } });
    const phase3: WorkloadOptions = {
      seed: 3,
      apps: 4,
      metrics: ['router.service_ms'],
      count: 4000,
      startTime: base + 13 * MINUTE_MS,
      spanMs: 4 * MINUTE_MS - 1,
    };
    await send(phase3);
    await sleep(8000);
    const started = Date.now();
    for (let i = 1; i <= 4; i++) {
      const r = await query(`app-000${i}`, 'router.service_ms', base + 13 * MINUTE_MS, base + 17 * MINUTE_MS);
      assert.equal(r.status, 200);
    }
    await sleep(2000);
    const summary = await readScienceSummary(dynamo, env, Date.now() - started + 2 * MINUTE_MS);
    assert.ok(summary.counters.mismatches >= 1, `mismatches recorded: ${JSON.stringify(summary.counters)}`);
    assert.ok(summary.mismatchRate > 0);
    const samples = await readMismatchSamples(dynamo, env, summary.fromMinute, summary.toMinute);
    assert.ok(samples.length >= 1);
    const detail = JSON.parse(samples[0]!.detail) as { mismatches: { kind: string; old?: unknown; new?: unknown }[] };
    assert.ok(detail.mismatches.length >= 1);
    assert.ok(
      detail.mismatches.some((m) => m.old !== undefined || m.new !== undefined),
      'a sample shows the results side by side',
    );
    assert.ok(samples[0]!.kinds.every((k) => ['missing', 'extra', 'value_drift', 'expired_returned'].includes(k)));
    await publish({ faults: { newWriterCorruptionRate: 0 } });
  });

  it('judges a just-closed minute the new store lacks as missing once its writer is proven past it, not after the settle time', async () => {
    // Every point the new writer writes is corrupted; the app is chosen so that its point of
    // this minute is the kind that is never written there (a swallowed write error).
    await publish({ faults: { newWriterCorruptionRate: 1 } });
    if (Date.now() % MINUTE_MS > 35_000) await sleep(MINUTE_MS - (Date.now() % MINUTE_MS) + 500);
    const m = minuteOf(Date.now());
    const metric = 'router.service_ms';
    const app = Array.from({ length: 500 }, (_, i) => `fresh-${i}`).find(
      (a) => faultFor({ app: a, metric, minute: m, count: 1, min: 0, max: 0, sum: 0, median: 0, p95: 0, p99: 0 }, 1) === 'dropped',
    )!;
    // Observations of this minute, then one 130 s later on the same partition (the pipeline's
    // allowed lateness is 60 s): the watermark passes the minute's end at once, so it is published
    // now, long before its settle time is over.
    await sendObservations(
      producer,
      [...Array.from({ length: 20 }, (_, i) => ({ app, metric, value: 10 + i, time: m + 1000 + i })), { app, metric, value: 5, time: m + 130_000 }],
      { topic: envTopics(env).observations, ratePerSec: 2000 },
    );
    const judgedOnProof = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/switchyard_query_one_sided_rechecks\{[^}]*state="judged_on_proof"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const missingSoFar = async (): Promise<number> => (await readScienceSummary(dynamo, env, 3 * MINUTE_MS)).counters.mmMissing;
    const [judgedBefore, missingBefore] = [await judgedOnProof(), await missingSoFar()];
    let served = false;
    for (let i = 0; i < 40 && !served; i++) {
      const r = await query(app, metric, m - 5 * MINUTE_MS, m + MINUTE_MS - 1);
      served = r.points.some((p) => p.time === m);
      if (!served) await sleep(500);
    }
    assert.ok(served, 'the old store serves the closed minute');
    const seenAt = Date.now();
    let judged = 0;
    let missing = 0;
    while (Date.now() < m + MINUTE_MS + 25_000) {
      judged = (await judgedOnProof()) - judgedBefore;
      missing = (await missingSoFar()) - missingBefore;
      if (judged >= 1 && missing >= 1) break;
      await sleep(500);
    }
    const note = `minute ${new Date(m).toISOString()} first served ${seenAt - m} ms after it began; judged missing on proof ${Date.now() - seenAt} ms later (settle time would end ${m + MINUTE_MS + 30_000 - seenAt} ms later); ${judged} judged on proof, ${missing} missing`;
    console.log(note);
    assert.ok(judged >= 1, `judged on proof of the writer's progress: ${note}`);
    assert.ok(missing >= 1, `a missing minute recorded while the settle time still ran: ${note}`);
    await publish({ faults: { newWriterCorruptionRate: 0 } });
  });

  it('rejects bad read API parameters with clear 4xx errors', async () => {
    const bad = async (path: string): Promise<[number, string]> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return [res.status, await res.text()];
    };
    const [s1, b1] = await bad(`/v1/envs/${env}/apps/app-0001/metrics/router.service_ms?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`);
    assert.equal(s1, 400);
    assert.match(b1, /is after to/);
    const [s2, b2] = await bad(`/v1/envs/${env}/apps/app-0001/metrics/router.service_ms?stats=p42`);
    assert.equal(s2, 400);
    assert.match(b2, /unknown stats p42/);
    const [s3, b3] = await bad('/v1/envs/nope/apps/app-0001/metrics/router.service_ms');
    assert.equal(s3, 404);
    assert.match(b3, /unknown environment 'nope'/);
    const [s4] = await bad('/healthz');
    assert.equal(s4, 200);
  });
});
