/**
 * The engine of a full verify. Slice i of n is the old store's token range i and the new store's
 * Scan segment i: the two stores order keys differently (Cassandra by the Murmur3 token of the
 * partition key, DynamoDB by its own hash), so no walk meets both stores' series in one order, and
 * a slice's two parts hold different series; the n slices together cover both stores. A slice
 * walks its parts in two phases:
 *
 *  1. list: the old store's token range, one row per series with a point in the range (Cassandra
 *     reads about one row of each partition), a page at a time. The new store is asked which of
 *     the page's series it holds any item of in the range (a BatchGetItem of each one's first
 *     minute, 100 a call); a series it holds nothing of is compared here, both stores read. The
 *     others are the scan phase's: their minutes estimate its work (progress, ETA).
 *  2. scan: the new store's segment, in bulk: Scan pages of up to 1 MB, the next page read while
 *     this one is compared. A series' items come together and in minute order; each whole series
 *     is compared with the old store's read of its partition slice (one request a series, as many
 *     points as it holds in the range).
 *
 * Every series with a point of the range in either store is compared exactly once: in the scan
 * phase when the new store holds an item of it in the range, otherwise in the list phase. (A
 * series whose every item of the range reaches the new store only while the verify runs, from a
 * writer lagging behind the settled minutes or a repair run at the same time, may be compared in
 * both phases or, when another slice's scan passed it before its listing, in neither.)
 *
 * Each series is compared minute by minute over the range with science mode's comparator
 * (compareSeries: the same classes, the same tolerance, minutes too fresh to be written by both
 * writers left unjudged), expiry judged at the time of the first read of the series. A slice's
 * position (phase, cursor, what was counted) is plain data any process resumes from: in the scan
 * phase the cursor is just after the last whole series compared, so a resumed walk neither skips
 * nor re-counts a series. Memory: at most two scan pages (the one compared and the one read ahead)
 * and the series that continues past them, plus the old store's reads of `concurrency` series.
 * Both stores are read as served reads read them (expired points never returned), so a verify sees
 * what a client would be served. Used by the verify activities; no Temporal here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type DiffClass, type DiffSample, type VerifyCounts, type VerifyPlan, type VerifySlicePosition, MINUTE_MS } from '../../contract/index.js';
import type { MetricPoint } from '../kernel/model/metric-point.js';
import { compareSeries } from '../kernel/science/compare.js';
import type { BulkScanStore, ListedSeries, MetricStore, PointId, PointsPage, SeriesId, SeriesListingStore, SeriesRun } from '../kernel/stores/metric-store.js';
import { StoreError } from '../kernel/stores/store-error.js';

/** The two stores of an environment: the old one is listed, the new one scanned in bulk. */
export interface StorePair {
  old: MetricStore & SeriesListingStore;
  new: MetricStore & BulkScanStore;
}

/** The key of a series ("app#metric": neither part may hold '#'). */
export function seriesKeyOf(s: SeriesId): string {
  return `${s.app}#${s.metric}`;
}

/** The series of a key made by seriesKeyOf. */
export function seriesOfKey(key: string): SeriesId {
  const cut = key.indexOf('#');
  return { app: key.slice(0, cut), metric: key.slice(cut + 1) };
}

/** A point's values for a sample. */
function sampleValues(p: MetricPoint | undefined): Record<string, number | string> | undefined {
  return p === undefined ? undefined : { ...p };
}

/** Where a slice's walk stands (plain data, in the contract: a resumed chunk gets it back). */
export type SlicePosition = VerifySlicePosition;

/** A slice's walk before it starts. */
export function startPosition(): SlicePosition {
  return { phase: 'list', cursor: null, doneAtCursor: [], listed: 0, listedSeries: 0, expectedPoints: 0, scannedSeries: 0, scannedPoints: 0 };
}

/** Why a position cannot be resumed from (one written by an older engine, or not a position), or null. */
export function positionProblem(p: unknown): string | null {
  const phase = (p as { phase?: unknown } | null)?.phase;
  if (phase === 'list' || phase === 'scan' || phase === 'done') return null;
  return `a slice position of phase ${JSON.stringify(phase)} is not one this verify can resume (it was written by an older version): start a new verify run`;
}

/** Share of the list phase in a slice's progress: it reads about one row a series, the scan every point. */
const LIST_SHARE = 0.1;

/**
 * Share of a slice done, 0..1: the list phase by its token position; the scan phase by the points
 * it compared over the points the listed series can hold (the two stores hold about the same
 * series, in equal parts), below 1 until it is done.
 */
export function sliceProgress(p: SlicePosition): number {
  if (p.phase === 'done') return 1;
  if (p.phase === 'list') return LIST_SHARE * Math.min(1, p.listed);
  const scanned = p.expectedPoints > 0 ? Math.min(0.99, p.scannedPoints / p.expectedPoints) : 0;
  return LIST_SHARE + (1 - LIST_SHARE) * scanned;
}

/** Where a chunk stands: the slice's position, and what was counted and sampled so far. */
export interface ChunkPosition {
  slice: SlicePosition;
  /** Series compared (whether or not they held points in the range). */
  visited: number;
  counts: VerifyCounts;
  samples: DiffSample[];
  /** Keys of the items found extra or expired but returned (up to extraLimit): what a repair may delete. */
  extraItems: PointId[];
}

/** Options of verifyChunk. */
export interface ChunkOptions {
  stores: StorePair;
  plan: VerifyPlan;
  /** This slice: index of plan.slices. */
  slice: number;
  /** Where to start: the slice's position after the previous chunk, or one heartbeated by an interrupted attempt. */
  from: ChunkPosition;
  /** Most series compared by this chunk. */
  maxSeries: number;
  maxMs: number;
  /** Most points read per second (both stores together) by this chunk. */
  pointsPerSecond: number;
  /** Most samples kept per class. */
  sampleLimit: number;
  /** Most extra item keys kept. */
  extraLimit: number;
  /** Series listed per page of the list phase (default 500). */
  listPageSize?: number;
  /** Items read per scan page at most (default: the new store's page, 1 MB on DynamoDB, fewer when the rate limit is low). */
  scanPageSize?: number;
  /** Series compared at once (default 16). */
  concurrency?: number;
  /** Called after every group of series and every page with the position reached (heartbeat it). */
  onProgress?: (p: ChunkPosition) => void;
  /** Stops early (between groups) when aborted; the position so far is returned. */
  signal?: AbortSignal;
  now?: () => number;
}

/** What a chunk did: its final position. */
export type ChunkResult = ChunkPosition;

/** A series the scan met whole (or so far): its items, and when the first of them was read. */
interface ScannedSeries {
  key: string;
  run: SeriesRun;
  readAt: number;
}

/**
 * Walks the slice on from `from`, up to maxSeries compared or maxMs (the scan phase ends a chunk
 * between pages), at most pointsPerSecond points read. The position is reported (onProgress) after
 * each group of series and each page, so a resumed attempt neither skips nor re-counts a series.
 */
export async function verifyChunk(o: ChunkOptions): Promise<ChunkResult> {
  const now = o.now ?? Date.now;
  const concurrency = o.concurrency ?? 16;
  const listPageSize = o.listPageSize ?? 500;
  // A scan page holds at most about half a second of the rate limit (each point is read from both stores).
  const scanPageSize = o.scanPageSize ?? (o.pointsPerSecond < 20_000 ? Math.max(25, Math.floor(o.pointsPerSecond / 4)) : undefined);
  const keySlice = { index: o.slice, count: o.plan.slices };
  const range = o.plan.range;
  const problem = positionProblem(o.from.slice);
  if (problem !== null) throw new StoreError(problem, { retriable: false });
  const pos: ChunkPosition = {
    slice: { ...o.from.slice, doneAtCursor: [...o.from.slice.doneAtCursor] },
    visited: o.from.visited,
    counts: { ...o.from.counts },
    samples: [...o.from.samples],
    extraItems: [...o.from.extraItems],
  };
  const sp = pos.slice;
  const started = now();
  let read = 0;
  let inChunk = 0;
  const more = (): boolean => sp.phase !== 'done' && inChunk < o.maxSeries && now() - started < o.maxMs && !o.signal?.aborted;
  /** Waits until the points read so far are within the rate limit (a verify must never starve served reads or the writers). */
  const pace = async (): Promise<void> => {
    const due = (read / o.pointsPerSecond) * 1000 - (now() - started);
    if (due > 0) await sleep(due, undefined, { signal: o.signal }).catch(() => undefined); // aborted: the caller sees it next
  };

  /** Counts and samples one series' comparison. */
  const record = (series: SeriesId, oldPoints: MetricPoint[], newPoints: MetricPoint[], readAt: number): void => {
    const c = compareSeries(oldPoints, newPoints, {
      horizon: range.fromMinute,
      now: readAt,
      retentionMs: o.plan.retentionMs,
      tolerance: o.plan.tolerance,
      settleMs: o.plan.settleMs,
    });
    const counts = pos.counts;
    pos.visited++;
    if (oldPoints.length + newPoints.length > 0) counts.series++;
    counts.oldPoints += oldPoints.length;
    counts.newPoints += newPoints.length;
    counts.compared += c.compared;
    counts.matched += c.matched;
    counts.unsettled += c.unsettled.length;
    const { app, metric } = series;
    for (const m of c.mismatches) {
      counts[m.kind]++;
      if ((m.kind === 'extra' || m.kind === 'expired_returned') && pos.extraItems.length < o.extraLimit) pos.extraItems.push({ app, metric, minute: m.minute });
      if (pos.samples.filter((s) => s.kind === m.kind).length < o.sampleLimit) {
        const sample: DiffSample = { kind: m.kind as DiffClass, app, metric, minute: m.minute };
        const oldV = sampleValues(m.old);
        const newV = sampleValues(m.new);
        if (oldV) sample.old = oldV;
        if (newV) sample.new = newV;
        if (m.fields) sample.fields = [...m.fields];
        pos.samples.push(sample);
      }
    }
  };
  const query = (s: SeriesId) => ({ app: s.app, metric: s.metric, fromMinute: range.fromMinute, toMinute: range.toMinute });

  /** The list phase: series of the old store's token range that the new store holds nothing of in the range. */
  const listPhase = async (): Promise<void> => {
    while (more() && sp.phase === 'list') {
      await pace();
      const page = await o.stores.old.listSeriesWithin(keySlice, range, sp.cursor, listPageSize);
      read += page.series.length;
      const doneAt = new Set(sp.doneAtCursor);
      const rows = page.series.filter((r) => !(r.position === sp.cursor && doneAt.has(seriesKeyOf(r.series))));
      if (rows.length === 0 && page.more)
        throw new StoreError(`the listing of slice ${o.slice} does not advance past position ${sp.cursor}`, { retriable: false });
      const held = rows.length === 0 ? new Set<string>() : await o.stores.new.seriesHeldWithin(rows.map(probeOf), range);
      const heldBy = (r: ListedSeries): boolean => held.has(seriesKeyOf(r.series));
      for (let i = 0; i < rows.length;) {
        if (!more()) return;
        // The next rows in order, up to `concurrency` of them to compare here.
        let j = i;
        for (let n = 0; j < rows.length && (n < concurrency || heldBy(rows[j]!)); j++) if (!heldBy(rows[j]!)) n++;
        const group = rows.slice(i, j);
        const orphans = group.filter((r) => !heldBy(r));
        await Promise.all(
          orphans.map(async (r) => {
            const readAt = now();
            const [oldPoints, newPoints] = await Promise.all([o.stores.old.readSeries(query(r.series)), o.stores.new.readSeries(query(r.series))]);
            read += oldPoints.length + newPoints.length;
            record(r.series, oldPoints, newPoints, readAt);
          }),
        );
        for (const r of group) {
          if (r.position !== sp.cursor) {
            sp.cursor = r.position;
            sp.doneAtCursor = [];
          }
          sp.doneAtCursor.push(seriesKeyOf(r.series));
          sp.listedSeries++;
          if (heldBy(r)) sp.expectedPoints += Math.max(0, (range.toMinute - r.firstMinute) / MINUTE_MS + 1);
        }
        inChunk += orphans.length;
        i = j;
        o.onProgress?.(pos);
      }
      if (page.more) sp.listed = page.progress;
      else Object.assign(sp, { phase: 'scan', cursor: null, doneAtCursor: [], listed: 1 });
      o.onProgress?.(pos);
    }
  };

  /** A scan page, read once the rate limit allows it. */
  const fetchScan = async (cursor: string | null): Promise<{ page: PointsPage; readAt: number }> => {
    await pace();
    const readAt = now();
    const page = await o.stores.new.scanPoints(keySlice, range, cursor, scanPageSize);
    for (const r of page.runs) read += r.returned;
    return { page, readAt };
  };

  /** The scan phase: every series of the new store's segment with an item in the range, compared whole. */
  const scanPhase = async (): Promise<void> => {
    let from = sp.cursor;
    let open: ScannedSeries | null = null;
    let ahead: Promise<{ page: PointsPage; readAt: number }> | null = null;
    const met = new Set<string>(); // series met whole in this chunk: met again means the store returned it apart
    try {
      while (more()) {
        const { page, readAt } = await (ahead ?? fetchScan(from));
        ahead = null;
        // Read the next page while this one's series are compared.
        if (page.next !== null) ahead = fetchScan(page.next);
        const whole: ScannedSeries[] = [];
        for (const run of page.runs) {
          const key = seriesKeyOf(run.series);
          if (open !== null && open.key === key) {
            if (run.points.length > 0 && open.run.points.length > 0 && run.points[0]!.minute <= open.run.points.at(-1)!.minute)
              throw new StoreError(`the scan returned series ${key} out of minute order across pages`, { retriable: false });
            open.run = { ...open.run, points: open.run.points.concat(run.points), returned: open.run.returned + run.returned, after: run.after };
            continue;
          }
          if (open !== null) whole.push(open);
          if (met.has(key)) throw new StoreError(`the scan returned series ${key} apart: its items must come together`, { retriable: false });
          met.add(key);
          open = { key, run, readAt };
        }
        // The page's last series may continue on the next page; at the segment's end it is whole.
        if (page.next === null && open !== null) {
          whole.push(open);
          open = null;
        }
        // A page is compared to its end (a chunk stops between pages, or when aborted): its series would
        // otherwise be read again by the next chunk.
        for (let i = 0; i < whole.length; i += concurrency) {
          if (o.signal?.aborted) return; // the position stays after the last series compared; the next chunk reads on from there
          const group = whole.slice(i, i + concurrency);
          await Promise.all(
            group.map(async (s) => {
              const oldPoints = await o.stores.old.readSeries(query(s.run.series));
              read += oldPoints.length;
              record(s.run.series, oldPoints, s.run.points, s.readAt);
            }),
          );
          for (const s of group) sp.scannedPoints += s.run.returned;
          sp.scannedSeries += group.length;
          sp.cursor = group.at(-1)!.run.after;
          inChunk += group.length;
          o.onProgress?.(pos);
        }
        // Nothing of this page is left open: the walk resumes after it (items outside the range included).
        if (open === null) sp.cursor = page.next;
        from = page.next;
        if (page.next === null) {
          Object.assign(sp, { phase: 'done', cursor: null });
          o.onProgress?.(pos);
          return;
        }
      }
    } finally {
      // A page read ahead past the chunk's end is dropped: the next chunk reads it again.
      void ahead?.catch(() => undefined);
    }
  };

  while (more()) {
    if (sp.phase === 'list') await listPhase();
    else await scanPhase();
  }
  return pos;
}

/** What the new store is asked about a listed series: the minute to try first. */
function probeOf(r: ListedSeries): PointId {
  return { app: r.series.app, metric: r.series.metric, minute: r.firstMinute };
}
