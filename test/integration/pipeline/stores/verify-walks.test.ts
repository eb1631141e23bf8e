/**
 * What a verify reads on the real stores: the new store's Scan segments in bulk (each series' items
 * together and in minute order, across pages, resumable after any whole series), which series the
 * new store holds anything of in a span, and the old store's token ranges listed one row a series.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createCassandraClient, createDynamoClient } from '../../../../config/clients.js';
import { loadConfig } from '../../../../config/config.js';
import { MINUTE_MS } from '../../../../contract/index.js';
import { minuteOf, type MetricPoint } from '../../../../pipeline/kernel/model/metric-point.js';
import { createMetricStore } from '../../../../pipeline/kernel/stores/create-metric-store.js';
import { dynamoTableFor, seriesKey } from '../../../../pipeline/kernel/stores/dynamodb-store.js';
import type { KeySlice, MinuteSpan, SeriesRun } from '../../../../pipeline/kernel/stores/metric-store.js';
import { dropEnv } from '../../../support/pipeline.js';

const cfg = loadConfig();
const ENV = `vw-${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
const RETENTION_MS = 24 * 60 * MINUTE_MS;
const BASE = minuteOf(Date.now()) - 30 * MINUTE_MS;
const SERIES = 12;
const MINUTES = 20;
const SPAN: MinuteSpan = { fromMinute: BASE + 5 * MINUTE_MS, toMinute: BASE + 14 * MINUTE_MS };

const point = (i: number, m: number): MetricPoint => ({
  app: `app-${i}`,
  metric: 'db.query_ms',
  minute: BASE + m * MINUTE_MS,
  count: 2,
  min: 1,
  max: 3 + i,
  sum: 4 + i,
  median: 2,
  p95: 3,
  p99: 3,
});
const key = (i: number) => seriesKey(`app-${i}`, 'db.query_ms');

describe('the verify walks on the local stack', () => {
  const dynamo = createDynamoClient(cfg);
  const cassandra = createCassandraClient(cfg);
  const opts = { env: ENV, retentionMs: RETENTION_MS, cassandraClient: cassandra, dynamoClient: dynamo, closeClient: false };
  const oldStore = createMetricStore('cassandra', opts);
  const newStore = createMetricStore('dynamodb', opts);

  before(async () => {
    await cassandra.connect();
    const points: MetricPoint[] = [];
    for (let i = 0; i < SERIES; i++) for (let m = 0; m < MINUTES; m++) points.push(point(i, m));
    for (const s of [oldStore, newStore]) {
      await s.ensureSchema();
      assert.equal((await s.writePoints(points)).rejected.length, 0);
    }
    // A series only outside the span, in both stores: neither the scan nor the listing meets it.
    const outside = [0, 1, 2].map((m) => ({ ...point(90, m), app: 'outside' }));
    for (const s of [oldStore, newStore]) await s.writePoints(outside);
    // In the new store, app-0's first minute of the span expired (its expiry attribute in the past):
    // returned by the scan but not served.
    await dynamo.send(
      new PutItemCommand({
        TableName: dynamoTableFor(ENV),
        Item: {
          series: { S: key(0) },
          minute: { N: String(SPAN.fromMinute) },
          app: { S: 'app-0' },
          metric: { S: 'db.query_ms' },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) - 60) },
          count: { N: '1' },
          min: { N: '1' },
          max: { N: '1' },
          sum: { N: '1' },
          median: { N: '1' },
          p95: { N: '1' },
          p99: { N: '1' },
        },
      }),
    );
  });

  after(async () => {
    await cassandra.shutdown();
    dynamo.destroy();
    await dropEnv(cfg, ENV).catch(() => undefined);
  });

  /** Every run of a segment, pages of `limit` items, joined across pages as the verify joins them. */
  async function scanAll(slice: KeySlice, limit: number, from: string | null = null): Promise<{ runs: SeriesRun[]; pages: number }> {
    const runs: SeriesRun[] = [];
    let cursor = from;
    let pages = 0;
    do {
      const page = await newStore.scanPoints(slice, SPAN, cursor, limit);
      pages++;
      for (const run of page.runs) {
        const last = runs.at(-1);
        if (last && seriesKey(last.series.app, last.series.metric) === seriesKey(run.series.app, run.series.metric)) {
          last.points.push(...run.points);
          last.returned += run.returned;
          last.after = run.after;
        } else runs.push({ ...run, points: [...run.points] });
      }
      cursor = page.next;
    } while (cursor !== null);
    return { runs, pages };
  }

  it('scans a segment in pages: each series whole, in minute order, only the span, expired items returned but not served', async () => {
    const { runs, pages } = await scanAll({ index: 0, count: 1 }, 7);
    assert.ok(pages > SERIES, `${pages} pages of 7 items: series run across pages`);
    assert.deepEqual(runs.map((r) => seriesKey(r.series.app, r.series.metric)).sort(), Array.from({ length: SERIES }, (_, i) => key(i)).sort());
    for (const r of runs) {
      const i = Number(r.series.app.slice(4));
      const minutes = r.points.map((p) => (p.minute - BASE) / MINUTE_MS);
      assert.deepEqual(minutes, i === 0 ? [6, 7, 8, 9, 10, 11, 12, 13, 14] : [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], r.series.app);
      assert.equal(r.returned, 10, 'the expired item is returned (a series held), not served');
      assert.deepEqual(r.points.at(-1), point(i, 14));
    }
  });

  it('resumes after any whole series, from a cursor alone, and parallel segments together hold each series once', async () => {
    const all = await scanAll({ index: 0, count: 1 }, 1000);
    const third = all.runs[2]!;
    const rest = await scanAll({ index: 0, count: 1 }, 5, third.after);
    assert.deepEqual(
      rest.runs.map((r) => r.series.app),
      all.runs.slice(3).map((r) => r.series.app),
    );
    const segments = await Promise.all([0, 1, 2].map((index) => scanAll({ index, count: 3 }, 4)));
    const met = segments.flatMap((s) => s.runs.map((r) => r.series.app)).sort();
    assert.deepEqual(met, all.runs.map((r) => r.series.app).sort());
  });

  it('says which probed series the new store holds anything of in the span, by the probe minute or else by the span', async () => {
    const held = await newStore.seriesHeldWithin(
      [
        { app: 'app-1', metric: 'db.query_ms', minute: SPAN.fromMinute }, // the probe minute is held
        { app: 'app-2', metric: 'db.query_ms', minute: SPAN.fromMinute - MINUTE_MS }, // outside the span: the span is asked
        { app: 'app-0', metric: 'db.query_ms', minute: SPAN.fromMinute }, // expired but held
        { app: 'outside', metric: 'db.query_ms', minute: SPAN.fromMinute }, // nothing in the span
        { app: 'never', metric: 'db.query_ms', minute: SPAN.fromMinute },
      ],
      SPAN,
    );
    assert.deepEqual([...held].sort(), [key(0), key(1), key(2)].sort());
    // More probes than one BatchGetItem takes.
    const many = Array.from({ length: 150 }, (_, i) => ({ app: i < SERIES ? `app-${i}` : `ghost-${i}`, metric: 'db.query_ms', minute: SPAN.toMinute }));
    assert.equal((await newStore.seriesHeldWithin(many, SPAN)).size, SERIES);
  });

  it('lists the old store by token range, one row a series with its first minute in the span, resuming at a position inclusive', async () => {
    const listed: { app: string; first: number; position: string }[] = [];
    for (let index = 0; index < 4; index++) {
      let position: string | null = null;
      const done = new Set<string>();
      for (;;) {
        const page = await oldStore.listSeriesWithin({ index, count: 4 }, SPAN, position, 3);
        for (const r of page.series) {
          if (r.position === position && done.has(r.series.app)) continue;
          if (r.position !== position) done.clear();
          done.add(r.series.app);
          position = r.position;
          listed.push({ app: r.series.app, first: r.firstMinute, position: r.position });
        }
        assert.ok(page.progress >= 0 && page.progress <= 1);
        if (!page.more) break;
      }
    }
    assert.deepEqual(
      listed.map((r) => r.app).sort(),
      Array.from({ length: SERIES }, (_, i) => `app-${i}`).sort(),
      'each series once; none only outside the span',
    );
    assert.ok(listed.every((r) => r.first === SPAN.fromMinute));
    const tokens = listed.map((r) => BigInt(r.position));
    assert.ok(
      tokens.every((t, i) => i === 0 || t >= tokens[i - 1]!),
      'in token order',
    );
  });
});
