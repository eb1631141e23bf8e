/**
 * The DynamoDB MetricStore (the store being migrated to). One table per environment, partition
 * key `series` = "app#metric" and sort key `minute`, so a series range read is one Query.
 *
 * Numeric domain: a statistic is any finite float64 (what Cassandra's `double` holds). DynamoDB's
 * Number holds only 0 and magnitudes 1e-130 ..< 1e126 (38 significant digits), with no -0. A
 * statistic inside that domain is written as a Number, String(x) (the shortest decimal that parses
 * back to the same double, so it round-trips exactly); one outside it (-0, subnormals such as
 * 5e-324, |x| < 1e-130, |x| >= 1e126 such as Number.MAX_VALUE) is written under the same attribute
 * name as a String of the float64's exact IEEE-754 bits, 16 lowercase hex digits big-endian
 * (encodeStat/decodeStat). Items written before this hold only Numbers and read as before.
 * NaN and ±Infinity are refused by point-rules before any store sees them.
 *
 * DynamoDB's TTL deletes expired items late (up to days),
 * so every read drops items whose expiresAt has passed: results must match Cassandra's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type AttributeValue,
  type DynamoDBClient,
  type ScanCommandOutput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { POINT_STATS, type MetricPoint, type PointStat } from '../model/metric-point.js';
import { forEachConcurrent } from './bounded-concurrency.js';
import type { BulkScanStore, KeySlice, MetricStore, MinuteSpan, PointId, PointsPage, SeriesId, SeriesQuery, SeriesRun, WriteResult } from './metric-store.js';
import { keySliceProblem, planWrite, queryProblem } from './point-rules.js';
import { backoffDelayMs, resolveRetryPolicy, retryTransient, type RetryPolicy } from './retry-policy.js';
import { keyedTable } from './ensure-dynamo-table.js';
import { errorMessage, StoreError } from './store-error.js';
import { assertNoProblems, storeOptionProblems, wholeNumberProblems, type StoreOptions } from './store-options.js';

/** Options of the DynamoDB store. */
export interface DynamoStoreOptions extends StoreOptions {
  /** A DynamoDB client (config/clients.ts createDynamoClient). */
  client: DynamoDBClient;
  /** Most BatchWriteItem calls in flight at once (default 4). */
  chunkConcurrency?: number;
  /** How long ensureSchema waits for a new table to become ACTIVE, in seconds (default 120). */
  tableActiveTimeoutSeconds?: number;
  /** Whether close() destroys the client (default true); false when the client is shared. */
  closeClient?: boolean;
}

/** Most items in one BatchWriteItem call (a DynamoDB limit). */
export const DYNAMO_BATCH_SIZE = 25;

/** Default most BatchWriteItem calls in flight: 100 items at once, well under a new on-demand table's burst. */
export const DEFAULT_DYNAMO_CHUNK_CONCURRENCY = 4;

/** The attribute DynamoDB's TTL watches: expiry in epoch seconds. */
export const DYNAMO_TTL_ATTRIBUTE = 'expiresAt';

/** ensureSchema's warning when the endpoint (e.g. dynalite) has no TTL: nothing is ever deleted, reads still filter. */
export const DYNAMO_TTL_UNSUPPORTED_WARNING = 'TTL not supported by this endpoint; expired items are filtered on read';

/** The table of an environment: `switchyard-<env>-metric-points`. */
export function dynamoTableFor(env: string): string {
  return `switchyard-${env}-metric-points`;
}

/** The partition key of a series; app ids and metric names never contain '#' (point-rules rejects it). */
export function seriesKey(app: string, metric: string): string {
  return `${app}#${metric}`;
}

/** Error names that mean "slow down and try again". */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

interface AwsErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The AWS error name of a failure ('' when there is none). */
function awsErrorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

/** True for DynamoDB failures worth retrying: throttling, 5xx, and requests that got no answer at all. */
export function isTransientDynamoError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (THROTTLING_NAMES.has(err.name)) return true;
  const meta = (err as AwsErrorShape).$metadata;
  if (meta === undefined) return false; // not from the SDK: a bug here, not an outage
  // The SDK attaches $metadata without a status to network failures (refused, reset, timed out).
  return meta.httpStatusCode === undefined || meta.httpStatusCode >= 500;
}

/** A StoreError for a failure that is not one point's fault. */
function callFailure(err: unknown, action: string): StoreError {
  if (err instanceof StoreError) return err;
  if (isTransientDynamoError(err)) return new StoreError(`${action} failed: ${errorMessage(err)}`, { retriable: true, cause: err });
  const status = (err as AwsErrorShape).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const hint = awsErrorName(err) === 'ResourceNotFoundException' ? ' (has ensureSchema run for this environment?)' : '';
    return new StoreError(`${action} failed: ${awsErrorName(err)}: ${errorMessage(err)}${hint}`, { retriable: false, cause: err });
  }
  // Unknown failures are treated as retriable: writes are idempotent, and dropping data is worse than retrying.
  return new StoreError(`${action} failed: ${errorMessage(err)}`, { retriable: true, cause: err });
}

/** MetricStore on DynamoDB: BatchWriteItem in chunks, Query per series, Scan segments for a verify, expiry filtered on read. */
export class DynamoMetricStore implements MetricStore, BulkScanStore {
  /** Always 'dynamodb'. */
  readonly kind = 'dynamodb' as const;
  /** The environment whose data this store holds. */
  readonly env: string;
  /** This environment's table. */
  readonly table: string;
  private readonly client: DynamoDBClient;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly chunkConcurrency: number;
  private readonly tableActiveTimeoutSeconds: number;
  private readonly closeClient: boolean;
  private readonly retry: RetryPolicy;
  private readonly logger: StoreOptions['logger'];

  constructor(opts: DynamoStoreOptions) {
    assertNoProblems(dynamoOptionProblems(opts));
    this.env = opts.env;
    this.table = dynamoTableFor(opts.env);
    this.client = opts.client;
    this.retentionMs = opts.retentionMs;
    this.now = opts.now ?? Date.now;
    this.chunkConcurrency = opts.chunkConcurrency ?? DEFAULT_DYNAMO_CHUNK_CONCURRENCY;
    this.tableActiveTimeoutSeconds = opts.tableActiveTimeoutSeconds ?? 120;
    this.closeClient = opts.closeClient ?? true;
    this.retry = resolveRetryPolicy(opts.retry);
    this.logger = opts.logger;
  }

  /**
   * Creates the table if missing and waits until it is ACTIVE, then turns TTL on for expiresAt.
   * Returns DYNAMO_TTL_UNSUPPORTED_WARNING where the endpoint has no TTL API (dynalite).
   */
  async ensureSchema(): Promise<string[]> {
    let status: string | undefined;
    try {
      const described = await this.attempt('describe table', () => this.client.send(new DescribeTableCommand({ TableName: this.table })));
      this.checkKeySchema(described.Table?.KeySchema);
      status = described.Table?.TableStatus;
    } catch (err) {
      if (awsErrorName(err) !== 'ResourceNotFoundException') throw callFailure(err, `describe table ${this.table}`);
      await this.createTable();
    }
    if (status !== 'ACTIVE') {
      try {
        await waitUntilTableExists({ client: this.client, maxWaitTime: this.tableActiveTimeoutSeconds }, { TableName: this.table });
      } catch (err) {
        throw new StoreError(`table ${this.table} did not become ACTIVE within ${this.tableActiveTimeoutSeconds} s: ${errorMessage(err)}`, {
          retriable: true,
          cause: err,
        });
      }
    }
    return this.ensureTtl();
  }

  private async createTable(): Promise<void> {
    try {
      await this.attempt('create table', () => this.client.send(new CreateTableCommand(keyedTable(this.table, ['series', 'S'], ['minute', 'N']))));
    } catch (err) {
      // Another instance created it between our DescribeTable and CreateTable: fine, wait for it.
      if (awsErrorName(err) !== 'ResourceInUseException') throw callFailure(err, `create table ${this.table}`);
    }
  }

  /** An existing table with other keys would make every write a ValidationException: refuse it up front. */
  private checkKeySchema(keySchema: { AttributeName?: string; KeyType?: string }[] | undefined): void {
    const found = (keySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    if (keySchema !== undefined && found !== 'series:HASH,minute:RANGE') {
      throw new StoreError(`table ${this.table} exists with key schema ${found}, expected series:HASH,minute:RANGE`, { retriable: false });
    }
  }

  private async ensureTtl(): Promise<string[]> {
    try {
      const described = await this.attempt('describe TTL', () => this.client.send(new DescribeTimeToLiveCommand({ TableName: this.table })));
      const d = described.TimeToLiveDescription;
      const on = d?.TimeToLiveStatus === 'ENABLED' || d?.TimeToLiveStatus === 'ENABLING';
      if (on && d?.AttributeName === DYNAMO_TTL_ATTRIBUTE) return [];
      if (on) {
        return [
          `table ${this.table} has TTL on attribute ${d?.AttributeName}, not ${DYNAMO_TTL_ATTRIBUTE}; expired items are filtered on read but never deleted`,
        ];
      }
      // Asked only when off: AWS refuses to "enable" TTL that is already enabled.
      await this.attempt('update TTL', () =>
        this.client.send(
          new UpdateTimeToLiveCommand({ TableName: this.table, TimeToLiveSpecification: { AttributeName: DYNAMO_TTL_ATTRIBUTE, Enabled: true } }),
        ),
      );
      return [];
    } catch (err) {
      if (awsErrorName(err) === 'UnknownOperationException') return [DYNAMO_TTL_UNSUPPORTED_WARNING];
      throw callFailure(err, `enable TTL on ${this.table}`);
    }
  }

  /** Upserts points in BatchWriteItem chunks; items DynamoDB refuses are returned in `rejected`. */
  async writePoints(points: MetricPoint[]): Promise<WriteResult> {
    const plan = planWrite(points, this.retentionMs, this.now());
    const rejected = [...plan.rejected];
    let written = plan.superseded;
    const chunks: MetricPoint[][] = [];
    // planWrite left one point per key: BatchWriteItem refuses a chunk with duplicate keys.
    for (let i = 0; i < plan.toWrite.length; i += DYNAMO_BATCH_SIZE) chunks.push(plan.toWrite.slice(i, i + DYNAMO_BATCH_SIZE));
    await forEachConcurrent(chunks, this.chunkConcurrency, async (chunk) => {
      const result = await this.writeChunk(chunk);
      written += result.written;
      rejected.push(...result.rejected);
    });
    return { written, expired: plan.expired, rejected };
  }

  /** One BatchWriteItem chunk, retrying unprocessed items and throttling with backoff. */
  private async writeChunk(chunk: MetricPoint[]): Promise<Pick<WriteResult, 'written' | 'rejected'>> {
    const byKey = new Map(chunk.map((p) => [itemKey(seriesKey(p.app, p.metric), String(p.minute)), p]));
    let pending = chunk;
    let written = 0;
    for (let attempt = 1; ; attempt++) {
      let unprocessed: WriteRequest[];
      try {
        const requests = pending.map((p): WriteRequest => ({ PutRequest: { Item: this.toItem(p) } }));
        const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } }));
        unprocessed = out.UnprocessedItems?.[this.table] ?? [];
      } catch (err) {
        // The batch call names no culprit: write the chunk's items one by one to find which are refused.
        if (awsErrorName(err) === 'ValidationException') {
          const single = await this.putOneByOne(pending);
          return { written: written + single.written, rejected: single.rejected };
        }
        if (!isTransientDynamoError(err)) throw callFailure(err, `batch write to ${this.table}`);
        if (attempt >= this.retry.maxAttempts) {
          throw new StoreError(`batch write to ${this.table} failed after ${attempt} attempts: ${errorMessage(err)}`, { retriable: true, cause: err });
        }
        await this.backoff('batch write', attempt, err);
        continue;
      }
      written += pending.length - unprocessed.length;
      if (unprocessed.length === 0) return { written, rejected: [] };
      if (attempt >= this.retry.maxAttempts) {
        throw new StoreError(`batch write to ${this.table}: ${unprocessed.length} items still unprocessed after ${attempt} attempts`, { retriable: true });
      }
      pending = unprocessed.map((r) => {
        const item = r.PutRequest?.Item ?? {};
        const point = byKey.get(itemKey(item.series?.S ?? '', item.minute?.N ?? ''));
        if (point === undefined)
          throw new StoreError(`batch write to ${this.table}: DynamoDB returned an unprocessed item it was not sent`, { retriable: true });
        return point;
      });
      await this.backoff('batch write (unprocessed items)', attempt, `${unprocessed.length} unprocessed items`);
    }
  }

  /** PutItem per point: a ValidationException rejects that point only. */
  private async putOneByOne(points: MetricPoint[]): Promise<Pick<WriteResult, 'written' | 'rejected'>> {
    let written = 0;
    const rejected: WriteResult['rejected'] = [];
    for (const p of points) {
      try {
        await this.attempt('put item', () => this.client.send(new PutItemCommand({ TableName: this.table, Item: this.toItem(p) })));
        written++;
      } catch (err) {
        if (awsErrorName(err) !== 'ValidationException') throw callFailure(err, `put item to ${this.table}`);
        const reason = `dynamodb rejected the point: ${errorMessage(err)}`;
        this.logger?.debug(
          { env: this.env, store: this.kind, app: p.app, metric: p.metric, minute: p.minute, reason, action: 'write.reject' },
          'point rejected',
        );
        rejected.push({ point: p, reason });
      }
    }
    return { written, rejected };
  }

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
        const point = this.fromItem(item);
        // DynamoDB returns expired items until its TTL process deletes them (days later, or never
        // on endpoints without TTL): a result must not depend on when that happens.
        const expiresAtSeconds = item[DYNAMO_TTL_ATTRIBUTE]?.N !== undefined ? Number(item[DYNAMO_TTL_ATTRIBUTE].N) : this.expiresAtSeconds(point.minute);
        if (expiresAtSeconds * 1000 <= now) continue;
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
      const expiresAtSeconds = item[DYNAMO_TTL_ATTRIBUTE]?.N !== undefined ? Number(item[DYNAMO_TTL_ATTRIBUTE].N) : this.expiresAtSeconds(minute);
      if (expiresAtSeconds * 1000 <= now) continue; // as readSeries: expired items are never served
      run.points.push(this.statsOf(run.series, minute, item));
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

  /** Deletes items by key in BatchWriteItem chunks, retrying unprocessed ones. */
  async deletePoints(keys: PointId[]): Promise<number> {
    const unique = [...new Map(keys.map((k) => [itemKey(seriesKey(k.app, k.metric), String(k.minute)), k])).values()];
    const chunks: PointId[][] = [];
    for (let i = 0; i < unique.length; i += DYNAMO_BATCH_SIZE) chunks.push(unique.slice(i, i + DYNAMO_BATCH_SIZE));
    await forEachConcurrent(chunks, this.chunkConcurrency, async (chunk) => {
      let pending: WriteRequest[] = chunk.map((k) => ({
        DeleteRequest: { Key: { series: { S: seriesKey(k.app, k.metric) }, minute: { N: String(k.minute) } } },
      }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        const out = await this.run('batch delete', () => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } })));
        pending = out.UnprocessedItems?.[this.table] ?? [];
        if (pending.length === 0) break;
        if (attempt >= this.retry.maxAttempts) {
          throw new StoreError(`batch delete from ${this.table}: ${pending.length} items still unprocessed after ${attempt} attempts`, { retriable: true });
        }
        await this.backoff('batch delete (unprocessed items)', attempt, `${pending.length} unprocessed items`);
      }
    });
    return keys.length;
  }

  /** Destroys the client unless it was marked shared (closeClient: false). */
  async close(): Promise<void> {
    if (this.closeClient) this.client.destroy();
  }

  private expiresAtSeconds(minute: number): number {
    return Math.ceil((minute + this.retentionMs) / 1000);
  }

  private toItem(p: MetricPoint): Record<string, AttributeValue> {
    const item: Record<string, AttributeValue> = {
      series: { S: seriesKey(p.app, p.metric) },
      minute: { N: String(p.minute) },
      app: { S: p.app },
      metric: { S: p.metric },
      [DYNAMO_TTL_ATTRIBUTE]: { N: String(this.expiresAtSeconds(p.minute)) },
    };
    for (const stat of POINT_STATS) item[stat] = encodeStat(p[stat]);
    return item;
  }

  /** A number attribute of an item (a statistic written as a String of its bits decoded), or a non-retriable error. */
  private numberOf(item: Record<string, AttributeValue>, name: string): number {
    const v = item[name];
    const decoded = v === undefined ? undefined : decodeStat(v);
    if (decoded === undefined) throw new StoreError(`item in ${this.table} lacks number attribute ${name}`, { retriable: false });
    return decoded;
  }

  /** A scanned item's point (its series from the key, as the projection leaves app and metric out). */
  private statsOf(series: SeriesId, minute: number, item: Record<string, AttributeValue>): MetricPoint {
    const n = (name: PointStat): number => this.numberOf(item, name);
    return {
      app: series.app,
      metric: series.metric,
      minute,
      count: n('count'),
      min: n('min'),
      max: n('max'),
      sum: n('sum'),
      median: n('median'),
      p95: n('p95'),
      p99: n('p99'),
    };
  }

  private fromItem(item: Record<string, AttributeValue>): MetricPoint {
    const s = (name: string): string => {
      const v = item[name]?.S;
      if (v === undefined) throw new StoreError(`item in ${this.table} lacks string attribute ${name}`, { retriable: false });
      return v;
    };
    return this.statsOf({ app: s('app'), metric: s('metric') }, this.numberOf(item, 'minute'), item);
  }

  private async backoff(action: string, attempt: number, cause: unknown): Promise<void> {
    const delayMs = backoffDelayMs(this.retry, attempt);
    this.logger?.warn({ env: this.env, store: this.kind, action, attempt, delayMs, err: errorMessage(cause) }, 'transient failure, retrying');
    await sleep(delayMs);
  }

  /** Every page of a Query or Scan, each call run (retried, its failure classified) like any other. */
  private async *pages(
    action: string,
    send: (
      startKey: Record<string, AttributeValue> | undefined,
    ) => Promise<{ Items?: Record<string, AttributeValue>[]; LastEvaluatedKey?: Record<string, AttributeValue> }>,
  ): AsyncGenerator<Record<string, AttributeValue>[]> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.run(action, () => send(startKey));
      yield page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** attempt(), with every failure turned into a StoreError (for calls where no point is at fault). */
  private async run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.attempt(action, fn);
    } catch (err) {
      throw callFailure(err, `dynamodb ${action} (${this.table})`);
    }
  }

  /** fn with transient failures retried; other failures come out unchanged for the caller to classify. */
  private attempt<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return retryTransient(fn, {
      policy: this.retry,
      isTransient: isTransientDynamoError,
      action: `dynamodb ${action} (${this.table})`,
      onRetry: ({ attempt, delayMs, error }) =>
        this.logger?.warn({ env: this.env, store: this.kind, action, attempt, delayMs, err: errorMessage(error) }, 'transient failure, retrying'),
    });
  }
}

/** Smallest magnitude DynamoDB's Number holds besides 0. */
const DYNAMO_NUMBER_MIN_MAGNITUDE = 1e-130;
/** Magnitudes from here up exceed DynamoDB's Number (its largest is 9.99…e125, 38 nines). */
const DYNAMO_NUMBER_MAX_EXCLUSIVE = 1e126;

/** True when DynamoDB's Number can hold x and String(x) reads back to exactly x (so -0 is false). */
export function fitsDynamoNumber(x: number): boolean {
  if (!Number.isFinite(x)) return false;
  if (x === 0) return !Object.is(x, -0);
  const m = Math.abs(x);
  return m >= DYNAMO_NUMBER_MIN_MAGNITUDE && m < DYNAMO_NUMBER_MAX_EXCLUSIVE && Object.is(Number(String(x)), x);
}

/** The float64's IEEE-754 bits, big-endian, as 16 lowercase hex digits. */
export function float64ToHex(x: number): string {
  const buf = Buffer.alloc(8);
  buf.writeDoubleBE(x);
  return buf.toString('hex');
}

const HEX_BITS = /^[0-9a-f]{16}$/;

/** The float64 of 16 hex digits written by float64ToHex, or undefined when the text is not that. */
export function hexToFloat64(hex: string): number | undefined {
  if (!HEX_BITS.test(hex)) return undefined;
  return Buffer.from(hex, 'hex').readDoubleBE();
}

/** A statistic as an attribute: a Number inside DynamoDB's domain, else a String of its exact bits. */
export function encodeStat(x: number): AttributeValue {
  return fitsDynamoNumber(x) ? { N: String(x) } : { S: float64ToHex(x) };
}

/** The float64 an attribute written by encodeStat (or by earlier versions, N only) holds; undefined if neither. */
export function decodeStat(v: AttributeValue): number | undefined {
  if (v.N !== undefined) return Number(v.N);
  if (v.S !== undefined) return hexToFloat64(v.S);
  return undefined;
}

/** Most keys in one BatchGetItem call (a DynamoDB limit). */
export const DYNAMO_BATCH_GET_SIZE = 100;

/** What a verify scan reads of an item: its key, expiry and statistics (app and metric are in the key). */
const SCAN_NAMES: Record<string, string> = Object.fromEntries(['series', 'minute', DYNAMO_TTL_ATTRIBUTE, ...POINT_STATS].map((a) => [`#${a}`, a]));
const SCAN_PROJECTION = Object.keys(SCAN_NAMES).join(', ');

/** Why a span of minutes is unusable, or undefined. */
function spanProblem(span: MinuteSpan): string | undefined {
  if (span === null || typeof span !== 'object') return 'span must be { fromMinute, toMinute }';
  const { fromMinute, toMinute } = span;
  if (!Number.isSafeInteger(fromMinute) || !Number.isSafeInteger(toMinute)) return 'fromMinute and toMinute must be whole epoch milliseconds';
  if (fromMinute > toMinute) return `the span ends (${toMinute}) before it begins (${fromMinute})`;
  return undefined;
}

/** A scan cursor back as the item key it holds. */
function parseCursor(cursor: string): Record<string, AttributeValue> {
  try {
    const key = JSON.parse(cursor) as Record<string, AttributeValue>;
    if (typeof key?.series?.S === 'string' && typeof key.minute?.N === 'string') return { series: key.series, minute: key.minute };
  } catch {
    // reported below
  }
  throw new StoreError(`invalid scan cursor ${JSON.stringify(cursor)}: a DynamoDB key (series, minute) as JSON`, { retriable: false });
}

/** A scan that returned a series' items apart or out of order: comparing runs would be wrong. */
function apartError(table: string, key: string): StoreError {
  return new StoreError(
    `the scan of ${table} returned the items of series ${key} apart or out of minute order; a bulk verify relies on a Scan returning ` +
      "a partition key's items together in sort-key order",
    { retriable: false },
  );
}

/** Key of an item within one call: series and minute. */
function itemKey(series: string, minute: string): string {
  return `${series}\u0000${minute}`;
}

/** Problems with DynamoDB store options (empty when valid). */
export function dynamoOptionProblems(opts: Partial<DynamoStoreOptions> | undefined): string[] {
  const problems = storeOptionProblems(opts);
  if (opts === undefined || opts === null || typeof opts !== 'object') return problems;
  // Duck-typed so a wrapped or instrumented client is accepted too.
  if (typeof opts.client?.send !== 'function' || typeof opts.client.destroy !== 'function') {
    problems.push('client: a DynamoDBClient is required (createDynamoClient in config/clients.ts)');
  }
  problems.push(...wholeNumberProblems('chunkConcurrency', opts.chunkConcurrency, 1, 64));
  problems.push(...wholeNumberProblems('tableActiveTimeoutSeconds', opts.tableActiveTimeoutSeconds, 1, 3600));
  return problems;
}
