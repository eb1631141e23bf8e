/**
 * An in-memory MetricStore for unit tests, with the same semantics as the real stores: upsert by
 * (app, metric, minute), expiry at minute + retention, expired points never returned, and points
 * already expired on arrival counted and not stored.
 */
import { pointKey, type MetricPoint } from '../model/metric-point.js';
import type {
  BulkScanStore,
  KeySlice,
  ListedSeries,
  MetricStore,
  MinuteSpan,
  PointId,
  PointsPage,
  SeriesListing,
  SeriesListingStore,
  SeriesQuery,
  SeriesRun,
  WriteResult,
} from './metric-store.js';
import { assertNoProblems, storeOptionProblems, type StoreOptions } from './store-options.js';
import { copyPoint, isExpired, keySliceProblem, planWrite, queryProblem, seriesSlice } from './point-rules.js';
import { StoreError } from './store-error.js';

/** Options of the in-memory store (only the shared ones). */
export type MemoryStoreOptions = StoreOptions;

/** MetricStore kept in a Map; nothing survives the process. */
export class MemoryMetricStore implements MetricStore, BulkScanStore, SeriesListingStore {
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

  /**
   * A slice's items inside the span (a hash of the series key picks the slice: the memory store has
   * no key space of its own), by series key then minute, `limit` items a page (default 1000); the
   * cursor is the last item's key as JSON.
   */
  async scanPoints(slice: KeySlice, span: MinuteSpan, cursor: string | null, limit = 1000): Promise<PointsPage> {
    const problem = keySliceProblem(slice);
    if (problem !== undefined) throw new StoreError(`invalid key slice: ${problem}`, { retriable: false });
    const now = this.now();
    const at = cursor === null ? null : (JSON.parse(cursor) as [string, number]);
    const items = [...this.points.values()]
      .map((p) => ({ key: `${p.app}#${p.metric}`, p }))
      .filter(({ key, p }) => seriesSlice(key, slice.count) === slice.index && (at === null || key > at[0] || (key === at[0] && p.minute > at[1])))
      .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : x.p.minute - y.p.minute));
    const page = items.slice(0, Math.max(1, limit));
    const runs: SeriesRun[] = [];
    for (const { key, p } of page) {
      if (p.minute < span.fromMinute || p.minute > span.toMinute) continue;
      let run = runs.at(-1);
      if (run === undefined || `${run.series.app}#${run.series.metric}` !== key) {
        run = { series: { app: p.app, metric: p.metric }, points: [], returned: 0, after: '' };
        runs.push(run);
      }
      run.returned++;
      run.after = JSON.stringify([key, p.minute]);
      if (!isExpired(p.minute, this.retentionMs, now)) run.points.push(copyPoint(p));
    }
    const last = page.at(-1);
    const next = page.length < items.length && last !== undefined ? JSON.stringify([last.key, last.p.minute]) : null;
    return { runs, next, scanned: page.length };
  }

  /** The probed series' keys that hold a point inside the span (expired ones included, until dropped). */
  async seriesHeldWithin(probes: readonly PointId[], span: MinuteSpan): Promise<Set<string>> {
    const wanted = new Set(probes.map((p) => `${p.app}#${p.metric}`));
    const held = new Set<string>();
    for (const p of this.points.values()) {
      const key = `${p.app}#${p.metric}`;
      if (wanted.has(key) && p.minute >= span.fromMinute && p.minute <= span.toMinute) held.add(key);
    }
    return held;
  }

  /** The slice's series with a point inside the span, by key; a series' position is its key. */
  async listSeriesWithin(slice: KeySlice, span: MinuteSpan, position: string | null, limit: number): Promise<SeriesListing> {
    const problem = keySliceProblem(slice);
    if (problem !== undefined) throw new StoreError(`invalid key slice: ${problem}`, { retriable: false });
    const first = new Map<string, ListedSeries>();
    for (const p of this.points.values()) {
      const key = `${p.app}#${p.metric}`;
      if (seriesSlice(key, slice.count) !== slice.index || p.minute < span.fromMinute || p.minute > span.toMinute) continue;
      const seen = first.get(key);
      if (seen === undefined || p.minute < seen.firstMinute) first.set(key, { series: { app: p.app, metric: p.metric }, firstMinute: p.minute, position: key });
    }
    const all = [...first.values()].sort((x, y) => (x.position < y.position ? -1 : x.position > y.position ? 1 : 0));
    const rest = position === null ? all : all.filter((s) => s.position >= position);
    const page = rest.slice(0, Math.max(1, limit));
    const done = all.length - rest.length + page.length;
    return { series: page, more: page.length < rest.length, progress: all.length === 0 ? 1 : done / all.length };
  }

  /** Deletes the keys given. */
  async deletePoints(keys: PointId[]): Promise<number> {
    for (const k of keys) this.points.delete(pointKey(k));
    return keys.length;
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}
