import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Producer } from 'kafkajs';
import { createDynamoClient, createKafka } from '../../../../config/clients.js';
import { initialControlState, type ControlState } from '../../../../control/index.js';
import { publishAndAwait } from '../../../../control/publisher.js';
import { MINUTE_MS } from '../../../../contract/index.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { runReadTraffic } from '../../../../tools/generator/read-traffic.js';
import { readScienceSummary } from '../../../../pipeline/kernel/science/science-stats-reader.js';
import { createMetricStore } from '../../../../pipeline/kernel/stores/create-metric-store.js';
import { dynamoTableFor, seriesKey } from '../../../../pipeline/kernel/stores/dynamodb-store.js';
import { testConfig } from '../../../support/stack.js';
import { dropEnv, openStores, queryPort, queryProcess, testEnv, type PipelineProcess } from '../../../support/pipeline.js';

// Cutover routing on the real stores: queries within coverage are served by the new store,
// queries reaching before the horizon are split (the old store serves the minutes before it, the
// new store the rest) and compare without false mismatches, every query is clipped to retention,
// and items past retention that DynamoDB still holds are never served or counted as matches.
const cfg = testConfig();

describe('cutover routing', () => {
  const env = testEnv('cut');
  const kafka = createKafka(cfg, { clientId: 'test-cutover' });
  const dynamo = createDynamoClient(cfg);
  const now = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  const ago = (m: number): number => now - m * MINUTE_MS;
  let producer: Producer;
  let q: PipelineProcess;
  let port: number;
  let state: ControlState;
  const point = (app: string, minute: number): MetricPoint => {
    const v = (minute / MINUTE_MS) % 97;
    return { app, metric: 'router.service_ms', minute, count: 10, min: 1, max: v + 50, sum: v * 10 + 0.1, median: v + 0.5, p95: v + 40, p99: v + 49 };
  };
  const range = (from: number, to: number): number[] => Array.from({ length: from - to + 1 }, (_, i) => ago(from - i));
  const publish = async (patch: Partial<ControlState>): Promise<void> => {
    state = { ...state, ...patch, version: state.version + 1, updatedAt: new Date().toISOString(), updatedBy: 'test', reason: 'test' };
    await publishAndAwait({ kafka, producer }, state, { timeoutMs: 20_000 });
  };
  const get = async (app: string, from: number, to: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/envs/${env}/apps/${app}/metrics/router.service_ms?from=${from}&to=${to}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { points: { time: number; p99: number }[] };
    return { servedBy: res.headers.get('x-switchyard-served-by'), minutes: body.points.map((p) => p.time), points: body.points };
  };

  before(async () => {
    producer = kafka.producer();
    await producer.connect();
    // Points as the writers would have stored them (7-day retention), written directly.
    const stores = openStores(cfg, env);
    await stores.cassandra.ensureSchema();
    await stores.dynamodb.ensureSchema();
    await stores.cassandra.writePoints(range(40, 5).map((m) => point('cut-app', m)));
    await stores.dynamodb.writePoints(range(20, 5).map((m) => point('cut-app', m))); // dual write began 20 minutes ago
    await stores.cassandra.writePoints(range(80, 5).map((m) => point('exp-app', m)));
    await stores.close();
    // exp-app in DynamoDB with a one-hour retention, written two hours ago: its older items'
    // expiresAt has passed, but dynalite (like DynamoDB, for a while) still holds them.
    const writtenEarlier = createMetricStore('dynamodb', {
      env,
      retentionMs: 3_600_000,
      now: () => now - 120 * MINUTE_MS,
      dynamoClient: createDynamoClient(cfg),
    });
    const w = await writtenEarlier.writePoints(range(80, 5).map((m) => point('exp-app', m)));
    assert.equal(w.written, 76);
    await writtenEarlier.close();
    // The query service keeps one hour: minutes older than that are expired.
    q = queryProcess(`${env}-query`, env, ['--retention', '60m']).start();
    port = await queryPort(q);
    // No writer runs here (the points are written directly), so neither writer can be proven to
    // have written any minute: while the old store is still written, cutover serves the fresh end
    // from it (the first test below). The routing tests after it are about the horizon and
    // retention, with the old store no longer written (the new store serves its whole part).
    state = { ...initialControlState(env, 3_600_000), newWriter: true };
  });
  after(async () => {
    await producer.disconnect();
    await q.stop('SIGKILL');
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  it('serves queries within coverage from the new store, and splits queries reaching before the horizon', async () => {
    await publish({ sciencePercent: 100, cutoverPercent: 100, coverageHorizon: ago(20), oldWriter: false });
    const started = Date.now();
    const inside = await get('cut-app', ago(15), now);
    assert.equal(inside.servedBy, 'new');
    assert.deepEqual(inside.minutes, range(15, 5));
    const reaching = await get('cut-app', ago(40), now);
    assert.equal(reaching.servedBy, 'split');
    assert.deepEqual(reaching.minutes, range(40, 5), 'complete history, although the new store starts at the horizon');
    // A dashboard's 6-hour range is clipped to the hour of retention first, then split the same way.
    const sixHours = await get('cut-app', ago(360), now);
    assert.equal(sixHours.servedBy, 'split');
    assert.deepEqual(sixHours.minutes, range(40, 5));
    // The service flushes science stats in batches (every 2 s) and the second read's comparison
    // may finish after a flush: wait for both comparisons (or 15 s) instead of a fixed sleep.
    // A comparison whose shadow read timed out or failed on a busy machine is counted as such; in
    // cutover the shadow read is the old store's (CI saw one time out under load).
    const judged = (c: typeof s.counters): number => c.comparisons + c.candidateTimeouts + c.candidateErrors + c.oldShadowTimeouts + c.oldShadowErrors;
    let s = await readScienceSummary(dynamo, env, Date.now() - started + 2 * MINUTE_MS);
    for (const deadline = Date.now() + 30_000; judged(s.counters) < 3 && Date.now() < deadline;) {
      await sleep(500);
      s = await readScienceSummary(dynamo, env, Date.now() - started + 2 * MINUTE_MS);
    }
    assert.equal(s.counters.servedNew, 3, 'the new store served every query from the horizon on');
    assert.equal(s.counters.servedOld, 2, 'the old store served only the two parts before the horizon');
    assert.equal(s.counters.queries, 3, 'a split query is one query');
    assert.equal(judged(s.counters), 3, `each served new part is compared with the old store: ${JSON.stringify(s.counters)}`);
    assert.ok(s.counters.comparisons >= 1, 'at least one comparison completed');
    assert.equal(s.counters.mismatches, 0, 'no false mismatch for the minutes before the horizon');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const served = (store: string, part: string): number =>
      Number(new RegExp(`switchyard_query_served_total\\{env="${env}",store="${store}",part="${part}"[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.deepEqual([served('new', 'whole'), served('new', 'split'), served('old', 'split'), served('old', 'whole')], [1, 2, 2, 0], metrics);
  });

  it('never serves, or counts as a match, an item past retention that DynamoDB still holds', async () => {
    await publish({ coverageHorizon: ago(120) });
    const started = Date.now();
    const before = await readScienceSummary(dynamo, env, 10 * MINUTE_MS);
    // Retention is judged at query time: a minute expires an hour after it starts. The file may
    // have begun in an earlier wall-clock minute than this query, so expect by the query's time.
    const askedAt = Date.now();
    const r = await get('exp-app', ago(100), now);
    assert.equal(r.servedBy, 'new');
    assert.deepEqual(
      r.minutes,
      range(80, 5).filter((m) => m + 60 * MINUTE_MS > askedAt),
      'minutes older than the hour of retention are not served',
    );
    assert.ok(r.minutes.length >= 54, 'most of the hour is served');
    // dynalite never deletes expired items (nor does DynamoDB, for a while): the item is still there.
    const raw = await dynamo.send(
      new GetItemCommand({ TableName: dynamoTableFor(env), Key: { series: { S: seriesKey('exp-app', 'router.service_ms') }, minute: { N: String(ago(70)) } } }),
    );
    assert.ok(raw.Item, 'the expired item is still stored');
    await sleep(1500);
    const s = await readScienceSummary(dynamo, env, 10 * MINUTE_MS);
    assert.ok(Date.now() - started < 5 * MINUTE_MS);
    assert.equal(s.counters.comparisons - before.counters.comparisons, 1);
    assert.equal(s.counters.matches - before.counters.matches, 1, 'the unexpired minutes match; the expired ones are in neither result');
    assert.equal(s.counters.mismatches - before.counters.mismatches, 0);
  });

  it('takes dashboard-like read traffic and reports latencies and errors', async () => {
    const summary = await runReadTraffic({
      baseUrl: `http://127.0.0.1:${port}`,
      env,
      apps: 3,
      metrics: ['router.service_ms'],
      ratePerSec: 40,
      durationMs: 2000,
      seed: 5,
    });
    assert.ok(summary.queries >= 60, `${summary.queries} queries in 2 s at 40/s`);
    assert.equal(summary.errors, 0, JSON.stringify(summary.errorsByStatus));
    assert.ok(summary.p99Ms > 0 && summary.p99Ms >= summary.p50Ms);
    assert.equal(
      Object.values(summary.servedBy).reduce((a, b) => a + b, 0),
      summary.queries,
    );
    assert.deepEqual(
      Object.keys(summary.servedBy),
      ['new'],
      `at cutover 100% with coverage past retention the new store serves every range: ${JSON.stringify(summary.servedBy)}`,
    );
  });
  it('while the old store is still written, serves nothing from the new store past what its writer is proven to have written', async () => {
    await publish({ sciencePercent: 100, cutoverPercent: 100, coverageHorizon: ago(20), oldWriter: true });
    const res = await fetch(`http://127.0.0.1:${port}/v1/envs/${env}/apps/cut-app/metrics/router.service_ms?from=${ago(15)}&to=${now}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-switchyard-served-by'), 'old', 'no writer is proven past any minute: the old store serves');
    const body = (await res.json()) as { points: { time: number }[] };
    assert.deepEqual(
      body.points.map((p) => p.time),
      range(15, 5),
      'every minute the old store has',
    );
  });
});
