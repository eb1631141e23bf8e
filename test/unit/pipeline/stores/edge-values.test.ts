/**
 * Every finite float64 a statistic can hold must come back from each store as the same float64
 * (Object.is: -0 stays -0), including values DynamoDB's Number cannot hold.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchWriteItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MINUTE_MS } from '../../../../contract/index.js';
import { POINT_STATS, type MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { decodeStat, DynamoMetricStore, encodeStat, fitsDynamoNumber } from '../../../../pipeline/kernel/stores/dynamodb-store.js';
import { MemoryMetricStore } from '../../../../pipeline/kernel/stores/memory-store.js';
import { pointProblem } from '../../../../pipeline/kernel/stores/point-rules.js';

const T0 = 1_700_000_040_000;
const EDGES = [
  5e-324,
  -5e-324,
  2.2250738585072014e-308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  0.30000000000000004,
  1.2345678901234567e-200,
  1e126,
  -1e126,
  1e-131,
  1e-130,
  9.999999999999999e125,
  0,
  -0,
];
const OUTSIDE_DYNAMO = new Set([5e-324, -5e-324, 2.2250738585072014e-308, Number.MAX_VALUE, -Number.MAX_VALUE, 1.2345678901234567e-200, 1e126, -1e126, 1e-131]);

/** One point per edge value, every statistic but count set to it. */
function edgePoints(): MetricPoint[] {
  return EDGES.map((v, i) => ({ app: 'edge', metric: 'm', minute: T0 + i * MINUTE_MS, count: i + 1, min: v, max: v, sum: v, median: v, p95: v, p99: v }));
}

function assertSameStats(read: MetricPoint[], written: MetricPoint[]): void {
  assert.equal(read.length, written.length);
  read.forEach((r, i) => {
    for (const stat of POINT_STATS) {
      assert.ok(Object.is(r[stat], written[i]![stat]), `minute ${i} ${stat}: wrote ${written[i]![stat]}, read ${r[stat]}`);
    }
  });
}

/** A DynamoDBClient double holding items in a Map, enough for BatchWriteItem and a series Query. */
function fakeDynamo(): { client: DynamoDBClient; items: Map<string, Record<string, AttributeValue>> } {
  const items = new Map<string, Record<string, AttributeValue>>();
  const client = {
    send: async (command: unknown) => {
      if (command instanceof BatchWriteItemCommand) {
        for (const reqs of Object.values(command.input.RequestItems ?? {})) {
          for (const r of reqs) {
            const item = r.PutRequest!.Item!;
            // DynamoDB refuses a Number outside its domain: so does this double.
            for (const v of Object.values(item)) {
              if (v.N !== undefined) {
                const m = Math.abs(Number(v.N));
                if (m !== 0 && (m < 1e-130 || m >= 1e126))
                  throw Object.assign(new Error('Number overflow'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
              }
            }
            items.set(`${item.series!.S}|${item.minute!.N}`, structuredClone(item));
          }
        }
        return { UnprocessedItems: {} };
      }
      if (command instanceof QueryCommand) {
        const vals = command.input.ExpressionAttributeValues!;
        const from = Number(vals[':from']!.N);
        const to = Number(vals[':to']!.N);
        const found = [...items.values()]
          .filter((it) => it.series!.S === vals[':series']!.S && Number(it.minute!.N) >= from && Number(it.minute!.N) <= to)
          .sort((a, b) => Number(a.minute!.N) - Number(b.minute!.N));
        return { Items: structuredClone(found) };
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
    destroy: () => {},
  };
  return { client: client as unknown as DynamoDBClient, items };
}

describe('edge float64 statistics', () => {
  it('point rules accept every finite edge value and still refuse NaN and Infinity', () => {
    for (const p of edgePoints()) assert.equal(pointProblem(p), undefined);
    for (const bad of [Number.NaN, Infinity, -Infinity]) assert.match(pointProblem({ ...edgePoints()[0]!, p99: bad }) ?? '', /finite/);
  });

  it('encodeStat keeps ordinary values as Numbers and writes the rest as exact bits', () => {
    for (const v of EDGES) {
      const attr = encodeStat(v);
      const outside = OUTSIDE_DYNAMO.has(v) || Object.is(v, -0);
      assert.equal(fitsDynamoNumber(v), !outside, `fits ${v}`);
      if (outside) assert.match(attr.S ?? '', /^[0-9a-f]{16}$/, `encoding of ${v}`);
      else assert.equal(attr.N, String(v));
      assert.ok(Object.is(decodeStat(attr), v), `round trip of ${v}: got ${decodeStat(attr)}`);
    }
    assert.equal(encodeStat(-0).S, '8000000000000000');
    assert.equal(encodeStat(5e-324).S, '0000000000000001');
    assert.equal(encodeStat(Number.MAX_VALUE).S, '7fefffffffffffff');
  });

  it('decodeStat reads items written before the encoding existed (Numbers) and refuses junk', () => {
    assert.equal(decodeStat({ N: '8.5' }), 8.5);
    assert.equal(decodeStat({ N: '1E+21' }), 1e21);
    assert.equal(decodeStat({ S: 'not-hex' }), undefined);
    assert.equal(decodeStat({ BOOL: true }), undefined);
  });

  it('the DynamoDB store writes and reads every edge value exactly, rejecting none', async () => {
    const { client, items } = fakeDynamo();
    const store = new DynamoMetricStore({ env: 'unit-edge', retentionMs: 365 * 24 * 60 * MINUTE_MS, now: () => T0, client });
    const written = edgePoints();
    assert.deepEqual(await store.writePoints(written), { written: written.length, expired: 0, rejected: [] });
    const raw = items.get(`edge#m|${T0 + EDGES.indexOf(Number.MAX_VALUE) * MINUTE_MS}`)!;
    assert.deepEqual(raw.max, { S: '7fefffffffffffff' });
    assert.deepEqual(items.get(`edge#m|${T0 + EDGES.indexOf(0.30000000000000004) * MINUTE_MS}`)!.max, { N: '0.30000000000000004' });
    const read = await store.readSeries({ app: 'edge', metric: 'm', fromMinute: T0, toMinute: T0 + EDGES.length * MINUTE_MS });
    assertSameStats(read, written);
  });

  it('the memory store writes and reads every edge value exactly', async () => {
    const store = new MemoryMetricStore({ env: 'unit-edge', retentionMs: 365 * 24 * 60 * MINUTE_MS, now: () => T0 });
    const written = edgePoints();
    assert.deepEqual(await store.writePoints(written), { written: written.length, expired: 0, rejected: [] });
    const read = await store.readSeries({ app: 'edge', metric: 'm', fromMinute: T0, toMinute: T0 + EDGES.length * MINUTE_MS });
    assertSameStats(read, written);
  });
});
