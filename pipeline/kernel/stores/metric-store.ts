/**
 * The time-series store interface: one implementation per backend (Cassandra, DynamoDB, and an
 * in-memory one for unit tests), picked by createMetricStore.
 */
import type { MetricPoint } from '../model/metric-point.js';

/** Which backend a store is. */
export type StoreKind = 'cassandra' | 'dynamodb' | 'memory';

/** A query for one series over a range of minutes. */
export interface SeriesQuery {
  app: string;
  metric: string;
  /** First minute, inclusive (epoch ms, multiple of 60 000). */
  fromMinute: number;
  /** Last minute, inclusive (epoch ms, multiple of 60 000). */
  toMinute: number;
}

/** One series: an app's metric. */
export interface SeriesId {
  app: string;
  metric: string;
}

/** One point's key. */
export interface PointId extends SeriesId {
  minute: number;
}

/**
 * One of `count` disjoint parts of a store's key space, for listing it in parallel: DynamoDB's
 * parallel Scan segments, Cassandra's token ranges. Every series is in exactly one slice of a store
 * (slices of the two stores hold different series: callers merge the listings).
 */
export interface KeySlice {
  index: number;
  count: number;
}

/**
 * One page of a slice's series listing: `next` resumes the listing after this page (null: the
 * slice is done). A cursor is plain text, valid in any process (a restarted worker resumes with it).
 */
export interface SeriesPage {
  series: SeriesId[];
  next: string | null;
  /** How far through its slice the listing is after this page, 0..1 (an estimate where the store cannot tell). */
  progress: number;
}

/** Outcome of writing a batch: points stored, and points the store rejected (with why). */
export interface WriteResult {
  written: number;
  /** Points already past their retention when written: not stored, on purpose. */
  expired: number;
  /** Points the store refused for a reason retrying cannot fix; they go to a dead-letter topic. */
  rejected: { point: MetricPoint; reason: string }[];
}

/** A store of metric points with a retention TTL. */
export interface MetricStore {
  readonly kind: StoreKind;
  /** The environment whose data this store holds. */
  readonly env: string;
  /** Creates the keyspace/table if missing (idempotent); returns warnings (e.g. TTL unsupported). */
  ensureSchema(): Promise<string[]>;
  /**
   * Upserts points keyed by (app, metric, minute), each expiring at minute + retention.
   * Transient failures are retried with backoff inside; what still fails throws (retriable).
   */
  writePoints(points: MetricPoint[]): Promise<WriteResult>;
  /** Reads one series, ascending by minute, never returning an expired point. */
  readSeries(query: SeriesQuery): Promise<MetricPoint[]>;
  /**
   * The series with at least one stored row in this slice of the key space (expired rows not yet
   * deleted included: a series is listed if it may hold anything), in no particular order.
   */
  listSeries(slice: KeySlice): Promise<SeriesId[]>;
  /**
   * The same listing one page at a time, from `cursor` (null: the slice's start), about `limit`
   * series or rows per page; a series may appear on two consecutive pages (callers skip repeats).
   */
  listSeriesPage(slice: KeySlice, cursor: string | null, limit: number): Promise<SeriesPage>;
  /** Whether the store holds any row of the series (as listSeries would list it). */
  hasSeries(series: SeriesId): Promise<boolean>;
  /** Deletes points by key (absent keys are fine); returns how many keys it was asked to delete. */
  deletePoints(keys: PointId[]): Promise<number>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** What the old store holds before a time (the TTL-wait check of the migration). */
export interface OldPointsBefore {
  /** False when the env's table does not exist (nothing is held). */
  tableExists: boolean;
  /** The oldest minute held before the time, or null when none is. */
  oldestMinute: number | null;
  /** False when the oldest minute could not be had in time and oldestMinute is just the first minute found. */
  exact: boolean;
}

/**
 * The old store's side of the migration's end, for one environment: whether it still holds data
 * older than a time (the TTL wait), and dropping it (decommission). The Cassandra store
 * implements it (openOldStoreAdmin in cassandra-store.ts).
 */
export interface OldStoreAdmin {
  /** Where the environment's data lives, for messages (the Cassandra keyspace). */
  readonly location: string;
  /** Whether any point older than `before` (epoch ms) is held, and the oldest such minute. */
  pointsBefore(before: number): Promise<OldPointsBefore>;
  /** Drops the environment's table and its keyspace (a repeat is a no-op). */
  drop(): Promise<void>;
}
