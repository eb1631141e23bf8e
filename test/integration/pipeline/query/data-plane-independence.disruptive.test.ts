import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { createKafka } from '../../../../config/clients.js';
import { initialControlState } from '../../../../control/index.js';
import { publishAndAwait } from '../../../../control/publisher.js';
import { sendObservations } from '../../../../tools/generator/observation-sender.js';
import { generateWorkload, type WorkloadOptions } from '../../../../tools/generator/workload.js';
import { MINUTE_MS } from '../../../../contract/index.js';
import { envTopics } from '../../../../pipeline/kernel/topics.js';
import { runStackCli, testConfig } from '../../../support/stack.js';
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

// The data plane depends on nothing but Kafka and its stores: stopping the candidate store during
// science fails no served query and slows none past the candidate timeout, and stopping Temporal
// (and with it anything of the control plane) changes nothing for ingestion, writes and reads.
const cfg = testConfig();
const CANDIDATE_TIMEOUT_MS = 250;

describe('data plane independence', () => {
  const env = testEnv('ind');
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'test-independence' });
  let producer: Producer;
  let port: number;
  const base = Math.floor((Date.now() - 20 * 60_000) / MINUTE_MS) * MINUTE_MS;
  /** Sends a workload and waits until both stores hold exactly its batch computation. */
  const ingestAndCheck = async (w: WorkloadOptions): Promise<void> => {
    await sendObservations(producer, generateWorkload(w), { topic: envTopics(env).observations, ratePerSec: 2000 });
    const stores = openStores(cfg, env);
    try {
      await waitForStores(stores, batchCompute(generateWorkload(w)), 60_000);
    } finally {
      await stores.close();
    }
  };
  const queryAll = async (count: number): Promise<{ failed: number; maxMs: number }> => {
    let failed = 0;
    let maxMs = 0;
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const res = await fetch(
        `http://127.0.0.1:${port}/v1/envs/${env}/apps/app-000${1 + (i % 4)}/metrics/router.service_ms?from=${base}&to=${base + 19 * MINUTE_MS}`,
      );
      await res.arrayBuffer();
      maxMs = Math.max(maxMs, performance.now() - t0);
      if (res.status !== 200) failed++;
    }
    return { failed, maxMs };
  };

  before(async () => {
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    procs.push(...(await launchPipeline(cfg, env, { writerMode: 'follow' })).all);
    const q = queryProcess(`${env}-query`, env, ['--candidate-timeout', `${CANDIDATE_TIMEOUT_MS}ms`]).start();
    procs.push(q);
    port = await queryPort(q);
    const state = {
      ...initialControlState(env, 7 * 86_400_000),
      version: 1,
      newWriter: true,
      coverageHorizon: base,
      sciencePercent: 100,
      updatedAt: new Date().toISOString(),
      updatedBy: 'test',
      reason: 'science at 100%',
    };
    await publishAndAwait({ kafka, producer }, state, { timeoutMs: 20_000 });
  });
  after(async () => {
    await runStackCli(['up']);
    await producer.disconnect();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dropEnv(cfg, env);
  });

  it('serves every query, within the candidate timeout, while the candidate store is down', async () => {
    await ingestAndCheck({ seed: 11, apps: 4, metrics: ['router.service_ms'], count: 3000, startTime: base, spanMs: 8 * MINUTE_MS });
    const healthy = await queryAll(8);
    assert.equal(healthy.failed, 0);

    const down = await runStackCli(['down', 'dynamodb']);
    assert.equal(down.code, 0, down.stderr);
    const during = await queryAll(40);
    assert.equal(during.failed, 0, 'no served query failed');
    assert.ok(
      during.maxMs < CANDIDATE_TIMEOUT_MS,
      `slowest served query took ${during.maxMs.toFixed(0)} ms, under the ${CANDIDATE_TIMEOUT_MS} ms candidate timeout`,
    );
    const up = await runStackCli(['up', 'dynamodb']);
    assert.equal(up.code, 0, up.stderr);
    assert.ok(
      procs.every((p) => p.running),
      'no process crashed while DynamoDB was down',
    );
  });

  it('keeps ingesting, writing and serving while Temporal is down', async () => {
    const down = await runStackCli(['down', 'temporal']);
    assert.equal(down.code, 0, down.stderr);
    await ingestAndCheck({ seed: 12, apps: 4, metrics: ['router.service_ms'], count: 3000, startTime: base + 10 * MINUTE_MS, spanMs: 7 * MINUTE_MS });
    const reads = await queryAll(8);
    assert.equal(reads.failed, 0);
    const up = await runStackCli(['up', 'temporal']);
    assert.equal(up.code, 0, up.stderr);
  });
});
