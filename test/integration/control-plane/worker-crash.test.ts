import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { readAudit } from '../../../audit/audit-log.js';
import { createDynamoClient, createKafka } from '../../../config/clients.js';
import { demoPolicy } from '../../../config/migration-policy.js';
import { CONTROL_TOPIC, initialControlState } from '../../../control/index.js';
import { createControlStateClient, type ControlStateClient } from '../../../control/subscriber.js';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId, type MigrationState, type UpdateResult } from '../../../contract/index.js';
import { testConfig } from '../../support/stack.js';
import { startControlWorker, temporalClient } from '../../support/migration-rig.js';
import { dropEnv, PipelineProcess, testEnv } from '../../support/pipeline.js';

// Killing the worker in the middle of a transition (after the control state is published, while
// it waits for the data plane's acknowledgements) and starting it again finishes that transition
// exactly once: one control-state version for it, one audit entry.
const cfg = testConfig();

/** Every control-state record published for env, in order. */
async function controlRecords(env: string): Promise<{ version: number; transitionId?: string }[]> {
  const kafka = createKafka(cfg, { clientId: 'test-control-reader' });
  const admin = kafka.admin();
  await admin.connect();
  const end = await admin.fetchTopicOffsets(CONTROL_TOPIC);
  await admin.disconnect();
  const last = Number(end[0]!.high) - 1;
  const out: { version: number; transitionId?: string }[] = [];
  const consumer = kafka.consumer({ groupId: `test-control-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: CONTROL_TOPIC, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 20_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key?.toString() === env && message.value) out.push(JSON.parse(message.value.toString()) as { version: number; transitionId?: string });
        if (Number(message.offset) >= last) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return out;
}

describe('control plane: a worker killed mid-transition', () => {
  const env = testEnv('crashwf');
  const taskQueue = `switchyard-test-${env}`;
  const kafka = createKafka(cfg, { clientId: 'test-worker-crash' });
  const dynamo = createDynamoClient(cfg);
  const instances: ControlStateClient[] = [];
  let worker: PipelineProcess;
  let client: Client;
  let closeTemporal: () => Promise<void>;
  let applyStarted: (() => void) | undefined;
  const applying = new Promise<void>((r) => (applyStarted = r));

  before(async () => {
    const initial = initialControlState(env, 600_000);
    instances.push(createControlStateClient({ kafka, env, role: 'writer-cassandra', initial, heartbeatIntervalMs: 500 }));
    // A slow instance: applying version 1 takes 8 s, long enough to kill the worker while it waits.
    instances.push(
      createControlStateClient({
        kafka,
        env,
        role: 'writer-dynamodb',
        initial,
        heartbeatIntervalMs: 500,
        onChange: async (next) => {
          if (next.version === 1) {
            applyStarted?.();
            await sleep(8000);
          }
        },
      }),
    );
    await Promise.all(instances.map((i) => i.start()));
    worker = await startControlWorker(env, taskQueue);
    ({ client, close: closeTemporal } = await temporalClient(cfg));
  });
  after(async () => {
    await client.workflow
      .getHandle(migrationWorkflowId(env))
      .terminate('test over')
      .catch(() => undefined);
    await closeTemporal();
    await worker.stop('SIGKILL');
    await Promise.all(instances.map((i) => i.stop()));
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  it('finishes the interrupted transition once', async () => {
    const policy = { ...demoPolicy([env]), cohorts: [], ackTimeoutMs: 15_000 };
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue, args: [{ env, policy }] });
    const handle = client.workflow.getHandle(migrationWorkflowId(env));
    const requestId = randomUUID();
    const start = handle.executeUpdate<UpdateResult, [unknown]>('startUpdate', {
      args: [{ identity: 'alice', reason: 'crash test', requestId }],
      updateId: requestId,
    });
    await applying; // the control state is published; the worker waits for acknowledgements
    await worker.stop('SIGKILL');
    await sleep(1000);
    worker.start();
    const result = await start;
    assert.equal(result.stage, 'dual_write');

    const s = await handle.query<MigrationState>('stateQuery');
    assert.equal(s.stage, 'dual_write');
    const records = await controlRecords(env);
    const first = records.filter((r) => r.version === 1);
    assert.equal(first.length, 1, `version 1 published once: ${JSON.stringify(records)}`);
    assert.equal(new Set(records.map((r) => r.transitionId)).size, records.length, 'every transition published once');
    const audit = await readAudit(dynamo, { env });
    assert.equal(audit.filter((e) => e.action === 'start').length, 1, `one audit entry for the start: ${JSON.stringify(audit.map((e) => e.action))}`);
    assert.equal(new Set(audit.map((e) => e.seq)).size, audit.length);
    assert.ok(
      instances.every((i) => i.appliedVersion() >= 1),
      'every instance applied the state',
    );
  });
  // The operator CLI goes through the console now (an API token): its status, rejections and
  // refusals are tested with a console in test/e2e/security.test.ts.
});
