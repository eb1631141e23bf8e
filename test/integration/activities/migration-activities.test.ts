import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { DeleteItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApplicationFailure } from '@temporalio/activity';
import { Client, type Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type cassandra from 'cassandra-driver';
import type { Admin, Kafka, Producer } from 'kafkajs';
import pino from 'pino';
import { appendAuditEntry, AUDIT_TABLE, readAudit, verifyAuditChain } from '../../../audit/audit-log.js';
import { ActivityFailureType, MINUTE_MS } from '../../../contract/index.js';
import { createMigrationActivities } from '../../../activities/index.js';
import { createCassandraClient, createDynamoClient, createKafka, connectTemporal } from '../../../config/clients.js';
import { formatHostPort } from '../../../config/config.js';
import { CONTROL_TOPIC, ensureControlTopics, HEARTBEAT_TOPIC, initialControlState, type ControlState } from '../../../control/index.js';
import { publishAndAwait, readLatestControlState } from '../../../control/publisher.js';
import { createControlStateClient, type ControlStateClient } from '../../../control/subscriber.js';
import { minuteOf } from '../../../pipeline/kernel/model/metric-point.js';
import {
  ensureScienceTables,
  latencyBucket,
  latencyBucketRange,
  MISMATCH_SAMPLES_TABLE,
  SCIENCE_STATS_TABLE,
} from '../../../pipeline/kernel/science/control-tables.js';
import { ScienceRecorder } from '../../../pipeline/jobs/query/science-recorder.js';
import { cassandraKeyspaceFor } from '../../../pipeline/kernel/stores/cassandra-store.js';
import { createMetricStore } from '../../../pipeline/kernel/stores/create-metric-store.js';
import { envTopics, ensureTopics, writerGroup } from '../../../pipeline/kernel/topics.js';
import { migrationWorkflowId, type AuditEntry } from '../../../contract/index.js';
import { testKeyRing } from '../../support/integrity.js';
import { testConfig } from '../../support/stack.js';

// The activities on the real stack: Kafka (control topic, heartbeats, writer groups), DynamoDB
// (science stats, audit), Cassandra (old store) and Temporal (another env's migration stage).
// An in-process control-state client plays a data-plane writer, so acknowledgements are real.
const require = createRequire(import.meta.url);
const cfg = testConfig();
const keys = testKeyRing();
const RETENTION_MS = 7 * 86_400_000;
const HEARTBEAT_MS = 500;

const isFailure = (opts: { nonRetryable: boolean; type?: string; message?: RegExp }) => (err: unknown) => {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  assert.equal(err.nonRetryable, opts.nonRetryable, `nonRetryable of: ${err.message}`);
  if (opts.type) assert.equal(err.type, opts.type);
  if (opts.message) assert.match(err.message, opts.message);
  return true;
};

/** The middle of the latency histogram's bucket that `ms` falls in: what a p99 of such latencies reads back as. */
function bucketMiddle(ms: number): number {
  const { lowerMs, upperMs } = latencyBucketRange(latencyBucket(ms));
  return (lowerMs + upperMs) / 2;
}

describe('migration activities on the real stack', () => {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  const env = `act${suffix}`;
  const otherEnv = `act${suffix}-b`;
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let dynamo: DynamoDBClient;
  let db: cassandra.Client;
  let connection: Connection;
  let temporal: Client;
  let activities: ReturnType<typeof createMigrationActivities>;
  const controlClients: ControlStateClient[] = [];
  const auditKeys: { env: string; seq: number }[] = [];
  let writer: ControlStateClient;

  const startClient = async (role: string, onChange?: (next: ControlState) => void): Promise<ControlStateClient> => {
    const client = createControlStateClient({
      kafka,
      env,
      role,
      heartbeatIntervalMs: HEARTBEAT_MS,
      initial: initialControlState(env, RETENTION_MS),
      logger,
      ...(onChange ? { onChange } : {}),
    });
    controlClients.push(client);
    await client.start();
    return client;
  };

  const entry = (seq: number, over: Partial<AuditEntry> = {}): AuditEntry => {
    const e: AuditEntry = {
      env,
      seq,
      at: 1_800_000_000_000 + seq * 1000,
      actor: `alice-${suffix}`,
      action: 'advance',
      from: 'planned',
      to: 'dual_write',
      reason: 'start dual write',
      evidence: { lag: 0, writers: 2, note: 'ok' },
      workflowId: migrationWorkflowId(env),
      runId: 'run-1',
      controlVersion: seq,
      ...over,
    };
    auditKeys.push({ env: e.env, seq: e.seq });
    return e;
  };

  const keyspaceExists = async (): Promise<boolean> =>
    (await db.execute('SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?', [cassandraKeyspaceFor(env)], { prepare: true })).rowLength >
    0;

  before(async () => {
    kafka = createKafka(cfg, { clientId: 'migration-activities-test' });
    admin = kafka.admin();
    await admin.connect();
    await ensureControlTopics(admin);
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    dynamo = createDynamoClient(cfg);
    db = createCassandraClient(cfg);
    await db.connect();
    connection = await connectTemporal(cfg);
    temporal = new Client({ connection, namespace: cfg.temporal.namespace });
    activities = createMigrationActivities({ kafka, producer, dynamo, cassandra: db, temporal, logger, stageQueryTimeoutMs: 1500, integrityKeys: () => keys });
    writer = await startClient('writer-dynamodb');
  });

  after(async () => {
    await Promise.all(controlClients.map((c) => c.stop()));
    // Tombstones for this env's control state and the instances' heartbeats, so compaction forgets them.
    await producer.send({ topic: CONTROL_TOPIC, messages: [{ key: env, value: null }] }).catch(() => undefined);
    await producer.send({ topic: HEARTBEAT_TOPIC, messages: controlClients.map((c) => ({ key: c.instanceId, value: null })) }).catch(() => undefined);
    const t = envTopics(env);
    const existing = new Set(await admin.listTopics());
    const mine = [t.observations, t.observationsDlq, t.metrics, t.metricsDlq].filter((x) => existing.has(x));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.deleteGroups([writerGroup(env, 'cassandra'), writerGroup(env, 'dynamodb')]).catch(() => undefined);
    await db.execute(`DROP KEYSPACE IF EXISTS ${cassandraKeyspaceFor(env)}`).catch(() => undefined);
    // This run's rows in the shared control tables (the tables themselves stay).
    for (const k of auditKeys)
      await dynamo.send(new DeleteItemCommand({ TableName: AUDIT_TABLE, Key: { env: { S: k.env }, seq: { N: String(k.seq) } } })).catch(() => undefined);
    const stats = await dynamo
      .send(new QueryCommand({ TableName: SCIENCE_STATS_TABLE, KeyConditionExpression: 'env = :e', ExpressionAttributeValues: { ':e': { S: env } } }))
      .catch(() => undefined);
    for (const item of stats?.Items ?? []) {
      const samples = await dynamo
        .send(
          new QueryCommand({
            TableName: MISMATCH_SAMPLES_TABLE,
            KeyConditionExpression: 'envMinute = :k',
            ExpressionAttributeValues: { ':k': { S: `${env}#${item.minute!.N}` } },
          }),
        )
        .catch(() => undefined);
      for (const sample of samples?.Items ?? []) {
        await dynamo
          .send(new DeleteItemCommand({ TableName: MISMATCH_SAMPLES_TABLE, Key: { envMinute: sample.envMinute!, sampleId: sample.sampleId! } }))
          .catch(() => undefined);
      }
      await dynamo.send(new DeleteItemCommand({ TableName: SCIENCE_STATS_TABLE, Key: { env: item.env!, minute: item.minute! } })).catch(() => undefined);
    }
    await temporal.workflow
      .getHandle(migrationWorkflowId(env))
      .terminate('test cleanup')
      .catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
    await db.shutdown();
    dynamo.destroy();
    await connection.close();
  });

  describe('publishControl', () => {
    it('publishes v1, waits for the writer to apply it, and a repeat of the transition publishes nothing', async () => {
      const input = {
        env,
        transitionId: `${migrationWorkflowId(env)}#1`,
        patch: { newWriter: true },
        actor: 'alice',
        reason: 'start dual write',
        ackTimeoutMs: 10_000,
      };
      const first = await activities.publishControl(input);
      assert.equal(first.version, 1);
      assert.equal(first.published, true);
      assert.deepEqual(first.acknowledged, [writer.instanceId]);
      assert.equal(writer.appliedVersion(), 1);
      assert.equal(writer.current().newWriter, true);

      const again = await activities.publishControl(input);
      assert.equal(again.published, false);
      assert.equal(again.version, 1);
      assert.deepEqual(again.acknowledged, [writer.instanceId]);
      const latest = await readLatestControlState(kafka, env, 10_000);
      assert.equal(latest?.version, 1, 'no second version on the topic');
      assert.equal(latest?.transitionId, input.transitionId);
      assert.equal(latest?.updatedBy, 'alice');
      assert.equal(latest?.reason, 'start dual write');
    });

    it('keeps the fields a patch does not touch (the fault switch, earlier patches)', async () => {
      // An operator turns the fault switch on by hand (version 2), outside any workflow transition.
      const latest = (await readLatestControlState(kafka, env, 10_000))!;
      await publishAndAwait(
        { kafka, producer },
        { ...latest, version: 2, faults: { newWriterCorruptionRate: 0.25 }, transitionId: undefined, reason: 'demo' },
        { timeoutMs: 10_000 },
      );

      const res = await activities.publishControl({
        env,
        transitionId: `${migrationWorkflowId(env)}#2`,
        patch: { sciencePercent: 5, coverageHorizon: 1_800_000_000_000 },
        actor: 'automatic',
        reason: 'science 5%',
        ackTimeoutMs: 10_000,
      });
      assert.equal(res.version, 3);
      const state = writer.current();
      assert.equal(state.version, 3);
      assert.equal(state.sciencePercent, 5);
      assert.equal(state.coverageHorizon, 1_800_000_000_000);
      assert.equal(state.newWriter, true, 'the v1 patch is kept');
      assert.deepEqual(state.faults, { newWriterCorruptionRate: 0.25 }, 'the fault switch is kept');
    });

    it('rejects an invalid patch without publishing (non-retryable)', async () => {
      await assert.rejects(
        activities.publishControl({
          env,
          transitionId: `${migrationWorkflowId(env)}#bad`,
          patch: { sciencePercent: 150 },
          actor: 'alice',
          reason: 'typo',
          ackTimeoutMs: 5000,
        }),
        isFailure({ nonRetryable: true, type: ActivityFailureType.invalidControlState, message: /sciencePercent/ }),
      );
      assert.equal((await readLatestControlState(kafka, env, 10_000))?.version, 3);
    });

    it('names a laggard in a retryable failure, and the retry only waits once the laggard is gone', async () => {
      // A query-service instance that applies version 3 but cannot apply anything newer.
      const laggard = await startClient('query', (next) => {
        if (next.version > 3) throw new Error('cannot apply');
      });
      assert.equal(laggard.appliedVersion(), 3);
      const input = {
        env,
        transitionId: `${migrationWorkflowId(env)}#3`,
        patch: { sciencePercent: 25 },
        actor: 'alice',
        reason: 'science 25%',
        ackTimeoutMs: 1500,
      };
      await assert.rejects(
        activities.publishControl(input),
        isFailure({
          nonRetryable: false,
          type: ActivityFailureType.acknowledgementTimeout,
          message: new RegExp(`${laggard.instanceId} \\(role query, applies version 3`),
        }),
      );
      assert.equal(writer.appliedVersion(), 4, 'the healthy writer applied it');
      await laggard.stop();
      const retry = await activities.publishControl({ ...input, ackTimeoutMs: 10_000 });
      assert.deepEqual({ version: retry.version, published: retry.published }, { version: 4, published: false });
      assert.equal((await readLatestControlState(kafka, env, 10_000))?.version, 4);
    });
  });

  describe('readScience', () => {
    it('sums the science stats the query service recorded', async () => {
      await ensureScienceTables(dynamo);
      const recorder = new ScienceRecorder({ dynamo, instanceId: `test-${suffix}` });
      const query = { app: 'app-1', metric: 'router.service_ms', from: 0, to: MINUTE_MS };
      for (let i = 0; i < 10; i++) {
        recorder.recordServed(env, 'old', 3);
        recorder.recordShadowLatency(env, 'new', 30);
        recorder.recordComparison(
          env,
          query,
          i < 2 ? { compared: 1, matched: 0, mismatches: [{ kind: 'missing', minute: 0 }] } : { compared: 1, matched: 1, mismatches: [] },
        );
      }
      recorder.recordCandidateFailure(env, 'error');
      recorder.recordCandidateFailure(env, 'timeout');
      await recorder.stop();

      const figures = await activities.readScience({ env, windowMs: 5 * MINUTE_MS });
      assert.deepEqual(figures, {
        windowMs: 5 * MINUTE_MS,
        comparisons: 10,
        mismatches: 2,
        mismatchRate: 0.2,
        // (errors + timeouts) / (comparisons + errors + timeouts)
        newStoreErrorRate: 2 / 12,
        servedOld: 10,
        servedNew: 0,
        queries: 10,
        splitQueries: 0,
        // 10 candidate reads of the new store returned, 2 failed
        newStoreReads: 12,
        unjudged: 0,
        freshSplits: 0,
        candidateErrors: 1,
        candidateTimeouts: 1,
        // the middle of the fine histogram's bucket each latency fell in (within 6.25 %)
        p99OldMs: bucketMiddle(3),
        p99NewMs: bucketMiddle(30),
      });
      const none = await activities.readScience({ env: otherEnv, windowMs: 5 * MINUTE_MS });
      assert.equal(none.comparisons, 0);
      assert.equal(none.p99OldMs, null);
    });
  });

  describe('checkWriters', () => {
    it('counts live writers by role and reports each group lag and the parity gap', async (t) => {
      const topic = envTopics(env).metrics;
      await ensureTopics(admin, env, 2);
      const messages = (partition: number, n: number) => Array.from({ length: n }, (_, i) => ({ partition, key: `k${i}`, value: '{}' }));
      await producer.send({ topic, messages: [...messages(0, 10), ...messages(1, 6)] });
      // The offsets the lag is measured against are the topic's own: a send retried on a busy
      // broker may have written a batch twice, so the test does not assume 10 and 6.
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
      const [end0, end1] = [ends.get(0) ?? 0, ends.get(1) ?? 0];
      assert.ok(end0 >= 10 && end1 >= 6, `end offsets ${end0}, ${end1}`);
      // The Cassandra writers are caught up; the DynamoDB writers are 3 behind on partition 0 and have done nothing of partition 1.
      await Promise.all([
        admin.setOffsets({
          groupId: writerGroup(env, 'cassandra'),
          topic,
          partitions: [
            { partition: 0, offset: String(end0) },
            { partition: 1, offset: String(end1) },
          ],
        }),
        admin.setOffsets({ groupId: writerGroup(env, 'dynamodb'), topic, partitions: [{ partition: 0, offset: String(end0 - 3) }] }),
      ]);

      const t0 = Date.now();
      const health = await activities.checkWriters({ env });
      t.diagnostic(`checkWriters took ${Date.now() - t0} ms`);
      assert.deepEqual(health, { cassandraWriters: 0, dynamodbWriters: 1, cassandraLag: 0, dynamodbLag: 3 + end1, parityGap: 3 + end1 });

      const empty = await activities.checkWriters({ env: otherEnv });
      assert.deepEqual(empty, { cassandraWriters: 0, dynamodbWriters: 0, cassandraLag: 0, dynamodbLag: 0, parityGap: 0 });
    });
  });

  describe('old store: verifyOldStoreAgedOut and decommissionOldStore', () => {
    it('counts a missing keyspace and an empty table as aged out, and an old point as not', async () => {
      const horizon = minuteOf(Date.now());
      assert.deepEqual(await activities.verifyOldStoreAgedOut({ env, horizon }), { agedOut: true, oldestMinute: null });

      const store = createMetricStore('cassandra', { env, retentionMs: RETENTION_MS, cassandraClient: db, closeClient: false });
      await store.ensureSchema();
      assert.deepEqual(await activities.verifyOldStoreAgedOut({ env, horizon }), { agedOut: true, oldestMinute: null });

      const old = horizon - 60 * MINUTE_MS;
      const point = { app: 'app-1', metric: 'router.service_ms', count: 1, min: 1, max: 1, sum: 1, median: 1, p95: 1, p99: 1 };
      await store.writePoints([
        { ...point, minute: old },
        { ...point, minute: old + 30 * MINUTE_MS },
        { ...point, minute: horizon },
      ]);
      assert.deepEqual(await activities.verifyOldStoreAgedOut({ env, horizon }), { agedOut: false, oldestMinute: old });
      assert.deepEqual(await activities.verifyOldStoreAgedOut({ env, horizon: old }), { agedOut: true, oldestMinute: null }, 'nothing before the oldest point');
      await store.close();
    });

    it('keeps the tables when asked, refuses while the old store is in use, then drops them idempotently', async () => {
      assert.ok(await keyspaceExists());
      assert.deepEqual(await activities.decommissionOldStore({ env, keepTables: true }), { dropped: false });
      assert.ok(await keyspaceExists(), 'kept');

      await assert.rejects(
        activities.decommissionOldStore({ env, keepTables: false }),
        isFailure({ nonRetryable: true, type: ActivityFailureType.oldStoreInUse, message: /oldWriter=true/ }),
      );
      assert.ok(await keyspaceExists(), 'not dropped while the control state still uses it');

      await activities.publishControl({
        env,
        transitionId: `${migrationWorkflowId(env)}#4`,
        patch: { oldWriter: false, oldStoreAvailable: false },
        actor: 'alice',
        reason: 'decommission',
        ackTimeoutMs: 10_000,
      });
      assert.deepEqual(await activities.decommissionOldStore({ env, keepTables: false }), { dropped: true });
      assert.equal(await keyspaceExists(), false, 'dropped');
      assert.deepEqual(await activities.decommissionOldStore({ env, keepTables: false }), { dropped: true }, 'a repeat is a no-op');
      assert.deepEqual(await activities.verifyOldStoreAgedOut({ env, horizon: Date.now() }), { agedOut: true, oldestMinute: null });
    });
  });

  describe('audit', () => {
    it('writes an entry once however often it is appended, and refuses a different entry on the same seq', async () => {
      const e1 = entry(1);
      await activities.appendAudit(e1);
      await activities.appendAudit(e1);
      await activities.appendAudit({ ...e1, runId: 'run-2', at: e1.at + 5 }); // a reset run re-doing the same step
      const stored = await readAudit(dynamo, { env });
      assert.deepEqual(stored, [e1]);

      await assert.rejects(
        activities.appendAudit({ ...e1, workflowId: 'someone-else', action: 'rollback' }),
        isFailure({
          nonRetryable: true,
          type: ActivityFailureType.auditSeqConflict,
          message: new RegExp(`audit seq 1 of env ${env} already taken by workflow ${migrationWorkflowId(env)}`),
        }),
      );
      await assert.rejects(activities.appendAudit({ ...e1, action: 'rollback' }), isFailure({ nonRetryable: true, message: /already taken/ }));
      assert.deepEqual(await readAudit(dynamo, { env }), [e1], 'unchanged');
    });

    it('reads entries back with filters, per env and across envs', async () => {
      const e2 = entry(2, {
        actor: 'automatic',
        action: 'rollback',
        from: 'science',
        to: 'science',
        evidence: { mismatchRate: 0.12, samples: 400 },
        controlVersion: null,
      });
      const e3 = entry(3, { action: 'set_ramp' });
      const other = entry(1, { env: otherEnv, workflowId: migrationWorkflowId(otherEnv), at: 1_800_000_001_500 });
      for (const e of [e2, e3]) await activities.appendAudit(e);
      await appendAuditEntry(dynamo, other, keys);
      const e1 = (await readAudit(dynamo, { env, limit: 1 }))[0]!;
      const seqs = (entries: AuditEntry[]): string[] => entries.map((e) => `${e.env}#${e.seq}`);

      assert.deepEqual(await readAudit(dynamo, { env }), [e1, e2, e3], 'in seq order, evidence and null control version round-trip');
      assert.deepEqual(seqs(await readAudit(dynamo, { env, newestFirst: true, limit: 2 })), [`${env}#3`, `${env}#2`]);
      assert.deepEqual(seqs(await readAudit(dynamo, { env, fromSeq: 2 })), [`${env}#2`, `${env}#3`]);
      assert.deepEqual(seqs(await readAudit(dynamo, { env, actor: 'automatic' })), [`${env}#2`]);
      assert.deepEqual(seqs(await readAudit(dynamo, { env, action: 'set_ramp' })), [`${env}#3`]);
      assert.deepEqual(seqs(await readAudit(dynamo, { env, since: e2.at, until: e2.at })), [`${env}#2`]);
      // Across environments: a Scan, in time order.
      assert.deepEqual(seqs(await readAudit(dynamo, { actor: `alice-${suffix}` })), [`${env}#1`, `${otherEnv}#1`, `${env}#3`]);
      assert.deepEqual(seqs(await readAudit(dynamo, { actor: `alice-${suffix}`, action: 'advance', limit: 1, newestFirst: true })), [`${otherEnv}#1`]);
      // Pages of a newest-first read start after the cursor of the page before.
      assert.deepEqual(seqs(await readAudit(dynamo, { env, newestFirst: true, after: { at: e3.at, env, seq: 3 } })), [`${env}#2`, `${env}#1`]);
      const page2 = await readAudit(dynamo, { actor: `alice-${suffix}`, newestFirst: true, after: { at: e3.at, env, seq: 3 } });
      assert.deepEqual(seqs(page2), [`${otherEnv}#1`, `${env}#1`]);

      // Each env's entries form a hash chain, each linked to the one before it.
      const chain = await verifyAuditChain(dynamo, env, keys);
      assert.deepEqual([chain.broken, chain.verified, chain.chainStart, chain.gaps], [null, 3, 1, []]);
      assert.equal((await verifyAuditChain(dynamo, otherEnv, keys)).verified, 1);
      // A retried append of seq 3 (the activity ran twice) leaves the chain as it was.
      await activities.appendAudit(e3);
      assert.equal((await verifyAuditChain(dynamo, env, keys)).broken, null);
    });
  });

  describe('environmentStage', () => {
    it("is 'not_started' for an env without a migration workflow", async () => {
      assert.deepEqual(await activities.environmentStage({ env: `${env}-none` }), { stage: 'not_started' });
    });

    it('asks a running workflow, falls back to its search attribute without a worker, and reads a closed one', async () => {
      const taskQueue = `activities-test-${suffix}`;
      const nativeConnection = await NativeConnection.connect({ address: formatHostPort(cfg.temporal.address) });
      try {
        const worker = await Worker.create({
          connection: nativeConnection,
          namespace: cfg.temporal.namespace,
          taskQueue,
          workflowsPath: require.resolve('./fixtures/stage-workflow.ts'),
        });
        const handle = await temporal.workflow.start('stageFixtureWorkflow', {
          taskQueue,
          workflowId: migrationWorkflowId(env),
          args: [env, 'science', 'dual_write'],
        });
        await worker.runUntil(async () => {
          assert.deepEqual(await activities.environmentStage({ env }), { stage: 'science' }, 'from the state query');
        });
        // No worker polls now: the query cannot be answered, the search attribute can.
        assert.deepEqual(await activities.environmentStage({ env }), { stage: 'dual_write' }, 'from the search attribute');

        const finisher = await Worker.create({
          connection: nativeConnection,
          namespace: cfg.temporal.namespace,
          taskQueue,
          workflowsPath: require.resolve('./fixtures/stage-workflow.ts'),
        });
        await finisher.runUntil(async () => {
          await handle.signal('finish');
          await handle.result();
        });
        assert.deepEqual(await activities.environmentStage({ env }), { stage: 'complete' }, 'closed');
      } finally {
        await nativeConnection.close();
      }
    });
  });
});
