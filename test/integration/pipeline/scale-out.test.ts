import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createKafka } from '../../../config/clients.js';
import { sendObservations } from '../../../tools/generator/observation-sender.js';
import { DEFAULT_METRICS, generateWorkload, type WorkloadOptions } from '../../../tools/generator/workload.js';
import { aggregatorGroup, envTopics, writerGroup } from '../../../pipeline/kernel/topics.js';
import { testConfig } from '../../support/stack.js';
import { batchCompute, dropEnv, launchPipeline, openStores, testEnv, waitForStores, type PipelineProcess } from '../../support/pipeline.js';

// Two aggregators and two writers per sink share the work in their consumer groups; stopping
// and starting one of each mid-run (a rebalance) still leaves exactly the batch computation.
const cfg = testConfig();

describe('pipeline: scale-out and rebalance', () => {
  const env = testEnv('scale');
  const procs: PipelineProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dropEnv(cfg, env);
  });

  it('splits partitions between instances and survives members leaving and joining', async () => {
    const launched = await launchPipeline(cfg, env, { aggregators: 2, writersPerSink: 2 });
    procs.push(...launched.all);
    const [aggA, aggB] = launched.aggregators as [PipelineProcess, PipelineProcess];
    const writers = [...launched.writers.cassandra, ...launched.writers.dynamodb];
    const kafka = createKafka(cfg, { clientId: 'test-scale' });
    const admin = kafka.admin();
    await admin.connect();

    const workload: WorkloadOptions = {
      seed: 99,
      apps: 16,
      metrics: DEFAULT_METRICS,
      count: 30_000,
      startTime: Date.now() - 14 * 60_000,
      spanMs: 10 * 60_000,
      jitterMs: 1500,
    };
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sending = sendObservations(producer, generateWorkload(workload), { topic: envTopics(env).observations, ratePerSec: 1500 });

    await sleep(4000);
    // Both aggregators own partitions while both run.
    const groups = await admin.describeGroups([aggregatorGroup(env), writerGroup(env, 'cassandra'), writerGroup(env, 'dynamodb')]);
    for (const g of groups.groups) assert.equal(g.members.length, 2, `${g.groupId} has two members`);
    await aggB.stop('SIGTERM');
    await writers[0]!.stop('SIGTERM');
    await writers[3]!.stop('SIGTERM');
    await sleep(4000);
    aggB.start();
    writers[0]!.start();
    writers[3]!.start();
    const sent = await sending;
    await producer.disconnect();
    assert.equal(sent.observations, workload.count);

    const stores = openStores(cfg, env);
    try {
      await waitForStores(stores, batchCompute(generateWorkload(workload)), 120_000);
    } finally {
      await stores.close();
      await admin.disconnect();
    }
    const owned = (log: string): boolean => /"action":"group-join","partitions":\[\d/.test(log);
    assert.ok(owned(aggA.log()) && owned(aggB.log()), 'both aggregators owned partitions at some point');
  });
});
