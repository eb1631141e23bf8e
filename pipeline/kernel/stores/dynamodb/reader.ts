/**
 * The DynamoDB store's reads: a series range is one Query (strongly consistent, paged); a verify
 * reads Scan segments page by page, cut into runs of one series each, and probes which series
 * hold an item within a span (BatchGetItem, then a one-item Query). Reads of points drop expired
 * items, which DynamoDB returns until its TTL process deletes them; probes see them (as the scan
 * returns them to the verify).
 */
import { BatchGetItemCommand, QueryCommand, ScanCommand, type AttributeValue, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import type { MetricPoint } from '../../model/metric-point.js';
import { forEachConcurrent } from '../bounded-concurrency.js';
import type { KeySlice, MinuteSpan, PointId, PointsPage, SeriesQuery, SeriesRun } from '../metric-store.js';
import { keySliceProblem, queryProblem } from '../point-rules.js';
import { StoreError } from '../store-error.js';
import { itemExpired, parseCursor, pointFromItem, SCAN_NAMES, SCAN_PROJECTION, seriesKey } from './items.js';
import { TableAccess } from './table-access.js';

/** Most keys in one BatchGetItem call (a DynamoDB limit). */
export const DYNAMO_BATCH_GET_SIZE = 100;

/** Why a span of minutes is unusable, or undefined. */
function spanProblem(span: MinuteSpan): string | undefined {
  if (span === null || typeof span !== 'object') return 'span must be { fromMinute, toMinute }';
  const { fromMinute, toMinute } = span;
  if (!Number.isSafeInteger(fromMinute) || !Number.isSafeInteger(toMinute)) return 'fromMinute and toMinute must be whole epoch milliseconds';
  if (fromMinute > toMinute) return `the span ends (${toMinute}) before it begins (${fromMinute})`;
  return undefined;
}

/** A scan that returned a series' items apart or out of order: comparing runs would be wrong. */
function apartError(table: string, key: string): StoreError {
  return new StoreError(
    `the scan of ${table} returned the items of series ${key} apart or out of minute order; a bulk verify relies on a Scan returning ` +
      "a partition key's items together in sort-key order",
    { retriable: false },
  );
}

/** Reads one environment's items. */
export class Reader extends TableAccess {
  /** Queries [fromMinute, toMinute] ascending with strongly consistent reads, dropping expired items. */
  async readSeries(query: SeriesQuery): Promise<MetricPoint[]> {
    const problem = queryProblem(query);
    if (problem !== undefined) throw new StoreError(`invalid series query: ${problem}`, { retriable: false });
    // BETWEEN with low > high is a ValidationException in DynamoDB; the range is simply empty.
    if (query.fromMinute > query.toMinute) return [];
    // No stored series has '#' in its app or metric, and such a key would be ambiguous.
    if (query.app.includes('#') || query.metric.includes('#')) return [];
    const now = this.now();
    const out: MetricPoint[] = [];
    const pages = this.pages('query', (startKey) =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'series = :series AND #minute BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#minute': 'minute' }, // MINUTE is a reserved word
          ExpressionAttributeValues: {
            ':series': { S: seriesKey(query.app, query.metric) },
            ':from': { N: String(query.fromMinute) },
            ':to': { N: String(query.toMinute) },
          },
          ScanIndexForward: true,
          ConsistentRead: true, // read-your-writes, as the Cassandra side gives at LOCAL_QUORUM
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    for await (const items of pages)
      for (const item of items) {
        const point = pointFromItem(this.table, item);
        // DynamoDB returns expired items until its TTL process deletes them (days later, or never
        // on endpoints without TTL): a result must not depend on when that happens.
        if (itemExpired(item, point.minute, this.retentionMs, now)) continue;
        out.push(point);
      }
    return out;
  }

  /**
   * One page of a parallel-Scan segment (Segment = slice.index of TotalSegments = slice.count),
   * strongly consistent, keeping the items inside the span (a FilterExpression: DynamoDB still reads,
   * and charges, every item of the page). DynamoDB keeps a partition key's items together, sorted by
   * sort key, and a Scan returns them so: the page is cut into runs of one series each. The cursor
   * is an item key as JSON (the page's LastEvaluatedKey, or a run's last item).
   */
  async scanPoints(slice: KeySlice, span: MinuteSpan, cursor: string | null, limit?: number): Promise<PointsPage> {
    const problem = keySliceProblem(slice) ?? spanProblem(span);
    if (problem !== undefined) throw new StoreError(`invalid scan: ${problem}`, { retriable: false });
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) throw new StoreError(`invalid scan limit ${limit}`, { retriable: false });
    const startKey = cursor === null ? undefined : parseCursor(cursor);
    const page: ScanCommandOutput = await this.run('scan points', () =>
      this.client.send(
        new ScanCommand({
          TableName: this.table,
          Segment: slice.index,
          TotalSegments: slice.count,
          ConsistentRead: true, // as readSeries: the verify must see every acknowledged write
          ExclusiveStartKey: startKey,
          Limit: limit,
          FilterExpression: '#minute BETWEEN :from AND :to',
          // app and metric are in the key already: fewer attributes to send and parse.
          ProjectionExpression: SCAN_PROJECTION,
          ExpressionAttributeNames: SCAN_NAMES,
          ExpressionAttributeValues: { ':from': { N: String(span.fromMinute) }, ':to': { N: String(span.toMinute) } },
        }),
      ),
    );
    const now = this.now();
    const runs: SeriesRun[] = [];
    const met = new Set<string>();
    let run: SeriesRun | undefined;
    let key = '';
    let lastMinute = -Infinity;
    const close = (): void => {
      if (run !== undefined) run.after = JSON.stringify({ series: { S: key }, minute: { N: String(lastMinute) } });
    };
    for (const item of page.Items ?? []) {
      const k = item.series?.S;
      const minute = item.minute?.N === undefined ? NaN : Number(item.minute.N);
      if (k === undefined || !Number.isSafeInteger(minute)) throw new StoreError(`item in ${this.table} lacks its key (series, minute)`, { retriable: false });
      if (run === undefined || k !== key) {
        if (met.has(k)) throw apartError(this.table, k);
        met.add(k);
        close();
        const cut = k.indexOf('#');
        run = { series: { app: k.slice(0, cut), metric: k.slice(cut + 1) }, points: [], returned: 0, after: '' };
        runs.push(run);
        key = k;
      } else if (minute <= lastMinute) {
        throw apartError(this.table, k);
      }
      lastMinute = minute;
      run.returned++;
      if (itemExpired(item, minute, this.retentionMs, now)) continue; // as readSeries: expired items are never served
      run.points.push(pointFromItem(this.table, item, { series: run.series, minute }));
    }
    close();
    return { runs, next: page.LastEvaluatedKey === undefined ? null : JSON.stringify(page.LastEvaluatedKey), scanned: page.ScannedCount ?? 0 };
  }

  /**
   * Which probed series hold an item inside the span: first the probe's own minute, 100 keys to a
   * BatchGetItem (one small read each), then a one-item Query of the span for each series that
   * minute did not answer for. Strongly consistent, expired items included (as scanPoints returns
   * them).
   */
  async seriesHeldWithin(probes: readonly PointId[], span: MinuteSpan): Promise<Set<string>> {
    const problem = spanProblem(span);
    if (problem !== undefined) throw new StoreError(`invalid probe: ${problem}`, { retriable: false });
    const held = new Set<string>();
    const byKey = new Map<string, PointId>();
    for (const p of probes) if (!p.app.includes('#') && !p.metric.includes('#')) byKey.set(seriesKey(p.app, p.metric), p);
    const direct = [...byKey.entries()].filter(([, p]) => p.minute >= span.fromMinute && p.minute <= span.toMinute);
    const chunks: [string, PointId][][] = [];
    for (let i = 0; i < direct.length; i += DYNAMO_BATCH_GET_SIZE) chunks.push(direct.slice(i, i + DYNAMO_BATCH_GET_SIZE));
    await forEachConcurrent(chunks, this.chunkConcurrency, async (chunk) => {
      for (const k of await this.batchGetKeys(chunk.map(([k, p]) => ({ series: { S: k }, minute: { N: String(p.minute) } })))) held.add(k);
    });
    const rest = [...byKey.keys()].filter((k) => !held.has(k));
    await forEachConcurrent(rest, this.chunkConcurrency, async (k) => {
      const out = await this.run('probe series', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'series = :s AND #minute BETWEEN :from AND :to',
            ExpressionAttributeNames: { '#minute': 'minute' },
            ExpressionAttributeValues: { ':s': { S: k }, ':from': { N: String(span.fromMinute) }, ':to': { N: String(span.toMinute) } },
            ProjectionExpression: 'series',
            ConsistentRead: true,
            Limit: 1,
          }),
        ),
      );
      if ((out.Items ?? []).length > 0) held.add(k);
    });
    return held;
  }

  /** The series keys of the given item keys that exist, retrying unprocessed keys with backoff. */
  private async batchGetKeys(keys: Record<string, AttributeValue>[]): Promise<string[]> {
    const found: string[] = [];
    let pending = keys;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await this.run('batch get', () =>
        this.client.send(new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: pending, ProjectionExpression: 'series', ConsistentRead: true } } })),
      );
      for (const item of out.Responses?.[this.table] ?? []) if (item.series?.S !== undefined) found.push(item.series.S);
      pending = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
      if (pending.length === 0) break;
      if (attempt >= this.retry.maxAttempts) {
        throw new StoreError(`batch get from ${this.table}: ${pending.length} keys still unprocessed after ${attempt} attempts`, { retriable: true });
      }
      await this.backoff('batch get (unprocessed keys)', attempt, `${pending.length} unprocessed keys`);
    }
    return found;
  }
}
