import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Admin, Producer } from 'kafkajs';
import { readAudit } from '../../../audit/audit-log.js';
import { createCassandraClient, createDynamoClient, createKafka } from '../../../config/clients.js';
import { demoPolicy } from '../../../config/migration-policy.js';
import {
  DIFF_CLASSES,
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  REPAIR_WORKFLOW_TYPE,
  repairWorkflowId,
  STATE_QUERY_NAME,
  VERIFY_PROGRESS_QUERY,
  VERIFY_WORKFLOW_TYPE,
  verifyWorkflowId,
  type MigrationState,
  type MinuteRange,
  type RepairInput,
  type RepairReport,
  type VerifyInput,
  type VerifyReport,
  MINUTE_MS,
} from '../../../contract/index.js';
import { ensureControlTopics, initialControlState } from '../../../control/index.js';
import { publishControlState } from '../../../control/publisher.js';
import { encodeMetricPoint } from '../../../pipeline/kernel/codec/metric-point-codec.js';
import type { MetricPoint } from '../../../pipeline/kernel/model/metric-point.js';
import { createMetricStore } from '../../../pipeline/kernel/stores/create-metric-store.js';
import { dynamoTableFor, seriesKey } from '../../../pipeline/kernel/stores/dynamodb-store.js';
import { envTopics, ensureTopics, writerGroup } from '../../../pipeline/kernel/topics.js';
import { startControlWorker, temporalClient } from '../../support/migration-rig.js';
import { dropEnv, queryPort, queryProcess, testEnv, writerProcess, type PipelineProcess } from '../../support/pipeline.js';
import { testConfig } from '../../support/stack.js';

// Verify and repair on the real stack (Kafka, Cassandra, DynamoDB-compatible server, Temporal, the
// control worker as its own process). The environment is in science mode with its coverage
// horizon 90 minutes ago and a 60-minute retention: the test writes 48 minutes of points of 40
// series to both stores and to the metrics topic (stamped when the aggregator would have published
// them), then tampers with DynamoDB directly: one value changed, one item deleted, one extra item
// under a minute the log has no point for, and one item of a minute past retention whose expiry
// attribute was left in the future. A query service serves reads (science at 100 %: both stores
// read) the whole time; none may fail.
const cfg = testConfig();
const RETENTION_MS = 60 * MINUTE_MS;
const APPS = 20;
const METRICS = ['router.service_ms', 'db.query_ms'];

describe('verify and repair on the real stack', () => {
  const env = testEnv('vfy');
  const taskQueue = `switchyard-test-${env}`;
  const kafka = createKafka(cfg, { clientId: 'test-verify-repair' });
  const dynamo = createDynamoClient(cfg);
  const cassandra = createCassandraClient(cfg);
  const table = dynamoTableFor(env);
  const now0 = Date.now();
  const thisMinute = now0 - (now0 % MINUTE_MS);
  const horizon = thisMinute - 90 * MINUTE_MS;
  const firstMinute = thisMinute - 50 * MINUTE_MS;
  const lastMinute = thisMinute - 3 * MINUTE_MS;
  // What an operator checking leftovers asks for: from the horizon (past retention included) to the last written minute.
  const range: MinuteRange = { fromMinute: horizon, toMinute: lastMinute };
  const points: MetricPoint[] = [];
  const skipped = { app: 'app-0003', metric: METRICS[1]!, minute: firstMinute + 20 * MINUTE_MS };
  const drifted = { app: 'app-0005', metric: METRICS[0]!, minute: firstMinute + 10 * MINUTE_MS };
  const deleted = { app: 'app-0011', metric: METRICS[1]!, minute: firstMinute + 30 * MINUTE_MS };
  const expired = { app: 'app-0001', metric: METRICS[0]!, minute: thisMinute - 70 * MINUTE_MS };
  const tampered = new Set([skipped, drifted, deleted, expired].map((k) => `${k.app}|${k.metric}|${k.minute}`));
  let admin: Admin;
  let producer: Producer;
  let worker: PipelineProcess;
  let query: PipelineProcess;
  let liveWriter: PipelineProcess | undefined;
  let stopLive = false;
  let live: Promise<void> | undefined;
  const livePoints: MetricPoint[] = [];
  let client: Client;
  let closeTemporal: () => Promise<void>;
  let stopReads = false;
  let reads: Promise<void>;
  const readResults = { ok: 0, failed: [] as string[] };

  const actor = (reason: string) => ({ identity: 'alice', reason, requestId: randomUUID() });
  const verify = async (input: Partial<VerifyInput> = {}): Promise<VerifyReport> => {
    const full: VerifyInput = { ...actor('check the new store before cutover'), env, range, ...input };
    return client.workflow.execute(VERIFY_WORKFLOW_TYPE, { workflowId: verifyWorkflowId(env, full.requestId), taskQueue, args: [full] });
  };
  const repair = async (input: Partial<RepairInput> = {}): Promise<RepairReport> => {
    const full: RepairInput = { ...actor('rewrite the new store from the log'), env, range, ...input };
    return client.workflow.execute(REPAIR_WORKFLOW_TYPE, { workflowId: repairWorkflowId(env, full.requestId), taskQueue, args: [full] });
  };
  const keysOf = (r: VerifyReport): string[] => DIFF_CLASSES.flatMap((k) => r.samples[k].map((s) => `${s.app}|${s.metric}|${s.minute}`));
  const failureText = (err: unknown): string => {
    let e: unknown = err;
    while (e instanceof Error && e.cause instanceof Error) e = e.cause;
    return e instanceof Error ? e.message : String(e);
  };

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    await ensureControlTopics(admin);
    await ensureTopics(admin, env, 3);
    producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await cassandra.connect();
    // The data plane's view: science at 100 % since a horizon 90 minutes ago, 60-minute retention.
    await publishControlState(producer, {
      ...initialControlState(env, RETENTION_MS),
      version: 1,
      newWriter: true,
      sciencePercent: 100,
      coverageHorizon: horizon,
      updatedAt: new Date().toISOString(),
      updatedBy: 'test',
      reason: 'an environment in science mode',
    });
    for (let m = firstMinute; m <= lastMinute; m += MINUTE_MS)
      for (let a = 0; a < APPS; a++)
        for (const metric of METRICS) {
          const app = `app-${String(a).padStart(4, '0')}`;
          if (app === skipped.app && metric === skipped.metric && m === skipped.minute) continue;
          const base = 10 + a + ((m / MINUTE_MS) % 7);
          points.push({ app, metric, minute: m, count: 12, min: base / 2, max: base * 3, sum: base * 12, median: base, p95: base * 2, p99: base * 2.5 });
        }
    const stores = ['cassandra', 'dynamodb'].map((kind) =>
      createMetricStore(kind as 'cassandra' | 'dynamodb', {
        env,
        retentionMs: RETENTION_MS,
        cassandraClient: cassandra,
        dynamoClient: dynamo,
        closeClient: false,
      }),
    );
    for (const s of stores) {
      await s.ensureSchema();
      for (let i = 0; i < points.length; i += 500) {
        const r = await s.writePoints(points.slice(i, i + 500));
        assert.equal(r.rejected.length, 0);
      }
    }
    // The log holds every point, stamped when the aggregator publishes it (after its minute closes).
    for (let i = 0; i < points.length; i += 500)
      await producer.send({
        topic: envTopics(env).metrics,
        messages: points.slice(i, i + 500).map((p) => ({ key: p.app, value: encodeMetricPoint(p), timestamp: String(p.minute + MINUTE_MS + 2_000) })),
      });
    // Tampering, directly in DynamoDB.
    const key = (k: { app: string; metric: string; minute: number }) => ({ series: { S: seriesKey(k.app, k.metric) }, minute: { N: String(k.minute) } });
    await dynamo.send(
      new UpdateItemCommand({ TableName: table, Key: key(drifted), UpdateExpression: 'SET median = :v', ExpressionAttributeValues: { ':v': { N: '99999' } } }),
    );
    await dynamo.send(new DeleteItemCommand({ TableName: table, Key: key(deleted) }));
    const item = (k: typeof skipped, expiresAt: number) => ({
      ...key(k),
      app: { S: k.app },
      metric: { S: k.metric },
      expiresAt: { N: String(Math.ceil(expiresAt / 1000)) },
      count: { N: '3' },
      min: { N: '1' },
      max: { N: '5' },
      sum: { N: '9' },
      median: { N: '3' },
      p95: { N: '5' },
      p99: { N: '5' },
    });
    await dynamo.send(new PutItemCommand({ TableName: table, Item: item(skipped, skipped.minute + RETENTION_MS) }));
    await dynamo.send(new PutItemCommand({ TableName: table, Item: item(expired, Date.now() + 3_600_000) }));

    worker = await startControlWorker(env, taskQueue);
    ({ client, close: closeTemporal } = await temporalClient(cfg));
    // The migration workflow keeps the audit history the runs record into.
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      workflowId: migrationWorkflowId(env),
      taskQueue,
      args: [{ env, policy: { ...demoPolicy([env]), cohorts: [] } }],
    });
    query = queryProcess(`${env}-query`, env, ['--retention', '60m']).start();
    const url = `http://127.0.0.1:${await queryPort(query)}`;
    reads = (async () => {
      let i = 0;
      while (!stopReads) {
        const p = points[(i++ * 7919) % points.length]!;
        const path = `/v1/envs/${env}/apps/${p.app}/metrics/${encodeURIComponent(p.metric)}?from=${firstMinute}&to=${lastMinute + MINUTE_MS}`;
        try {
          const res = await fetch(url + path);
          if (res.status === 200) readResults.ok++;
          else readResults.failed.push(`${res.status} ${await res.text()}`);
        } catch (err) {
          readResults.failed.push(String(err));
        }
        await sleep(50);
      }
    })();
  });

  after(async () => {
    stopReads = true;
    await reads;
    await client?.workflow
      .getHandle(migrationWorkflowId(env))
      .terminate('test over')
      .catch(() => undefined);
    await closeTemporal?.();
    stopLive = true;
    await live;
    await Promise.all([worker, query, liveWriter].map((p) => p?.stop('SIGKILL')));
    await producer.disconnect();
    await admin.disconnect();
    await cassandra.shutdown();
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  let first: VerifyReport;

  it('finds each tampered point, classed, and reports no other', async () => {
    first = await verify();
    assert.equal(first.status, 'mismatched');
    const c = first.counts;
    assert.deepEqual(
      { missing: c.missing, extra: c.extra, value_drift: c.value_drift, expired_returned: c.expired_returned, unsettled: c.unsettled },
      { missing: 1, extra: 1, value_drift: 1, expired_returned: 1, unsettled: 0 },
      JSON.stringify(c),
    );
    assert.equal(c.oldPoints, points.length);
    assert.equal(c.newPoints, points.length - 1 + 2);
    assert.equal(c.compared, points.length + 2);
    assert.equal(c.matched, points.length - 2);
    assert.equal(c.series, APPS * METRICS.length);
    const at = (kind: (typeof DIFF_CLASSES)[number]) => first.samples[kind][0]!;
    assert.deepEqual(
      DIFF_CLASSES.map((k) => `${at(k).app}|${at(k).metric}|${at(k).minute}`),
      [deleted, skipped, drifted, expired].map((k) => `${k.app}|${k.metric}|${k.minute}`),
    );
    assert.ok(keysOf(first).every((k) => tampered.has(k)));
    assert.deepEqual(at('value_drift').fields, ['median']);
    assert.equal(at('value_drift').new?.median, 99999);
    assert.notEqual(at('value_drift').old?.median, 99999);
    assert.equal(at('missing').new, undefined);
    assert.ok(at('missing').old);
    assert.equal(
      first.seriesDoneBySlice.reduce((a, b) => a + b, 0),
      APPS * METRICS.length,
    );
    assert.deepEqual(
      first.extraItems.map((k) => `${k.app}|${k.metric}|${k.minute}`).sort(),
      [skipped, expired].map((k) => `${k.app}|${k.metric}|${k.minute}`).sort(),
    );
    assert.equal(first.progress, 1);
    assert.ok(first.pointsPerSecond > 0);
  });

  it('a worker killed with SIGKILL mid-run: the run resumes and ends with the same counts', async () => {
    const input: VerifyInput = { ...actor('verify across a worker crash'), env, range, pointsPerSecond: 400, slices: 2 };
    const id = verifyWorkflowId(env, input.requestId);
    const handle = await client.workflow.start(VERIFY_WORKFLOW_TYPE, { workflowId: id, taskQueue, args: [input] });
    // Progress moves when a chunk ends; the chunks of this slow run are under way once it is planned.
    while ((await handle.query<VerifyReport>(VERIFY_PROGRESS_QUERY)).status !== 'running') await sleep(200);
    await sleep(4000);
    const before = await handle.query<VerifyReport>(VERIFY_PROGRESS_QUERY);
    assert.ok(before.status === 'running' && before.progress < 1, `killed mid-run: ${before.status} ${before.progress}`);
    await worker.stop('SIGKILL');
    worker = await startControlWorker(env, taskQueue);
    const r = (await handle.result()) as VerifyReport;
    assert.deepEqual(r.counts, first.counts);
    assert.match(worker.log(), /verify chunk resumed from its last heartbeat/);
  });

  it('refuses a range the topic no longer holds, naming what it cannot repair', async () => {
    await assert.rejects(
      repair({ range: { fromMinute: thisMinute - 9 * 86_400_000, toMinute: lastMinute } }),
      (err) => err instanceof WorkflowFailedError && /no longer in the log and cannot be repaired from it.*allow partial/.test(failureText(err)),
    );
  });

  it('repairs the changed and the deleted point from the log while the live writers keep writing; extra items only when asked, after a verify found them', async () => {
    // The live DynamoDB writer, from the end of the log (what is in it now is the test's own data),
    // writes the points published meanwhile: new minutes, outside the repaired range.
    const topic = envTopics(env).metrics;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId: writerGroup(env, 'dynamodb'), topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
    liveWriter = writerProcess(`${env}-writer-dynamodb`, env, 'dynamodb', ['--mode', 'on', '--retention', '60m', '--partitions', '3']).start();
    await liveWriter.waitForLog(/running/);
    live = (async () => {
      for (let i = 0; !stopLive; i++) {
        const p: MetricPoint = {
          app: `live-${i % 5}`,
          metric: 'router.service_ms',
          minute: thisMinute + Math.floor(i / 5) * MINUTE_MS,
          count: 1,
          min: 1,
          max: 1,
          sum: 1,
          median: 1,
          p95: 1,
          p99: 1,
        };
        livePoints.push(p);
        await producer.send({ topic, messages: [{ key: p.app, value: encodeMetricPoint(p) }] });
        await sleep(200);
      }
    })();
    const fixed = await repair();
    assert.equal(fixed.status, 'still_mismatched');
    assert.equal(fixed.replay?.written, points.length);
    // The span read ends at the first record stamped 5 minutes after the range's last minute, or
    // at the log's end: live points published before the repair planned its span may be in it,
    // read and skipped as out of range (every test point is inside the range).
    assert.equal((fixed.replay?.read ?? 0) - (fixed.replay?.outOfRange ?? 0), points.length, JSON.stringify(fixed.replay));
    assert.equal(fixed.replay?.deleted, 0);
    const again = fixed.verify!;
    assert.deepEqual(
      DIFF_CLASSES.map((k) => again.counts[k]),
      [0, 1, 0, 1],
    );
    assert.deepEqual(keysOf(again).sort(), [skipped, expired].map((k) => `${k.app}|${k.metric}|${k.minute}`).sort());

    await assert.rejects(repair({ deleteExtras: true, verifyWorkflowId: verifyWorkflowId(env, 'nope') }), (err) => /no verify run/.test(failureText(err)));
    const cleaned = await repair({ deleteExtras: true, verifyWorkflowId: again.workflowId });
    assert.equal(cleaned.replay?.deleted, 2);
    assert.equal(cleaned.status, 'repaired');
    assert.equal(cleaned.verify?.status, 'clean');
    assert.equal(cleaned.verify?.counts.matched, points.length);
    assert.equal(cleaned.progress, 1);
    assert.equal(cleaned.readSoFar, cleaned.replay?.read);
    assert.equal((cleaned.replay?.read ?? 0) - (cleaned.replay?.outOfRange ?? 0), points.length, JSON.stringify(cleaned.replay));

    // The live writer kept writing while the repairs ran: its points are in the new store.
    stopLive = true;
    await live;
    const newStore = createMetricStore('dynamodb', { env, retentionMs: RETENTION_MS, dynamoClient: dynamo, closeClient: false });
    const wanted = new Map(livePoints.map((p) => [`${p.app}|${p.minute}`, p]));
    const deadline = Date.now() + 60_000;
    let found = 0;
    while (Date.now() < deadline) {
      found = 0;
      for (let a = 0; a < 5; a++)
        found += (
          await newStore.readSeries({ app: `live-${a}`, metric: 'router.service_ms', fromMinute: thisMinute, toMinute: thisMinute + 600 * MINUTE_MS })
        ).filter((p) => wanted.has(`${p.app}|${p.minute}`)).length;
      if (found === wanted.size) break;
      await sleep(500);
    }
    assert.equal(found, wanted.size, 'every live point written during the repairs is in the new store');
    assert.ok(livePoints.length > 10, `${livePoints.length} live points published during the repairs`);
  });

  it('records every run, its range and outcome in the audit history; served reads never failed', async () => {
    const state = await client.workflow.getHandle(migrationWorkflowId(env)).query<MigrationState>(STATE_QUERY_NAME);
    assert.equal(state.lastVerify?.clean, true);
    const entries = (await readAudit(dynamo, { env })).filter((e) => e.action.startsWith('verify_') || e.action.startsWith('repair_'));
    const actions = entries.map((e) => e.action);
    assert.equal(actions.filter((a) => a === 'verify_finished').length, 4, actions.join(' '));
    assert.equal(actions.filter((a) => a === 'repair_finished').length, 2, actions.join(' '));
    const firstDone = entries.find((e) => e.action === 'verify_finished' && e.evidence.workflowId === first.workflowId)!;
    assert.deepEqual(firstDone.evidence.range, range);
    assert.equal(firstDone.evidence.status, 'mismatched');
    assert.equal(firstDone.actor, 'alice');
    // The refusal of the uncovered range is in the history too, with its reason.
    const refused = entries.find((e) => e.action === 'repair_failed' && e.evidence.refused === true && /no longer in the log/.test(String(e.evidence.error)));
    assert.ok(refused, actions.join(' '));
    assert.equal(refused.actor, 'alice');
    const noVerify = entries.find((e) => e.action === 'repair_failed' && /no verify run/.test(String(e.evidence.error)));
    assert.ok(noVerify, 'deleting extras without a verify run is recorded as refused');
  });

  it('writes only points inside the range: a tampered point just outside it stays as it is', async () => {
    const inside = { app: 'app-0007', metric: METRICS[0]!, minute: firstMinute + 21 * MINUTE_MS };
    const outside = { app: 'app-0007', metric: METRICS[0]!, minute: firstMinute + 19 * MINUTE_MS };
    const key = (k: typeof inside) => ({ series: { S: seriesKey(k.app, k.metric) }, minute: { N: String(k.minute) } });
    for (const k of [inside, outside])
      await dynamo.send(
        new UpdateItemCommand({ TableName: table, Key: key(k), UpdateExpression: 'SET median = :v', ExpressionAttributeValues: { ':v': { N: '4242' } } }),
      );
    const sub: MinuteRange = { fromMinute: firstMinute + 20 * MINUTE_MS, toMinute: firstMinute + 25 * MINUTE_MS };
    const r = await repair({ range: sub });
    assert.equal(r.status, 'repaired', JSON.stringify(r.verify?.counts));
    assert.ok((r.replay?.outOfRange ?? 0) > 0, 'the replay read points of other minutes and skipped them');
    assert.equal(r.replay?.written, points.filter((p) => p.minute >= sub.fromMinute && p.minute <= sub.toMinute).length);
    const store = createMetricStore('dynamodb', { env, retentionMs: RETENTION_MS, dynamoClient: dynamo, closeClient: false });
    const read = async (k: typeof inside) => (await store.readSeries({ ...k, fromMinute: k.minute, toMinute: k.minute }))[0]?.median;
    assert.notEqual(await read(inside), 4242, 'inside the range: rewritten from the log');
    assert.equal(await read(outside), 4242, 'outside the range: not written');
  });

  it('a range partly older than the topic holds (its log start advanced) is refused, then repaired in part with allowPartial, saying what it could not repair', async () => {
    // Drop the log's records before minute firstMinute + 30 (as retention.bytes would).
    const topic = envTopics(env).metrics;
    const cut = firstMinute + 30 * MINUTE_MS;
    const at = await admin.fetchTopicOffsetsByTimestamp(topic, cut + MINUTE_MS);
    await admin.deleteTopicRecords({ topic, partitions: at.map((p) => ({ partition: p.partition, offset: p.offset })) });
    const sub: MinuteRange = { fromMinute: firstMinute + 20 * MINUTE_MS, toMinute: firstMinute + 40 * MINUTE_MS };
    await assert.rejects(
      repair({ range: sub }),
      (err) => err instanceof WorkflowFailedError && /no longer in the log and cannot be repaired from it.*allow partial/.test(failureText(err)),
    );
    const r = await repair({ range: sub, allowPartial: true });
    assert.equal(r.status, 'repaired', JSON.stringify(r.plan));
    assert.ok(r.plan?.uncovered !== null && r.plan?.range !== null);
    assert.equal(r.plan!.uncovered!.fromMinute, sub.fromMinute);
    // The topic holds minutes from about the cut on: what it could not repair ends just before what it did.
    assert.equal(r.plan!.range!.fromMinute, r.plan!.uncovered!.toMinute + MINUTE_MS);
    assert.ok(
      Math.abs(r.plan!.range!.fromMinute - cut) <= 2 * MINUTE_MS,
      `covered from ${new Date(r.plan!.range!.fromMinute).toISOString()}, cut at ${new Date(cut).toISOString()}`,
    );
    assert.deepEqual(r.verify?.plan?.range, r.plan!.range);
    const entries = await readAudit(dynamo, { env });
    const started = entries.find((e) => e.action === 'repair_started' && e.evidence.workflowId === r.workflowId)!;
    assert.deepEqual(started.evidence.uncovered, r.plan!.uncovered);
  });

  it('served reads never failed during verify and repair', async () => {
    stopReads = true;
    await reads;
    assert.deepEqual(readResults.failed, []);
    assert.ok(readResults.ok > 50, `${readResults.ok} reads served`);
  });
});
