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
 * One of `count` disjoint parts of a store's key space, for walking it in parallel: DynamoDB's
 * parallel Scan segments, Cassandra's token ranges. Every series is in exactly one slice of a store
 * (slices of the two stores hold different series: the two stores order keys differently).
 */
export interface KeySlice {
  index: number;
  count: number;
}

/** A range of minutes, both ends inclusive (epoch ms, multiples of 60 000). */
export interface MinuteSpan {
  fromMinute: number;
  toMinute: number;
}

/** One series' points as a bulk scan met them: together, ascending by minute. */
export interface SeriesRun {
  series: SeriesId;
  /** Its live points of the span on this page, ascending by minute (expired items left out, as readSeries does). */
  points: MetricPoint[];
  /** Items of the span the store returned on this page, expired ones included. */
  returned: number;
  /** Cursor that resumes the scan just after this run's last item (in any process). */
  after: string;
}

/**
 * One page of a slice's bulk scan. A series' items come together and in minute order, so every
 * run but the last is whole; the last may continue on the next page (the caller joins them).
 */
export interface PointsPage {
  runs: SeriesRun[];
  /** Resumes the scan after this page (null: the slice is done). */
  next: string | null;
  /** Items the store read for this page, inside the span or not (what a scan is charged for). */
  scanned: number;
}

/**
 * The store a verify reads in bulk (the new store): every point of a slice's series inside a span,
 * page by page, and which series hold any item inside a span.
 */
export interface BulkScanStore {
  /**
   * One page of the slice's items inside the span, from `cursor` (null: the slice's start), about
   * `limit` items read at most (default: the store's page size). Throws a non-retriable
   * StoreError if the store returns a series' items apart or out of minute order.
   */
  scanPoints(slice: KeySlice, span: MinuteSpan, cursor: string | null, limit?: number): Promise<PointsPage>;
  /**
   * The keys ("app#metric") of the probed series that hold any item (expired or not) inside the
   * span. Each probe names a minute to try first (the series' first minute in the other store).
   */
  seriesHeldWithin(probes: readonly PointId[], span: MinuteSpan): Promise<Set<string>>;
}

/** A series with a point inside a span, as the listing met it. */
export interface ListedSeries {
  series: SeriesId;
  /** Its first minute inside the span. */
  firstMinute: number;
  /** Where the listing met it (a token): the listing resumes at a position, inclusive. */
  position: string;
}

/** One page of a slice's listing of series with a point inside a span. */
export interface SeriesListing {
  series: ListedSeries[];
  /** False when the slice's listing is over. */
  more: boolean;
  /** How far through its slice the listing is after this page, 0..1. */
  progress: number;
}

/**
 * The store a verify lists (the old store): the series of a slice that hold a point inside a span,
 * one row each, in the store's key order.
 */
export interface SeriesListingStore {
  /**
   * Up to `limit` series of the slice with a row inside the span, from `position` inclusive (null:
   * the slice's start), in key order; rows at `position` already handled are the caller's to skip.
   */
  listSeriesWithin(slice: KeySlice, span: MinuteSpan, position: string | null, limit: number): Promise<SeriesListing>;
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
