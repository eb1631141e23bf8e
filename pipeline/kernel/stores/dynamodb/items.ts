/**
 * The DynamoDB store's table and items: one table per environment, partition key `series` =
 * "app#metric" and sort key `minute`, the statistics (stat-encoding.ts) and `expiresAt`, the
 * attribute DynamoDB's TTL watches. DynamoDB deletes expired items late (up to days), so every
 * read drops items whose expiresAt has passed (itemExpired): results must match Cassandra's.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { POINT_STATS, type MetricPoint } from '../../model/metric-point.js';
import type { SeriesId } from '../metric-store.js';
import { StoreError } from '../store-error.js';
import { decodeStat, encodeStat } from './stat-encoding.js';

/** The attribute DynamoDB's TTL watches: expiry in epoch seconds. */
export const DYNAMO_TTL_ATTRIBUTE = 'expiresAt';

/** The table of an environment: `switchyard-<env>-metric-points`. */
export function dynamoTableFor(env: string): string {
  return `switchyard-${env}-metric-points`;
}

/** The partition key of a series; app ids and metric names never contain '#' (point-rules rejects it). */
export function seriesKey(app: string, metric: string): string {
  return `${app}#${metric}`;
}

/** Key of an item within one call: series and minute. */
export function itemKey(series: string, minute: string): string {
  return `${series}\u0000${minute}`;
}

/** When a point of this minute expires, in epoch seconds (what expiresAt holds). */
export function expiresAtSeconds(minute: number, retentionMs: number): number {
  return Math.ceil((minute + retentionMs) / 1000);
}

/** Whether an item of this minute has expired by `now` (its expiresAt, or the retention's expiry for an item without one). */
export function itemExpired(item: Record<string, AttributeValue>, minute: number, retentionMs: number, now: number): boolean {
  const expiresAt = item[DYNAMO_TTL_ATTRIBUTE]?.N !== undefined ? Number(item[DYNAMO_TTL_ATTRIBUTE].N) : expiresAtSeconds(minute, retentionMs);
  return expiresAt * 1000 <= now;
}

/** A point as the item written for it, its expiry retentionMs after its minute. */
export function toItem(p: MetricPoint, retentionMs: number): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    series: { S: seriesKey(p.app, p.metric) },
    minute: { N: String(p.minute) },
    app: { S: p.app },
    metric: { S: p.metric },
    [DYNAMO_TTL_ATTRIBUTE]: { N: String(expiresAtSeconds(p.minute, retentionMs)) },
  };
  for (const stat of POINT_STATS) item[stat] = encodeStat(p[stat]);
  return item;
}

/**
 * The point an item of `table` holds. Its series and minute come from `key` when given (a scan's
 * projection leaves app and metric out, and its key is already parsed), else from the item's own
 * attributes. An attribute missing or unreadable is a non-retriable StoreError naming it.
 */
export function pointFromItem(table: string, item: Record<string, AttributeValue>, key?: { series: SeriesId; minute: number }): MetricPoint {
  const s = (name: string): string => {
    const v = item[name]?.S;
    if (v === undefined) throw new StoreError(`item in ${table} lacks string attribute ${name}`, { retriable: false });
    return v;
  };
  const n = (name: string): number => {
    const v = item[name];
    const decoded = v === undefined ? undefined : decodeStat(v);
    if (decoded === undefined) throw new StoreError(`item in ${table} lacks number attribute ${name}`, { retriable: false });
    return decoded;
  };
  return {
    app: key ? key.series.app : s('app'),
    metric: key ? key.series.metric : s('metric'),
    minute: key ? key.minute : n('minute'),
    count: n('count'),
    min: n('min'),
    max: n('max'),
    sum: n('sum'),
    median: n('median'),
    p95: n('p95'),
    p99: n('p99'),
  };
}

/** What a verify scan reads of an item: its key, expiry and statistics (app and metric are in the key). */
export const SCAN_NAMES: Record<string, string> = Object.fromEntries(['series', 'minute', DYNAMO_TTL_ATTRIBUTE, ...POINT_STATS].map((a) => [`#${a}`, a]));
/** The projection of a verify scan (SCAN_NAMES' placeholders). */
export const SCAN_PROJECTION = Object.keys(SCAN_NAMES).join(', ');

/** A scan cursor back as the item key it holds. */
export function parseCursor(cursor: string): Record<string, AttributeValue> {
  try {
    const key = JSON.parse(cursor) as Record<string, AttributeValue>;
    if (typeof key?.series?.S === 'string' && typeof key.minute?.N === 'string') return { series: key.series, minute: key.minute };
  } catch {
    // reported below
  }
  throw new StoreError(`invalid scan cursor ${JSON.stringify(cursor)}: a DynamoDB key (series, minute) as JSON`, { retriable: false });
}
