/**
 * Both real stores, one test body: the real Cassandra and the DynamoDB-compatible endpoint of the
 * local stack must give the same answers, because science mode compares them.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DeleteTableCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type cassandra from 'cassandra-driver';
import { createCassandraClient, createDynamoClient } from '../../../../config/clients.js';
import { loadConfig } from '../../../../config/config.js';
import { MINUTE_MS } from '../../../../contract/index.js';
import { minuteOf, type MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { CASSANDRA_TABLE, cassandraKeyspaceFor } from '../../../../pipeline/kernel/stores/cassandra-store.js';
import { createMetricStore } from '../../../../pipeline/kernel/stores/create-metric-store.js';
import { DYNAMO_TTL_UNSUPPORTED_WARNING, dynamoTableFor } from '../../../../pipeline/kernel/stores/dynamodb-store.js';
import type { MetricStore, StoreKind } from '../../../../pipeline/kernel/stores/metric-store.js';
import { StoreError } from '../../../../pipeline/kernel/stores/store-error.js';

const cfg = loadConfig();
// Unique per run; the '-' also checks the env → keyspace mapping ('-' becomes '_').
const ENV = `it-${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
const RETENTION_MS = 24 * 60 * MINUTE_MS;
const REAL_NOW = Date.now();
// Minutes near real time, so Cassandra's own TTLs (counted on its clock) are sane.
const BASE = minuteOf(REAL_NOW);

function point(app: string, minute: number, overrides: Partial<MetricPoint> = {}): MetricPoint {
  return { app, metric: 'router.service_ms', minute, count: 4, min: 1.25, max: 8.5, sum: 17, median: 3.5, p95: 8.5, p99: 8.5, ...overrides };
}

const isNonRetriableSchemaError = (err: unknown): boolean => {
  assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
  assert.equal(err.retriable, false);
  assert.match(err.message, /ensureSchema/);
  return true;
};

for (const kind of ['cassandra', 'dynamodb'] as const satisfies readonly StoreKind[]) {
  describe(`${kind} metric store on the local stack`, () => {
    let clock = REAL_NOW;
    let store: MetricStore;
    // A second client for looking underneath the store (raw rows, schema) and for cleanup.
    let adminCassandra: cassandra.Client | undefined;
    let adminDynamo: DynamoDBClient | undefined;

    /** How many rows/items the database itself holds for a series, whatever their expiry. */
    async function rawRows(app: string, metric = 'router.service_ms'): Promise<Record<string, unknown>[]> {
      if (kind === 'cassandra') {
        const rs = await adminCassandra!.execute(
          `SELECT minute, TTL(count) AS ttl FROM ${cassandraKeyspaceFor(ENV)}.${CASSANDRA_TABLE} WHERE app = ? AND metric = ?`,
          [app, metric],
          { prepare: true },
        );
        return rs.rows.map((r) => ({ minute: (r.get('minute') as Date).getTime(), ttl: r.get('ttl') as number }));
      }
      const out = await adminDynamo!.send(
        new QueryCommand({
          TableName: dynamoTableFor(ENV),
          KeyConditionExpression: 'series = :s',
          ExpressionAttributeValues: { ':s': { S: `${app}#${metric}` } },
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []).map((i) => ({ minute: Number(i.minute!.N), expiresAt: Number(i.expiresAt!.N) }));
    }

    before(() => {
      if (kind === 'cassandra') adminCassandra = createCassandraClient(cfg);
      else adminDynamo = createDynamoClient(cfg);
      store = createMetricStore(kind, {
        env: ENV,
        retentionMs: RETENTION_MS,
        now: () => clock,
        ...(kind === 'cassandra' ? { cassandraClient: createCassandraClient(cfg) } : { dynamoClient: createDynamoClient(cfg) }),
      });
    });

    beforeEach(() => {
      clock = REAL_NOW;
    });

    after(async () => {
      await store.close();
      if (adminCassandra) {
        await adminCassandra.execute(`DROP KEYSPACE IF EXISTS ${cassandraKeyspaceFor(ENV)}`);
        await adminCassandra.shutdown();
      }
      if (adminDynamo) {
        await adminDynamo.send(new DeleteTableCommand({ TableName: dynamoTableFor(ENV) }));
        adminDynamo.destroy();
      }
    });

    it('fails writes and reads before ensureSchema with a non-retriable error, rejecting no point', async () => {
      await assert.rejects(store.writePoints([point('early', BASE)]), isNonRetriableSchemaError);
      await assert.rejects(store.readSeries({ app: 'early', metric: 'router.service_ms', fromMinute: BASE, toMinute: BASE }), isNonRetriableSchemaError);
    });

    it('ensureSchema creates the schema and is idempotent', async () => {
      const first = await store.ensureSchema();
      const second = await store.ensureSchema();
      if (kind === 'dynamodb') {
        // dynalite has no UpdateTimeToLive: a warning, not a failure.
        assert.deepEqual(first, [DYNAMO_TTL_UNSUPPORTED_WARNING]);
        assert.deepEqual(second, [DYNAMO_TTL_UNSUPPORTED_WARNING]);
      } else {
        assert.deepEqual(first, []);
        assert.deepEqual(second, []);
        assert.equal(cassandraKeyspaceFor(ENV), `switchyard_${ENV.replace('-', '_')}`);
        const rs = await adminCassandra!.execute(
          'SELECT default_time_to_live, compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
          [cassandraKeyspaceFor(ENV), CASSANDRA_TABLE],
          { prepare: true },
        );
        assert.equal(rs.rowLength, 1);
        assert.equal(rs.first().get('default_time_to_live'), RETENTION_MS / 1000);
        const compaction = rs.first().get('compaction') as Record<string, string>;
        assert.equal(compaction.class, 'org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy');
        assert.equal(compaction.compaction_window_unit, 'DAYS');
        assert.equal(compaction.compaction_window_size, '1');
        const ks = await adminCassandra!.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [cassandraKeyspaceFor(ENV)], {
          prepare: true,
        });
        assert.equal((ks.first().get('replication') as Record<string, string>).replication_factor, '1');
      }
    });

    it('reads back awkward doubles exactly', async () => {
      const awkward = [
        0.1 + 0.2,
        1e-7,
        123456.789012345,
        9007199254740991,
        1.2345678901234567e125,
        -4.9406564584124654e-100,
        2 / 3,
        Math.PI * 1e20,
        1e21,
        -0.000001234,
        Number.MAX_SAFE_INTEGER / 3,
        0,
      ];
      const written = awkward.map((v, i) =>
        point('doubles', BASE - i * MINUTE_MS, {
          count: i === 0 ? Number.MAX_SAFE_INTEGER : i,
          min: v,
          max: awkward[(i + 1) % awkward.length]!,
          sum: v === 0 ? 0 : -v, // -0 has its own test below
          median: v / 7,
          p95: v * 3,
          p99: awkward[(i + 5) % awkward.length]!,
        }),
      );
      assert.deepEqual(await store.writePoints(written), { written: written.length, expired: 0, rejected: [] });
      const read = await store.readSeries({ app: 'doubles', metric: 'router.service_ms', fromMinute: BASE - 60 * MINUTE_MS, toMinute: BASE });
      assert.deepEqual(read, [...written].reverse());
    });

    it('keeps negative zero (DynamoDB holds it as exact bits, its Number has no -0)', async () => {
      await store.writePoints([point('zero', BASE, { min: -0, sum: -0 })]);
      const [read] = await store.readSeries({ app: 'zero', metric: 'router.service_ms', fromMinute: BASE, toMinute: BASE });
      assert.ok(Object.is(read!.min, -0) && Object.is(read!.sum, -0), `expected -0, got min ${read!.min}, sum ${read!.sum}`);
      assert.deepEqual(read, point('zero', BASE, { min: -0, sum: -0 }));
    });

    it('upserts: the same key written twice holds the second values', async () => {
      const secondValues = { count: 9, min: 0.5, max: 99.125, sum: 150.75, median: 12.5, p95: 88.875, p99: 99 };
      assert.deepEqual(await store.writePoints([point('upsert', BASE)]), { written: 1, expired: 0, rejected: [] });
      assert.deepEqual(await store.writePoints([point('upsert', BASE, secondValues)]), { written: 1, expired: 0, rejected: [] });
      assert.deepEqual(await store.readSeries({ app: 'upsert', metric: 'router.service_ms', fromMinute: BASE, toMinute: BASE }), [
        point('upsert', BASE, secondValues),
      ]);
      // Duplicates inside one batch: the last one wins, as sequential upserts would.
      assert.deepEqual(await store.writePoints([point('upsert', BASE, { p99: 1 }), point('upsert', BASE, { p99: 2 })]), {
        written: 2,
        expired: 0,
        rejected: [],
      });
      assert.deepEqual(await store.readSeries({ app: 'upsert', metric: 'router.service_ms', fromMinute: BASE, toMinute: BASE }), [
        point('upsert', BASE, { p99: 2 }),
      ]);
      assert.equal((await rawRows('upsert')).length, 1);
    });

    it('reads inclusive minute ranges in ascending order, one series only', async () => {
      const minutes = [2, 0, 4, 1, 3].map((i) => BASE - 10 * MINUTE_MS + i * MINUTE_MS);
      await store.writePoints(minutes.map((m, i) => point('range', m, { count: i + 1 })));
      await store.writePoints([point('range', minutes[3]!, { metric: 'other.metric' }), point('range-2', minutes[3]!)]);
      const m = (i: number): number => BASE - 10 * MINUTE_MS + i * MINUTE_MS;
      const read = await store.readSeries({ app: 'range', metric: 'router.service_ms', fromMinute: m(1), toMinute: m(3) });
      assert.deepEqual(
        read.map((p) => p.minute),
        [m(1), m(2), m(3)],
      );
      assert.deepEqual(read, [point('range', m(1), { count: 4 }), point('range', m(2), { count: 1 }), point('range', m(3), { count: 5 })]);
      assert.deepEqual(
        (await store.readSeries({ app: 'range', metric: 'router.service_ms', fromMinute: m(4), toMinute: m(4) })).map((p) => p.minute),
        [m(4)],
      );
      assert.deepEqual(await store.readSeries({ app: 'range', metric: 'router.service_ms', fromMinute: m(5), toMinute: m(9) }), []);
      assert.deepEqual(await store.readSeries({ app: 'range', metric: 'router.service_ms', fromMinute: m(3), toMinute: m(1) }), []);
    });

    it('stops returning a point once minute + retention has passed, though the database still holds it', async () => {
      const minute = BASE - 5 * MINUTE_MS;
      assert.deepEqual(await store.writePoints([point('expiry', minute)]), { written: 1, expired: 0, rejected: [] });
      const raw = await rawRows('expiry');
      assert.equal(raw.length, 1);
      if (kind === 'cassandra') {
        // USING TTL = seconds left until minute + retention, counted from the write, plus one
        // (Cassandra counts from the write's whole second: never expire before the read filter).
        const expected = Math.ceil((minute + RETENTION_MS - REAL_NOW) / 1000) + 1;
        const ttl = raw[0]!.ttl as number;
        assert.ok(ttl <= expected && ttl >= expected - 60, `TTL ${ttl} should be just under ${expected}`);
      } else {
        assert.equal(raw[0]!.expiresAt, Math.ceil((minute + RETENTION_MS) / 1000));
      }
      const query = { app: 'expiry', metric: 'router.service_ms', fromMinute: minute, toMinute: minute };
      clock = minute + RETENTION_MS - 1;
      assert.deepEqual(await store.readSeries(query), [point('expiry', minute)]);
      clock = minute + RETENTION_MS;
      assert.deepEqual(await store.readSeries(query), []);
      // Still there underneath (dynalite never deletes; Cassandra's TTL is a day away): the store filtered it.
      assert.equal((await rawRows('expiry')).length, 1);
    });

    it('counts a point already expired at write time and does not store it', async () => {
      const stale = point('stale', BASE - RETENTION_MS);
      const live = point('stale', BASE - RETENTION_MS + MINUTE_MS);
      clock = BASE; // stale expires exactly now
      assert.deepEqual(await store.writePoints([stale, live]), { written: 1, expired: 1, rejected: [] });
      assert.deepEqual(
        (await rawRows('stale')).map((r) => r.minute),
        [live.minute],
      );
    });

    it('writes a batch of 120 points and reads them all back', async () => {
      const batch = Array.from({ length: 120 }, (_, i) => point('bulk', BASE - (119 - i) * MINUTE_MS, { count: i, sum: i * 1.1 }));
      const shuffled = [...batch].sort((a, b) => ((a.count * 7919) % 120) - ((b.count * 7919) % 120));
      assert.deepEqual(await store.writePoints(shuffled), { written: 120, expired: 0, rejected: [] });
      assert.deepEqual(await store.readSeries({ app: 'bulk', metric: 'router.service_ms', fromMinute: BASE - 200 * MINUTE_MS, toMinute: BASE }), batch);
    });

    it('returns invalid points in rejected with a reason and still writes the rest', async () => {
      const good = [point('mixed', BASE - 2 * MINUTE_MS), point('mixed', BASE - MINUTE_MS), point('mixed', BASE)];
      const hash = point('mix#ed', BASE);
      const nan = point('mixed', BASE - 3 * MINUTE_MS, { p95: Number.NaN });
      // Too long for either database's partition key: refused by the database (or its driver), not by our checks.
      const hugeKey = point('x'.repeat(70_000), BASE);
      const result = await store.writePoints([good[0]!, hash, nan, good[1]!, hugeKey, good[2]!]);
      assert.equal(result.written, 3);
      assert.equal(result.expired, 0);
      assert.deepEqual(
        result.rejected.map((r) => r.point),
        [hash, nan, hugeKey],
      );
      assert.match(result.rejected[0]!.reason, /contains '#'/);
      assert.match(result.rejected[1]!.reason, /p95 NaN must be a finite number/);
      assert.match(result.rejected[2]!.reason, new RegExp(`^${kind === 'cassandra' ? 'cassandra' : 'dynamodb'} .*`));
      assert.deepEqual(await store.readSeries({ app: 'mixed', metric: 'router.service_ms', fromMinute: BASE - 3 * MINUTE_MS, toMinute: BASE }), good);
    });

    it("stores a value beyond DynamoDB's number range (1e200), exactly, rejecting nothing", async () => {
      const big = point('range-limit', BASE, { max: 1e200 });
      const result = await store.writePoints([big, point('range-limit', BASE - MINUTE_MS)]);
      const read = await store.readSeries({ app: 'range-limit', metric: 'router.service_ms', fromMinute: BASE - MINUTE_MS, toMinute: BASE });
      assert.deepEqual(result, { written: 2, expired: 0, rejected: [] });
      assert.deepEqual(read, [point('range-limit', BASE - MINUTE_MS), big]);
    });
  });
}
