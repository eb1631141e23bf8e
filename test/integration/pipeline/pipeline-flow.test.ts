import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createKafka } from '../../../config/clients.js';
import { sendObservations } from '../../../tools/generator/observation-sender.js';
import { DEFAULT_METRICS, generateWorkload, type WorkloadOptions } from '../../../tools/generator/workload.js';
import { envTopics } from '../../../pipeline/kernel/topics.js';
import { testConfig } from '../../support/stack.js';
import { batchCompute, dropEnv, launchPipeline, openStores, testEnv, waitForStores, type PipelineProcess } from '../../support/pipeline.js';

// A seeded workload flows through Kafka; every point in BOTH stores must equal an independent
// batch computation over the same observations (count, min, max, sum and the exact percentiles).
const cfg = testConfig();

describe('pipeline: observations to both stores', () => {
  const env = testEnv('flow');
  const procs: PipelineProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dropEnv(cfg, env);
  });

  it('stores in Cassandra and DynamoDB exactly what a batch computation gives', async () => {
    procs.push(...(await launchPipeline(cfg, env)).all);
    const kafka = createKafka(cfg, { clientId: 'test-flow' });

    const workload: WorkloadOptions = {
      seed: 42,
      apps: 12,
      metrics: DEFAULT_METRICS,
      count: 30_000,
      startTime: Date.now() - 14 * 60_000,
      spanMs: 10 * 60_000,
      jitterMs: 2000,
    };
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = await sendObservations(producer, generateWorkload(workload), { topic: envTopics(env).observations, ratePerSec: 10_000 });
    await producer.disconnect();
    assert.equal(sent.observations, workload.count);

    const expected = batchCompute(generateWorkload(workload));
    assert.ok(expected.size > 200, `a meaningful number of points (${expected.size})`);
    const stores = openStores(cfg, env);
    try {
      await waitForStores(stores, expected, 90_000);
    } finally {
      await stores.close();
    }
    for (const p of procs) assert.ok(p.running, `${p.name} is still running`);
  });
});
