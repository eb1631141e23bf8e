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
import { POINT_STATS, type MetricPoint } from '../model/metric-point.js';
import { forEachConcurrent } from './bounded-concurrency.js';
import type { KeySlice, MetricStore, PointId, SeriesId, SeriesPage, SeriesQuery, WriteResult } from './metric-store.js';
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

/** MetricStore on DynamoDB: BatchWriteItem in chunks, Query per series, expiry filtered on read. */
export class DynamoMetricStore implements MetricStore {
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

  /** The series of one parallel-Scan segment (Segment index of TotalSegments count), reading keys only. */
  async listSeries(slice: KeySlice): Promise<SeriesId[]> {
    const problem = keySliceProblem(slice);
    if (problem !== undefined) throw new StoreError(`invalid key slice: ${problem}`, { retriable: false });
    const seen = new Set<string>();
    const pages = this.pages('scan series', (startKey) => this.client.send(this.seriesScan(slice, startKey)));
    for await (const items of pages) for (const item of items) if (item.series?.S !== undefined) seen.add(item.series.S);
    return [...seen].map((key) => {
      const cut = key.indexOf('#');
      return { app: key.slice(0, cut), metric: key.slice(cut + 1) };
    });
  }

  /**
   * One page of a parallel-Scan segment, reading keys only: up to `limit` items (DynamoDB has no
   * distinct-partition listing, so a scan reads every item's key). The cursor is the page's
   * LastEvaluatedKey as JSON. The segment's progress cannot be known; it is reported as 0 until done.
   */
  async listSeriesPage(slice: KeySlice, cursor: string | null, limit: number): Promise<SeriesPage> {
    const problem = keySliceProblem(slice);
    if (problem !== undefined) throw new StoreError(`invalid key slice: ${problem}`, { retriable: false });
    let startKey: Record<string, AttributeValue> | undefined;
    if (cursor !== null) {
      try {
        startKey = JSON.parse(cursor) as Record<string, AttributeValue>;
      } catch {
        throw new StoreError(`invalid listing cursor ${JSON.stringify(cursor)}: a DynamoDB key as JSON`, { retriable: false });
      }
    }
    const page: ScanCommandOutput = await this.run('scan series page', () =>
      this.client.send(this.seriesScan(slice, startKey, Math.max(1, Math.min(limit * 50, 10_000)))),
    );
    const seen = new Set<string>();
    for (const item of page.Items ?? []) if (item.series?.S !== undefined) seen.add(item.series.S);
    const next = page.LastEvaluatedKey === undefined ? null : JSON.stringify(page.LastEvaluatedKey);
    return {
      series: [...seen].map((key) => ({ app: key.slice(0, key.indexOf('#')), metric: key.slice(key.indexOf('#') + 1) })),
      next,
      progress: next === null ? 1 : 0,
    };
  }

  /** Whether any item of the series is stored (expired ones not yet deleted included, as listSeries lists them). */
  async hasSeries(series: SeriesId): Promise<boolean> {
    const out = await this.run('has series', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'series = :s',
          ExpressionAttributeValues: { ':s': { S: seriesKey(series.app, series.metric) } },
          ProjectionExpression: 'series',
          Limit: 1,
        }),
      ),
    );
    return (out.Items ?? []).length > 0;
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

  private fromItem(item: Record<string, AttributeValue>): MetricPoint {
    const s = (name: string): string => {
      const v = item[name]?.S;
      if (v === undefined) throw new StoreError(`item in ${this.table} lacks string attribute ${name}`, { retriable: false });
      return v;
    };
    const n = (name: string): number => {
      const v = item[name];
      const decoded = v === undefined ? undefined : decodeStat(v);
      if (decoded === undefined) throw new StoreError(`item in ${this.table} lacks number attribute ${name}`, { retriable: false });
      return decoded;
    };
    return {
      app: s('app'),
      metric: s('metric'),
      minute: n('minute'),
      count: n('count'),
      min: n('min'),
      max: n('max'),
      sum: n('sum'),
      median: n('median'),
      p95: n('p95'),
      p99: n('p99'),
    };
  }

  private async backoff(action: string, attempt: number, cause: unknown): Promise<void> {
    const delayMs = backoffDelayMs(this.retry, attempt);
    this.logger?.warn({ env: this.env, store: this.kind, action, attempt, delayMs, err: errorMessage(cause) }, 'transient failure, retrying');
    await sleep(delayMs);
  }

  /** attempt(), with every failure turned into a StoreError (for calls where no point is at fault). */
  /** A Scan of one segment's keys (series only), from startKey, of up to limit items. */
  private seriesScan(slice: KeySlice, startKey: Record<string, AttributeValue> | undefined, limit?: number): ScanCommand {
    return new ScanCommand({
      TableName: this.table,
      ProjectionExpression: 'series',
      Segment: slice.index,
      TotalSegments: slice.count,
      Limit: limit,
      ExclusiveStartKey: startKey,
    });
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
