import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { createKafka } from '../../../config/clients.js';
import { sendObservations } from '../../../tools/generator/observation-sender.js';
import { DEFAULT_METRICS, generateWorkload, type WorkloadOptions } from '../../../tools/generator/workload.js';
import { envTopics } from '../../../pipeline/kernel/topics.js';
import { testConfig } from '../../support/stack.js';
import { batchCompute, dropEnv, launchPipeline, openStores, testEnv, waitForStores, type PipelineProcess } from '../../support/pipeline.js';

// kill -9 the aggregator and a writer at random moments, several times during one run: after
// recovery the stored points must still equal the batch computation (no loss, no double count).
const cfg = testConfig();

describe('pipeline: crash recovery', () => {
  const env = testEnv('crash');
  const procs: PipelineProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dropEnv(cfg, env);
  });

  it('loses and double-counts nothing when jobs are killed with SIGKILL mid-run', async () => {
    const launched = await launchPipeline(cfg, env);
    procs.push(...launched.all);
    const aggregator = launched.aggregators[0]!;
    const writers = [launched.writers.cassandra[0]!, launched.writers.dynamodb[0]!];
    const kafka = createKafka(cfg, { clientId: 'test-crash' });

    const workload: WorkloadOptions = {
      seed: 7,
      apps: 10,
      metrics: DEFAULT_METRICS,
      count: 36_000,
      startTime: Date.now() - 14 * 60_000,
      spanMs: 10 * 60_000,
      jitterMs: 1500,
    };
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sending = sendObservations(producer, generateWorkload(workload), { topic: envTopics(env).observations, ratePerSec: 1500 });

    // Chaos, reproducible from its own seed: four SIGKILLs of the aggregator, four of a writer.
    const rng = xoroshiro128plus(2026);
    const kills: string[] = [];
    for (let round = 0; round < 4; round++) {
      await sleep(1500 + uniformFloat64(rng) * 3000);
      await aggregator.stop('SIGKILL');
      kills.push(`aggregator@${round}`);
      aggregator.start();
      await sleep(500 + uniformFloat64(rng) * 2000);
      const w = writers[round % 2]!;
      await w.stop('SIGKILL');
      kills.push(`${w.name}@${round}`);
      w.start();
    }
    const sent = await sending;
    await producer.disconnect();
    assert.equal(sent.observations, workload.count);
    assert.equal(kills.length, 8);

    const stores = openStores(cfg, env);
    try {
      await waitForStores(stores, batchCompute(generateWorkload(workload)), 150_000);
    } finally {
      await stores.close();
    }
    assert.match(aggregator.log(), /taking over partition/);
  });
});
