import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createKafka } from '../../../config/clients.js';
import { encodeMetricPoint } from '../../../pipeline/kernel/codec/metric-point-codec.js';
import { decodeObservations, encodeObservationBatch } from '../../../pipeline/kernel/codec/observation-codec.js';
import type { Observation } from '../../../pipeline/kernel/model/observation.js';
import { envTopics } from '../../../pipeline/kernel/topics.js';
import { testConfig } from '../../support/stack.js';
import { batchCompute, dropEnv, launchPipeline, openStores, readTopic, testEnv, waitForStores, type PipelineProcess } from '../../support/pipeline.js';

// Valid and malformed messages mixed: the valid ones are aggregated, each malformed one lands in
// the dead-letter topic with its reason and its original bytes, and the job stays up.
const cfg = testConfig();

describe('pipeline: bad input', () => {
  const env = testEnv('bad');
  const procs: PipelineProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dropEnv(cfg, env);
  });

  it('dead-letters every malformed message with its reason and aggregates the rest', async () => {
    procs.push(...(await launchPipeline(cfg, env)).all);
    const kafka = createKafka(cfg, { clientId: 'test-bad' });

    const t0 = Date.now() - 10 * 60_000;
    const valid: Observation[] = [];
    for (let i = 0; i < 600; i++) valid.push({ app: `app-${i % 3}`, metric: 'router.service_ms', value: 1 + ((i * 7) % 50), time: t0 + i * 500 });
    const bad: { key: string | null; value: Buffer; reason: RegExp }[] = [
      { key: 'app-0', value: Buffer.from([0x01, 0x02, 0x03]), reason: /unknown format/ },
      { key: 'app-0', value: Buffer.from('{"app": "app-0", "metric": '), reason: /invalid JSON/ },
      { key: 'app-1', value: encodeObservationBatch([valid[1]!]).subarray(0, 10), reason: /truncated/ },
      {
        key: 'app-1',
        value: Buffer.from(JSON.stringify({ app: 'app-1', metric: 'router.service_ms', value: 'slow', time: t0 })),
        reason: /value must be a number/,
      },
      { key: 'app-2', value: encodeObservationBatch([{ app: 'app-2', metric: 'router.service_ms', value: Number.NaN, time: t0 }]), reason: /NaN/ },
      {
        key: 'app-2',
        value: encodeObservationBatch([{ app: 'app-2', metric: 'router.service_ms', value: Number.POSITIVE_INFINITY, time: t0 }]),
        reason: /infinite/,
      },
      { key: 'app-0', value: encodeObservationBatch([{ app: 'app-0', metric: 'router.service_ms', value: -3, time: t0 }]), reason: /negative/ },
      {
        key: 'app-0',
        value: encodeObservationBatch([{ app: 'app-0', metric: 'router.service_ms', value: 3, time: Date.now() + 3_600_000 }]),
        reason: /in the future/,
      },
      {
        key: 'app-1',
        value: encodeObservationBatch([{ app: 'app-1', metric: 'router.service_ms', value: 3, time: Date.now() - 3 * 86_400_000 }]),
        reason: /in the past/,
      },
      {
        key: 'x'.repeat(300),
        value: Buffer.from(JSON.stringify({ app: 'x'.repeat(300), metric: 'router.service_ms', value: 1, time: t0 })),
        reason: /more than 128/,
      },
      { key: null, value: Buffer.alloc(0), reason: /empty message/ },
    ];
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Interleave: valid batches of 50 with a bad message after each.
    for (let i = 0; i < 12; i++) {
      const chunk = valid.slice(i * 50, (i + 1) * 50);
      const byApp = new Map<string, Observation[]>();
      for (const o of chunk) byApp.set(o.app, [...(byApp.get(o.app) ?? []), o]);
      await producer.send({
        topic: envTopics(env).observations,
        messages: [...byApp].map(([app, list]) => ({ key: app, value: encodeObservationBatch(list) })),
      });
      const b = bad[i];
      if (b) await producer.send({ topic: envTopics(env).observations, messages: [{ key: b.key, value: b.value }] });
    }
    await producer.disconnect();

    const stores = openStores(cfg, env);
    try {
      await waitForStores(stores, batchCompute(valid), 90_000);
    } finally {
      await stores.close();
    }

    const dlq = await readTopic(cfg, envTopics(env).observationsDlq, bad.length);
    assert.equal(dlq.length, bad.length, `one dead letter per malformed message: ${JSON.stringify(dlq.map((d) => d.headers['switchyard-reason']))}`);
    for (const b of bad) {
      const match = dlq.find((d) => (d.value ?? Buffer.alloc(0)).equals(b.value));
      assert.ok(match, `dead letter with the original bytes for ${b.reason}`);
      assert.match(match.headers['switchyard-reason']!, b.reason);
      assert.match(match.headers['switchyard-source']!, new RegExp(`^${env}\\.observations/\\d+/\\d+$`));
    }
    // The reasons make sense on their own, and a dead letter can be decoded again for replay.
    assert.equal(decodeObservations(dlq.find((d) => /NaN/.test(d.headers['switchyard-reason']!))!.value).ok, true);
    const agg = procs[0]!;
    assert.ok(agg.running, 'the aggregator is still up');
    const port = /"metricsPort":(\d+)/.exec(agg.log())![1];
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, new RegExp(`switchyard_dead_letters_total\\{env="${env}",kind="malformed",component="aggregator"\\} 4`));
    assert.match(metrics, new RegExp(`switchyard_dead_letters_total\\{env="${env}",kind="invalid",component="aggregator"\\} 7`));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
  });

  it('publishes a minute whose points exceed the broker\u2019s message size limit in one partition', async () => {
    // One app (one partition) with 3 000 series closing at once, with long app and metric names
    // (about 500 bytes a point with its key): about 1.5 MB of points, more than Kafka's default
    // 1 MiB limit on a partition's record batch, which a single send would break.
    const kafka = createKafka(cfg, { clientId: 'test-wide' });
    // The previous minute: ahead of the watermark the first test left (its data is 5-10 min old).
    const t1 = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const app = `wide-app-${'x'.repeat(111)}`;
    const wide: Observation[] = Array.from({ length: 3000 }, (_, i) => ({
      app,
      metric: `wide.${'m'.repeat(100)}${String(i).padStart(4, '0')}`,
      value: 1 + (i % 97),
      time: t1 + 1000 + (i % 50_000),
    }));
    const expected = batchCompute(wide);
    const minuteBytes = [...expected.values()].reduce((n, p) => n + encodeMetricPoint(p).length + Buffer.byteLength(p.app), 0);
    assert.ok(minuteBytes > 1.3 * 1024 * 1024, `the minute's points and keys are ${minuteBytes} bytes, well over 1 MiB`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < wide.length; i += 1000)
      await producer.send({ topic: envTopics(env).observations, messages: [{ key: app, value: encodeObservationBatch(wide.slice(i, i + 1000)) }] });
    // A later observation of the same app moves the watermark past the minute (lateness 60 s).
    await producer.send({
      topic: envTopics(env).observations,
      messages: [{ key: app, value: encodeObservationBatch([{ app, metric: wide[0]!.metric, value: 1, time: t1 + 3 * 60_000 }]) }],
    });
    await producer.disconnect();
    const stores = openStores(cfg, env);
    try {
      await waitForStores(stores, expected, 120_000);
    } finally {
      await stores.close();
    }
    const agg = procs[0]!;
    assert.ok(agg.running, 'the aggregator is still up');
    assert.doesNotMatch(agg.log(), /larger than the max message size/);
  });
});
