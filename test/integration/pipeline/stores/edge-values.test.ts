/**
 * Edge float64 statistics through both real stores of the local stack: every finite value
 * Cassandra's double holds must also be held, exactly, by the DynamoDB store (nothing rejected,
 * so nothing would be dead-lettered), and both must read back the same float64 (Object.is) —
 * written through each store directly, and end to end through the metrics topic and both writer
 * processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type cassandra from 'cassandra-driver';
import { createCassandraClient, createDynamoClient, createKafka } from '../../../../config/clients.js';
import { loadConfig } from '../../../../config/config.js';
import { encodeMetricPoint } from '../../../../pipeline/kernel/codec/metric-point-codec.js';
import { envTopics, ensureTopics } from '../../../../pipeline/kernel/topics.js';
import { dropEnv, openStores, readTopic, testEnv, writerProcess, type PipelineProcess } from '../../../support/pipeline.js';
import { MINUTE_MS } from '../../../../contract/index.js';
import { minuteOf, POINT_STATS, type MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { createMetricStore } from '../../../../pipeline/kernel/stores/create-metric-store.js';
import { dynamoTableFor } from '../../../../pipeline/kernel/stores/dynamodb-store.js';
import type { MetricStore, StoreKind } from '../../../../pipeline/kernel/stores/metric-store.js';

const cfg = loadConfig();
const ENV = `edge-${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
const RETENTION_MS = 24 * 60 * MINUTE_MS;
const BASE = minuteOf(Date.now()) - 30 * MINUTE_MS;

const EDGES = [5e-324, 2.2250738585072014e-308, Number.MAX_VALUE, -Number.MAX_VALUE, 0.30000000000000004, 1.2345678901234567e-200, 1e126, 1e-131, 0, -0];

/** One point per edge value, every statistic but count set to it; plus one point mixing them. */
function edgePoints(): MetricPoint[] {
  const points = EDGES.map((v, i) => ({
    app: 'edge',
    metric: 'router.service_ms',
    minute: BASE + i * MINUTE_MS,
    count: i + 1,
    min: v,
    max: v,
    sum: v,
    median: v,
    p95: v,
    p99: v,
  }));
  points.push({
    app: 'edge',
    metric: 'router.service_ms',
    minute: BASE + EDGES.length * MINUTE_MS,
    count: Number.MAX_SAFE_INTEGER,
    min: -Number.MAX_VALUE,
    median: -0,
    p95: 5e-324,
    p99: 1.2345678901234567e-200,
    max: Number.MAX_VALUE,
    sum: 0.30000000000000004,
  });
  return points;
}

for (const kind of ['cassandra', 'dynamodb'] as const satisfies readonly StoreKind[]) {
  describe(`${kind} store keeps edge float64 statistics exactly`, () => {
    let store: MetricStore;
    let adminCassandra: cassandra.Client | undefined;
    let adminDynamo: DynamoDBClient | undefined;

    before(async () => {
      if (kind === 'cassandra') adminCassandra = createCassandraClient(cfg);
      else adminDynamo = createDynamoClient(cfg);
      store = createMetricStore(kind, {
        env: ENV,
        retentionMs: RETENTION_MS,
        ...(kind === 'cassandra' ? { cassandraClient: createCassandraClient(cfg) } : { dynamoClient: createDynamoClient(cfg) }),
      });
      await store.ensureSchema();
    });

    after(async () => {
      await store.close();
      await adminCassandra?.shutdown();
      adminDynamo?.destroy();
      await dropEnv(cfg, ENV);
    });

    it('writes every edge point, rejecting none, and reads each statistic back Object.is-equal', async () => {
      const written = edgePoints();
      assert.deepEqual(await store.writePoints(written), { written: written.length, expired: 0, rejected: [] });
      const read = await store.readSeries({ app: 'edge', metric: 'router.service_ms', fromMinute: BASE, toMinute: BASE + 60 * MINUTE_MS });
      assert.equal(read.length, written.length);
      read.forEach((r, i) => {
        assert.equal(r.minute, written[i]!.minute);
        for (const stat of POINT_STATS)
          assert.ok(Object.is(r[stat], written[i]![stat]), `${kind} minute #${i} ${stat}: wrote ${written[i]![stat]}, read ${r[stat]}`);
      });
    });

    if (kind === 'dynamodb') {
      it('holds out-of-domain values as exact bits and ordinary values as Numbers', async () => {
        const item = async (i: number) =>
          (
            await adminDynamo!.send(
              new GetItemCommand({
                TableName: dynamoTableFor(ENV),
                Key: { series: { S: 'edge#router.service_ms' }, minute: { N: String(BASE + i * MINUTE_MS) } },
                ConsistentRead: true,
              }),
            )
          ).Item!;
        assert.deepEqual((await item(EDGES.indexOf(Number.MAX_VALUE))).max, { S: '7fefffffffffffff' });
        assert.deepEqual((await item(EDGES.length - 2)).min, { N: '0' });
        assert.deepEqual((await item(EDGES.length - 1)).min, { S: '8000000000000000' });
        assert.deepEqual((await item(EDGES.indexOf(0.30000000000000004))).p99, { N: '0.30000000000000004' });
      });
    }
  });
}

describe('edge float64 statistics through the metrics topic and both writer processes', () => {
  const env = testEnv('edgew');
  const procs: PipelineProcess[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dropEnv(cfg, env);
  });

  it('both writers store every edge point, none dead-lettered, each statistic read back Object.is-equal from both stores', async () => {
    const kafka = createKafka(cfg, { clientId: 'test-edge-writers' });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, env, 4);
    await admin.disconnect();
    procs.push(
      writerProcess(`${env}-writer-cassandra`, env, 'cassandra', ['--mode', 'on']).start(),
      writerProcess(`${env}-writer-dynamodb`, env, 'dynamodb', ['--mode', 'on']).start(),
    );
    await Promise.all(procs.map((p) => p.waitForLog(/running/)));
    // The points as the aggregator publishes them (the same codec), plus one bad message so the
    // dead-letter topic is known to be read: it must be all that is there.
    const written = edgePoints();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: envTopics(env).metrics,
      messages: [...written.map((p) => ({ key: p.app, value: encodeMetricPoint(p) })), { key: 'edge', value: Buffer.from('{"v":1,') }],
    });
    await producer.disconnect();

    const stores = openStores(cfg, env);
    try {
      const q = { app: 'edge', metric: 'router.service_ms', fromMinute: BASE, toMinute: BASE + 60 * MINUTE_MS };
      for (const kind of ['cassandra', 'dynamodb'] as const) {
        let read: MetricPoint[] = [];
        for (const deadline = Date.now() + 60_000; read.length < written.length && Date.now() < deadline;) {
          read = await stores[kind].readSeries(q);
          if (read.length < written.length) await new Promise((r) => setTimeout(r, 500));
        }
        assert.equal(read.length, written.length, `${kind}: ${read.length} of ${written.length} edge points stored`);
        read.forEach((r, i) => {
          for (const stat of POINT_STATS)
            assert.ok(Object.is(r[stat], written[i]![stat]), `${kind} via its writer, minute #${i} ${stat}: published ${written[i]![stat]}, read ${r[stat]}`);
        });
      }
    } finally {
      await stores.close();
    }
    // Each writer dead-letters the malformed message (after the edge points in the same
    // partition), and nothing else: no edge point was rejected by either store.
    const dlq = await readTopic(cfg, envTopics(env).metricsDlq, 2, 30_000);
    const entries = dlq.map((d) => `${d.headers['switchyard-sink']}:${d.headers['switchyard-kind']}`).sort();
    assert.deepEqual(entries, ['cassandra:malformed-point', 'dynamodb:malformed-point'], dlq.map((d) => JSON.stringify(d.headers)).join('\n'));
  });
});
