/**
 * Retry and rejection paths that the real local services cannot be made to produce on demand
 * (throttling, unprocessed items, overloaded nodes), driven through scripted client doubles.
 * The behaviour against the real databases is covered by test/integration/pipeline/stores/ (kernel stores).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import cassandra from 'cassandra-driver';
import { MINUTE_MS } from '../../../../contract/index.js';
import type { MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { CassandraMetricStore } from '../../../../pipeline/kernel/stores/cassandra-store.js';
import { DynamoMetricStore } from '../../../../pipeline/kernel/stores/dynamodb-store.js';
import { backoffDelayMs, DEFAULT_RETRY_POLICY } from '../../../../pipeline/kernel/stores/retry-policy.js';
import { StoreError } from '../../../../pipeline/kernel/stores/store-error.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0);
const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 };
const common = { env: 'test', retentionMs: 3_600_000, now: () => T0, retry: FAST_RETRY };

function points(n: number): MetricPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    app: 'app-1',
    metric: 'm',
    minute: T0 - i * MINUTE_MS,
    count: 1,
    min: i,
    max: i,
    sum: i,
    median: i,
    p95: i,
    p99: i,
  }));
}

/** A DynamoDBClient double that answers each send() with the next scripted reply. */
function scriptedDynamo(replies: ((input: Record<string, unknown>) => unknown)[]): {
  client: DynamoDBClient;
  sent: { command: string; input: Record<string, unknown> }[];
} {
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ command: command.constructor.name, input: command.input });
      const reply = replies.shift();
      if (reply === undefined) throw new Error(`unexpected ${command.constructor.name}`);
      const out = reply(command.input);
      if (out instanceof Error) throw out;
      return out;
    },
    destroy: () => undefined,
  };
  return { client: client as unknown as DynamoDBClient, sent };
}

const throttled = (): Error => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } });
const invalid = (message: string): Error =>
  new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
const requestsOf = (input: Record<string, unknown>): WriteRequest[] => (input.RequestItems as Record<string, WriteRequest[]>)['switchyard-test-metric-points']!;

describe('DynamoMetricStore retries (scripted client)', () => {
  it('retries UnprocessedItems until every item is written', async () => {
    const { client, sent } = scriptedDynamo([
      (input): BatchWriteItemCommandOutput => ({ $metadata: {}, UnprocessedItems: { 'switchyard-test-metric-points': requestsOf(input).slice(1) } }),
      (input): BatchWriteItemCommandOutput => ({ $metadata: {}, UnprocessedItems: { 'switchyard-test-metric-points': requestsOf(input).slice(1) } }),
      (): BatchWriteItemCommandOutput => ({ $metadata: {}, UnprocessedItems: {} }),
    ]);
    const store = new DynamoMetricStore({ ...common, client });
    assert.deepEqual(await store.writePoints(points(3)), { written: 3, expired: 0, rejected: [] });
    // Each retry resends exactly the items DynamoDB left unprocessed.
    assert.deepEqual(
      sent.map((s) => requestsOf(s.input).length),
      [3, 2, 1],
    );
    assert.deepEqual(requestsOf(sent[2]!.input), requestsOf(sent[0]!.input).slice(2));
    assert.ok(sent.every((s) => s.command === BatchWriteItemCommand.name));
  });

  it('retries throttling, then throws a retriable error when attempts run out', async () => {
    const ok = scriptedDynamo([throttled, () => ({ $metadata: {} })]);
    assert.deepEqual(await new DynamoMetricStore({ ...common, client: ok.client }).writePoints(points(2)), { written: 2, expired: 0, rejected: [] });

    const down = scriptedDynamo([throttled, throttled, throttled]);
    await assert.rejects(new DynamoMetricStore({ ...common, client: down.client }).writePoints(points(2)), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.retriable, true);
      assert.match(err.message, /after 3 attempts/);
      return true;
    });
    assert.equal(down.sent.length, 3);
  });

  it('on a ValidationException, puts items one by one and rejects only the refused one', async () => {
    const { client, sent } = scriptedDynamo([
      () => invalid('One or more parameter values were invalid'),
      () => ({ $metadata: {} }),
      () => invalid('Number overflow'),
      () => ({ $metadata: {} }),
    ]);
    const batch = points(3);
    const result = await new DynamoMetricStore({ ...common, client }).writePoints(batch);
    assert.equal(result.written, 2);
    assert.deepEqual(result.rejected, [{ point: batch[1], reason: 'dynamodb rejected the point: Number overflow' }]);
    assert.deepEqual(
      sent.map((s) => s.command),
      ['BatchWriteItemCommand', 'PutItemCommand', 'PutItemCommand', 'PutItemCommand'],
    );
  });
});

/** A cassandra-driver Client double whose execute() follows a script. */
function scriptedCassandra(replies: (() => unknown)[]): { client: cassandra.Client; calls: () => number } {
  let calls = 0;
  const client = {
    execute: async () => {
      calls++;
      const out = (replies.shift() ?? (() => new Error('unexpected execute')))();
      if (out instanceof Error) throw out;
      return out;
    },
    shutdown: async () => undefined,
  };
  return { client: client as unknown as cassandra.Client, calls: () => calls };
}

const codes = cassandra.types.responseErrorCodes;

describe('CassandraMetricStore retries (scripted client)', () => {
  it('retries an overloaded node, then writes', async () => {
    const { client, calls } = scriptedCassandra([() => new cassandra.errors.ResponseError(codes.overloaded, 'overloaded'), () => ({})]);
    assert.deepEqual(await new CassandraMetricStore({ ...common, client }).writePoints(points(1)), { written: 1, expired: 0, rejected: [] });
    assert.equal(calls(), 2);
  });

  it('throws a retriable error when no host stays available', async () => {
    const noHost = () => new cassandra.errors.NoHostAvailableError({});
    const { client, calls } = scriptedCassandra([noHost, noHost, noHost]);
    await assert.rejects(new CassandraMetricStore({ ...common, client }).writePoints(points(1)), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.retriable, true);
      return true;
    });
    assert.equal(calls(), 3);
  });

  it('rejects a point Cassandra refuses, but fails the call (non-retriable) when the schema is missing', async () => {
    const refused = scriptedCassandra([() => new cassandra.errors.ResponseError(codes.invalid, 'ttl is too large')]);
    const batch = points(1);
    assert.deepEqual(await new CassandraMetricStore({ ...common, client: refused.client }).writePoints(batch), {
      written: 0,
      expired: 0,
      rejected: [{ point: batch[0], reason: 'cassandra rejected the point: ttl is too large' }],
    });

    const missing = scriptedCassandra([() => new cassandra.errors.ResponseError(codes.invalid, 'keyspace switchyard_test does not exist')]);
    await assert.rejects(new CassandraMetricStore({ ...common, client: missing.client }).writePoints(points(1)), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.retriable, false);
      assert.match(err.message, /ensureSchema/);
      return true;
    });
    assert.equal(missing.calls(), 1, 'a non-transient failure is not retried');
  });
});

describe('backoffDelayMs', () => {
  it('grows exponentially up to the cap, with jitter below the bound', () => {
    const p = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((r) => backoffDelayMs(p, r, () => 1)),
      [100, 200, 400, 800, 1000],
    );
    assert.equal(
      backoffDelayMs(p, 3, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelayMs(p, 3, () => 0),
      0,
    );
  });
});
