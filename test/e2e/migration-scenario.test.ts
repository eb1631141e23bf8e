import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import { readAudit } from '../../../activities/audit-log.js';
import { connectTemporal, createDynamoClient, createKafka } from '../../../config/clients.js';
import { demoPolicy } from '../../../config/migration-policy.js';
import { initialControlState } from '../../../pipeline/control/control-state.js';
import { publishControlState, readLatestControlState } from '../../../pipeline/control/control-state-publisher.js';
import { sendObservations } from '../../../pipeline/generator/observation-sender.js';
import { runReadTraffic, type ReadTrafficSummary } from '../../../pipeline/generator/read-traffic.js';
import { generateWorkload } from '../../../pipeline/generator/workload.js';
import { envTopics, writerGroup } from '../../../pipeline/topics.js';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId, type MigrationPolicy, type MigrationState, type UpdateResult } from '../../../workflows/migration-types.js';
import { testConfig } from '../../support/stack.js';
import { dropEnv, launchPipeline, PipelineProcess, queryPort, queryProcess, testEnv } from '../../support/pipeline.js';

// A whole migration of one environment on the real stack with short durations: dual write,
// science with an injected fault that triggers the automatic rollback, the fault cleared and the
// new store repaired, resume, cutover, TTL wait, approval, decommission. No served query fails,
// and the audit table tells the story in order.
const cfg = testConfig();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('control plane: a full migration on the real stack', () => {
  const env = testEnv('mig');
  const taskQueue = `switchyard-test-${env}`;
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'test-migration' });
  const dynamo = createDynamoClient(cfg);
  let producer: Producer;
  let client: Client;
  let closeTemporal: () => Promise<void>;
  let port: number;
  let stopLoad = false;
  let load: Promise<unknown>;
  let reads: Promise<ReadTrafficSummary>;
  let dynamoWriter: PipelineProcess;

  const policy: MigrationPolicy = {
    ...demoPolicy([env]),
    retentionMs: 2 * 60_000,
    ttlGraceMs: 5_000,
    rollbackWindowMs: 5_000,
    bakeMs: { dualWrite: 5_000, science: 10_000, cutover: 10_000 },
    scienceSteps: [50, 100],
    cutoverSteps: [50, 100],
    autoRamp: true,
    autoRampIntervalMs: 4_000,
    minComparisons: 10,
    maxMismatchRate: 0.001,
    maxWriterLag: 10_000,
    evaluationIntervalMs: 2_000,
    evaluationWindowMs: 30_000,
    minSamplesForRollback: 5,
    rollbackMismatchRate: 0.05,
    ackTimeoutMs: 20_000,
    keepOldTables: false,
  };
  const handle = () => client.workflow.getHandle(migrationWorkflowId(env));
  const state = () => handle().query<MigrationState>('stateQuery');
  const update = (name: string, arg: Record<string, unknown>, identity = 'alice'): Promise<UpdateResult> => {
    const requestId = randomUUID();
    return handle().executeUpdate<UpdateResult, [unknown]>(name, { args: [{ identity, reason: `test: ${name}`, requestId, ...arg }], updateId: requestId });
  };
  /** Polls the state until the predicate holds. */
  const waitFor = async (what: string, pred: (s: MigrationState) => boolean, timeoutMs: number): Promise<MigrationState> => {
    const deadline = Date.now() + timeoutMs;
    let s = await state();
    while (!pred(s)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; state: ${JSON.stringify({ stage: s.stage, ramp: s.ramp, paused: s.paused, rolledBack: s.rolledBack, gates: s.gates, last: s.evaluations.slice(-2) })}`);
      await sleep(1000);
      s = await state();
    }
    return s;
  };
  /** Retries an advance until its gate passes (gates need bake times and samples). */
  const advanceWhenReady = async (from: string, timeoutMs: number): Promise<UpdateResult> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await update('advanceUpdate', { from });
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(2000);
      }
    }
  };

  before(async () => {
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const launched = await launchPipeline(cfg, env, { writerMode: 'follow', writerRetention: '2m', aggregatorLateness: '5s' });
    procs.push(...launched.all);
    dynamoWriter = launched.writers.dynamodb[0]!;
    const q = queryProcess(`${env}-query`, env, ['--retention', '2m']).start();
    procs.push(q);
    port = await queryPort(q);
    const worker = new PipelineProcess(`${env}-worker`, 'workers/control-worker.ts', [], { SWITCHYARD_ENVS: env, TEMPORAL_TASK_QUEUE: taskQueue }).start();
    procs.push(worker);
    await worker.waitForLog(/control worker polling/);
    const connection = await connectTemporal(cfg);
    client = new Client({ connection, namespace: cfg.temporal.namespace });
    closeTemporal = () => connection.close();
    // Real-time observations for the whole run, and dashboard-like reads against the query service.
    load = (async () => {
      let seed = 1;
      while (!stopLoad) {
        await sendObservations(producer, generateWorkload({ seed: seed++, apps: 4, metrics: ['router.service_ms'], count: 400, startTime: Date.now(), spanMs: 2000 }), {
          topic: envTopics(env).observations,
          ratePerSec: 200,
        });
      }
    })();
    reads = runReadTraffic({ baseUrl: `http://127.0.0.1:${port}`, env, apps: 4, metrics: ['router.service_ms'], ratePerSec: 8, durationMs: 30 * 60_000, seed: 3, shouldStop: () => stopLoad, ranges: [[5 * 60_000, 1]] });
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue, args: [{ env, policy }] });
  });

  after(async () => {
    stopLoad = true;
    await Promise.race([Promise.allSettled([load, reads]), sleep(15_000)]);
    await handle().terminate('test over').catch(() => undefined);
    await closeTemporal?.();
    await producer.disconnect();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  it('migrates through every stage, rolls back on a fault by itself, and finishes after the fix', async () => {
    await sleep(3000);
    const started = await update('startUpdate', {});
    assert.equal(started.stage, 'dual_write');
    const h = (await state()).coverageHorizon;
    assert.ok(h !== null && h % 60_000 === 0, 'the coverage horizon is a minute');

    await advanceWhenReady('dual_write', 90_000);
    // Comparisons start once the first minute at or after the horizon is closed in both stores (about 1-2 min).
    await waitFor('science at 100%', (s) => s.stage === 'science' && s.ramp === 100, 240_000);

    // Inject a fault: the new store's writer corrupts half the points; science mode must catch it.
    const latest = (await readLatestControlState(kafka, env, 10_000)) ?? initialControlState(env, policy.retentionMs);
    await publishControlState(producer, { ...latest, version: latest.version + 1, faults: { newWriterCorruptionRate: 0.5 }, updatedAt: new Date().toISOString(), updatedBy: 'test', reason: 'fault injected' });
    const rolled = await waitFor('the automatic rollback', (s) => s.rolledBack !== null, 180_000);
    assert.equal(rolled.ramp, 0, 'science ramped back to 0');
    assert.ok(rolled.paused);

    // Fix: fault off, and repair the new store by replaying the metrics topic into it.
    const now = (await readLatestControlState(kafka, env, 10_000))!;
    await publishControlState(producer, { ...now, version: now.version + 1, faults: { newWriterCorruptionRate: 0 }, updatedAt: new Date().toISOString(), updatedBy: 'test', reason: 'fault fixed' });
    await dynamoWriter.stop('SIGTERM');
    const admin = kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: writerGroup(env, 'dynamodb'), topic: envTopics(env).metrics, earliest: true });
    await admin.disconnect();
    dynamoWriter.start();
    await dynamoWriter.waitForLog(/writer running/);
    // Let the mismatches of the faulty minutes leave the evaluation window.
    await sleep(policy.evaluationWindowMs + 35_000);
    const resumed = await update('resumeUpdate', {});
    assert.equal(resumed.stage, 'science');
    await waitFor('science back at 100%', (s) => s.ramp === 100 && s.rolledBack === null, 120_000);

    await advanceWhenReady('science', 120_000);
    await waitFor('cutover at 100%', (s) => s.stage === 'cutover' && s.ramp === 100, 120_000);
    await advanceWhenReady('cutover', 120_000);
    const ttl = await state();
    assert.equal(ttl.stage, 'ttl_wait');
    assert.ok(ttl.ttlGateAt !== null && ttl.ttlGateAt >= h + policy.retentionMs + policy.ttlGraceMs);
    await advanceWhenReady('ttl_wait', 5 * 60_000);
    await assert.rejects(update('approveDecommissionUpdate', {}, 'alice'), (err: Error) => /someone other than alice/.test(String(err.cause instanceof Error ? err.cause.message : err.message)));
    await update('approveDecommissionUpdate', {}, 'bob');
    await waitFor('complete', (s) => s.stage === 'complete', 60_000);

    stopLoad = true;
    const summary = await reads;
    assert.ok(summary.queries > 100, `${summary.queries} queries during the migration`);
    assert.equal(summary.errors, 0, `no served query failed: ${JSON.stringify(summary.errorsByStatus)}`);

    const audit = await readAudit(dynamo, { env, limit: 500 });
    const actions = audit.map((e) => `${e.actor}:${e.action}`);
    const order = ['alice:start', 'alice:advance', 'automatic:automatic_rollback', 'alice:resume', 'alice:advance', 'alice:advance', 'alice:advance', 'bob:approve_decommission'];
    // The story, in order (other entries, e.g. automatic ramp steps, may come in between).
    let i = 0;
    for (const a of actions) if (i < order.length && a === order[i]) i++;
    assert.equal(i, order.length, `the audit log tells the story in order:\n${actions.join('\n')}`);
    assert.deepEqual(
      audit.map((e) => e.seq),
      [...audit.map((e) => e.seq)].sort((a, b) => a - b),
    );
    assert.equal(new Set(audit.map((e) => e.seq)).size, audit.length, 'no duplicate audit entries');
    const rollback = audit.find((e) => e.action === 'automatic_rollback')!;
    assert.ok(Number(rollback.evidence.mismatchRate) > policy.rollbackMismatchRate, `evidence: ${JSON.stringify(rollback.evidence)}`);
  });
});
