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
 *
 * This file is the store's face (its options and the MetricStore it implements); its parts are in
 * dynamodb/: items.ts (table name, keys, item <-> point, expiry), stat-encoding.ts, table-schema.ts
 * (ensureSchema), batch-writer.ts (BatchWriteItem with its retries), reader.ts (Query, Scan
 * segments, probes), table-access.ts (how every call is retried) and dynamo-errors.ts (which
 * failures are transient).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { MetricPoint } from '../model/metric-point.js';
import type { BulkScanStore, KeySlice, MetricStore, MinuteSpan, PointId, PointsPage, SeriesQuery, WriteResult } from './metric-store.js';
import { resolveRetryPolicy } from './retry-policy.js';
import { assertNoProblems, storeOptionProblems, wholeNumberProblems, type StoreOptions } from './store-options.js';
import { BatchWriter } from './dynamodb/batch-writer.js';
import { dynamoTableFor } from './dynamodb/items.js';
import { Reader } from './dynamodb/reader.js';
import { TableSchema } from './dynamodb/table-schema.js';
import type { TableSettings } from './dynamodb/table-access.js';

export { DYNAMO_BATCH_SIZE } from './dynamodb/batch-writer.js';
export { isTransientDynamoError } from './dynamodb/dynamo-errors.js';
export { DYNAMO_TTL_ATTRIBUTE, dynamoTableFor, seriesKey } from './dynamodb/items.js';
export { DYNAMO_BATCH_GET_SIZE } from './dynamodb/reader.js';
export { decodeStat, encodeStat, fitsDynamoNumber, float64ToHex, hexToFloat64 } from './dynamodb/stat-encoding.js';
export { DYNAMO_TTL_UNSUPPORTED_WARNING } from './dynamodb/table-schema.js';

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

/** Default most BatchWriteItem calls in flight: 100 items at once, well under a new on-demand table's burst. */
export const DEFAULT_DYNAMO_CHUNK_CONCURRENCY = 4;

/** MetricStore on DynamoDB: BatchWriteItem in chunks, Query per series, Scan segments for a verify, expiry filtered on read. */
export class DynamoMetricStore implements MetricStore, BulkScanStore {
  /** Always 'dynamodb'. */
  readonly kind = 'dynamodb' as const;
  /** The environment whose data this store holds. */
  readonly env: string;
  /** This environment's table. */
  readonly table: string;
  private readonly client: DynamoDBClient;
  private readonly closeClient: boolean;
  private readonly schema: TableSchema;
  private readonly writer: BatchWriter;
  private readonly reader: Reader;

  constructor(opts: DynamoStoreOptions) {
    assertNoProblems(dynamoOptionProblems(opts));
    this.env = opts.env;
    this.table = dynamoTableFor(opts.env);
    this.client = opts.client;
    this.closeClient = opts.closeClient ?? true;
    const settings: TableSettings = {
      client: opts.client,
      env: opts.env,
      table: this.table,
      retentionMs: opts.retentionMs,
      now: opts.now ?? Date.now,
      chunkConcurrency: opts.chunkConcurrency ?? DEFAULT_DYNAMO_CHUNK_CONCURRENCY,
      retry: resolveRetryPolicy(opts.retry),
      logger: opts.logger,
    };
    this.schema = new TableSchema(settings, opts.tableActiveTimeoutSeconds ?? 120);
    this.writer = new BatchWriter(settings);
    this.reader = new Reader(settings);
  }

  /**
   * Creates the table if missing and waits until it is ACTIVE, then turns TTL on for expiresAt.
   * Returns DYNAMO_TTL_UNSUPPORTED_WARNING where the endpoint has no TTL API (dynalite).
   */
  ensureSchema(): Promise<string[]> {
    return this.schema.ensureSchema();
  }

  /** Upserts points in BatchWriteItem chunks; items DynamoDB refuses are returned in `rejected`. */
  writePoints(points: MetricPoint[]): Promise<WriteResult> {
    return this.writer.writePoints(points);
  }

  /** Queries [fromMinute, toMinute] ascending with strongly consistent reads, dropping expired items. */
  readSeries(query: SeriesQuery): Promise<MetricPoint[]> {
    return this.reader.readSeries(query);
  }

  /** One page of a parallel-Scan segment, cut into runs of one series each (see Reader.scanPoints). */
  scanPoints(slice: KeySlice, span: MinuteSpan, cursor: string | null, limit?: number): Promise<PointsPage> {
    return this.reader.scanPoints(slice, span, cursor, limit);
  }

  /** Which probed series hold an item inside the span, expired items included (see Reader.seriesHeldWithin). */
  seriesHeldWithin(probes: readonly PointId[], span: MinuteSpan): Promise<Set<string>> {
    return this.reader.seriesHeldWithin(probes, span);
  }

  /** Deletes items by key in BatchWriteItem chunks, retrying unprocessed ones. */
  deletePoints(keys: PointId[]): Promise<number> {
    return this.writer.deletePoints(keys);
  }

  /** Destroys the client unless it was marked shared (closeClient: false). */
  async close(): Promise<void> {
    if (this.closeClient) this.client.destroy();
  }
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
