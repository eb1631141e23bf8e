/**
 * Rules every store applies before it touches its database: validate each point and query, set
 * aside points already past retention, and collapse duplicate keys. Sharing them keeps the three
 * stores' answers identical for the same input, which science mode's comparisons rely on.
 */
import { MINUTE_MS } from '../../../contract/index.js';
import { POINT_STATS, pointKey, type MetricPoint } from '../model/metric-point.js';
import type { SeriesQuery, WriteResult } from './metric-store.js';

/** Why a point breaks the MetricPoint contract, or undefined when it is valid. */
export function pointProblem(p: MetricPoint): string | undefined {
  if (p === null || typeof p !== 'object') return 'point is not an object';
  for (const field of ['app', 'metric'] as const) {
    const v: unknown = p[field];
    if (typeof v !== 'string' || v === '') return `${field} must be a non-empty string`;
    // '#' joins app and metric in DynamoDB's partition key; allowing it would let two series collide.
    if (v.includes('#')) return `${field} '${v}' contains '#', which separates app and metric in the series key`;
    // NUL separates the parts of pointKey, the in-process key.
    if (v.includes('\u0000')) return `${field} contains a NUL character`;
  }
  if (!Number.isSafeInteger(p.minute) || p.minute < 0 || p.minute % MINUTE_MS !== 0) {
    return `minute ${String(p.minute)} must be a non-negative epoch-ms multiple of ${MINUTE_MS}`;
  }
  if (!Number.isSafeInteger(p.count) || p.count < 0) return `count ${String(p.count)} must be a non-negative whole number`;
  for (const stat of POINT_STATS) {
    const v: unknown = p[stat];
    // NaN and Infinity have no JSON form and the codec refuses them: refuse them in every store alike.
    // Every finite float64 is accepted; the DynamoDB store encodes those its Number cannot hold.
    if (typeof v !== 'number' || !Number.isFinite(v)) return `${stat} ${String(v)} must be a finite number`;
  }
  return undefined;
}

/** Why a series query is malformed, or undefined when it is usable. */
export function queryProblem(q: SeriesQuery): string | undefined {
  if (q === null || typeof q !== 'object') return 'query is not an object';
  if (typeof q.app !== 'string' || q.app === '') return 'app must be a non-empty string';
  if (typeof q.metric !== 'string' || q.metric === '') return 'metric must be a non-empty string';
  if (!Number.isSafeInteger(q.fromMinute)) return `fromMinute ${String(q.fromMinute)} must be epoch ms (a whole number)`;
  if (!Number.isSafeInteger(q.toMinute)) return `toMinute ${String(q.toMinute)} must be epoch ms (a whole number)`;
  return undefined;
}

/** Epoch ms at which a point of this minute expires. */
export function expiresAtMs(minute: number, retentionMs: number): number {
  return minute + retentionMs;
}

/** True when a point of this minute is past retention at `nowMs` (expiry itself counts as expired). */
export function isExpired(minute: number, retentionMs: number, nowMs: number): boolean {
  return expiresAtMs(minute, retentionMs) <= nowMs;
}

/** A copy of a point holding only the MetricPoint fields (callers' extra fields are not stored); -0 stays -0. */
export function copyPoint(p: MetricPoint): MetricPoint {
  return {
    app: p.app,
    metric: p.metric,
    minute: p.minute,
    count: p.count,
    min: p.min,
    max: p.max,
    sum: p.sum,
    median: p.median,
    p95: p.p95,
    p99: p.p99,
  };
}

/** The points a store must write, and what it already knows about the rest. */
export interface WritePlan {
  /** Valid, live points, one per key (the last occurrence of a key wins, as sequential upserts would). */
  toWrite: MetricPoint[];
  /** Valid, live points replaced by a later point with the same key in the same call: they count as written. */
  superseded: number;
  /** Valid points already past retention. */
  expired: number;
  /** Points that break the MetricPoint contract. */
  rejected: WriteResult['rejected'];
}

/** Splits a batch into points to write, expired points and invalid points. */
export function planWrite(points: readonly MetricPoint[], retentionMs: number, nowMs: number): WritePlan {
  const byKey = new Map<string, MetricPoint>();
  const rejected: WriteResult['rejected'] = [];
  let expired = 0;
  let live = 0;
  for (const point of points) {
    const reason = pointProblem(point);
    if (reason !== undefined) {
      rejected.push({ point, reason });
    } else if (isExpired(point.minute, retentionMs, nowMs)) {
      expired++;
    } else {
      live++;
      byKey.set(pointKey(point), copyPoint(point));
    }
  }
  return { toWrite: [...byKey.values()], superseded: live - byKey.size, expired, rejected };
}

/** Problems with a key slice (empty when it is usable). */
export function keySliceProblem(slice: { index: number; count: number }): string | undefined {
  if (slice === null || typeof slice !== 'object') return 'slice must be { index, count }';
  if (!Number.isInteger(slice.count) || slice.count < 1 || slice.count > 1000)
    return `slice count ${String(slice.count)} must be a whole number from 1 to 1000`;
  if (!Number.isInteger(slice.index) || slice.index < 0 || slice.index >= slice.count)
    return `slice index ${String(slice.index)} must be from 0 to ${slice.count - 1}`;
  return undefined;
}

/** A stable slice of a series key ("app#metric"), 0..count-1 (FNV-1a over its UTF-16 code units). */
export function seriesSlice(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}
