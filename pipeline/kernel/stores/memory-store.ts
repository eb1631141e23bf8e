/**
 * An in-memory MetricStore for unit tests, with the same semantics as the real stores: upsert by
 * (app, metric, minute), expiry at minute + retention, expired points never returned, and points
 * already expired on arrival counted and not stored.
 */
import { pointKey, type MetricPoint } from '../model/metric-point.js';
import type { KeySlice, MetricStore, PointId, SeriesId, SeriesPage, SeriesQuery, WriteResult } from './metric-store.js';
import { assertNoProblems, storeOptionProblems, type StoreOptions } from './store-options.js';
import { copyPoint, isExpired, keySliceProblem, planWrite, queryProblem, seriesSlice } from './point-rules.js';
import { StoreError } from './store-error.js';

/** Options of the in-memory store (only the shared ones). */
export type MemoryStoreOptions = StoreOptions;

/** MetricStore kept in a Map; nothing survives the process. */
export class MemoryMetricStore implements MetricStore {
  /** Always 'memory'. */
  readonly kind = 'memory' as const;
  /** The environment whose data this store holds. */
  readonly env: string;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly points = new Map<string, MetricPoint>();

  constructor(opts: MemoryStoreOptions) {
    assertNoProblems(storeOptionProblems(opts));
    this.env = opts.env;
    this.retentionMs = opts.retentionMs;
    this.now = opts.now ?? Date.now;
  }

  /** Nothing to create. */
  async ensureSchema(): Promise<string[]> {
    return [];
  }

  /** Upserts the live, valid points; see WritePlan for what is counted where. */
  async writePoints(points: MetricPoint[]): Promise<WriteResult> {
    const now = this.now();
    const plan = planWrite(points, this.retentionMs, now);
    for (const p of plan.toWrite) this.points.set(pointKey(p), p);
    // Drop what has expired since, as the real databases eventually do, so long tests stay small.
    for (const [key, p] of this.points) if (isExpired(p.minute, this.retentionMs, now)) this.points.delete(key);
    return { written: plan.toWrite.length + plan.superseded, expired: plan.expired, rejected: plan.rejected };
  }

  /** The series' live points in [fromMinute, toMinute], ascending; copies, so callers cannot change the store. */
  async readSeries(query: SeriesQuery): Promise<MetricPoint[]> {
    const problem = queryProblem(query);
    if (problem !== undefined) throw new StoreError(`invalid series query: ${problem}`, { retriable: false });
    const now = this.now();
    const out: MetricPoint[] = [];
    for (const p of this.points.values()) {
      if (p.app !== query.app || p.metric !== query.metric) continue;
      if (p.minute < query.fromMinute || p.minute > query.toMinute) continue;
      if (isExpired(p.minute, this.retentionMs, now)) continue;
      out.push(copyPoint(p));
    }
    return out.sort((a, b) => a.minute - b.minute);
  }

  /** The series held, by a hash of their key (the memory store has no key space of its own). */
  async listSeries(slice: KeySlice): Promise<SeriesId[]> {
    const problem = keySliceProblem(slice);
    if (problem !== undefined) throw new StoreError(`invalid key slice: ${problem}`, { retriable: false });
    const out = new Map<string, SeriesId>();
    for (const p of this.points.values()) {
      const key = `${p.app}#${p.metric}`;
      if (seriesSlice(key, slice.count) === slice.index) out.set(key, { app: p.app, metric: p.metric });
    }
    return [...out.values()];
  }

  /** One page of the slice's series, sorted by key; the cursor is the last key of the page. */
  async listSeriesPage(slice: KeySlice, cursor: string | null, limit: number): Promise<SeriesPage> {
    const all = (await this.listSeries(slice)).map((s) => `${s.app}#${s.metric}`).sort();
    const rest = cursor === null ? all : all.filter((k) => k > cursor);
    const page = rest.slice(0, Math.max(1, limit));
    const done = all.length - rest.length + page.length;
    return {
      series: page.map((k) => ({ app: k.slice(0, k.indexOf('#')), metric: k.slice(k.indexOf('#') + 1) })),
      next: page.length < rest.length ? page[page.length - 1]! : null,
      progress: all.length === 0 ? 1 : done / all.length,
    };
  }

  /** Whether any point of the series is held. */
  async hasSeries(series: SeriesId): Promise<boolean> {
    for (const p of this.points.values()) if (p.app === series.app && p.metric === series.metric) return true;
    return false;
  }

  /** Deletes the keys given. */
  async deletePoints(keys: PointId[]): Promise<number> {
    for (const k of keys) this.points.delete(pointKey(k));
    return keys.length;
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}
