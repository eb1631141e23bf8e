/**
 * The engine of a full verify. Slice i of n walks its own part of each store's key space, one
 * page at a time: first Cassandra's token range i (every series the old store holds there), then
 * DynamoDB's parallel-Scan segment i (only the series the old store does not hold at all: those
 * are compared nowhere else). Each series is compared minute by minute over the range with
 * science mode's comparator (compareSeries: the same classes, the same tolerance, expiry judged
 * at the time of the read). A slice's position (phase, page cursor, series of the page done) is
 * plain data any process can resume from, so nothing is listed up front and nothing depends on
 * a worker's memory.
 * Both stores are read through the MetricStore interface, exactly as served reads read them, so a
 * verify sees what a client would be served. Used by the verify activities; no Temporal here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DIFF_CLASSES, type DiffClass, type DiffSample, type VerifyCounts, type VerifyPlan, type VerifySlicePosition } from '../../contract/index.js';
import type { MetricPoint } from '../kernel/model/metric-point.js';
import { compareSeries } from '../kernel/science/compare.js';
import type { MetricStore, PointId, SeriesId } from '../kernel/stores/metric-store.js';

/** The two stores of an environment. */
export interface StorePair {
  old: MetricStore;
  new: MetricStore;
}

/** Counts with nothing counted. */
export function emptyCounts(): VerifyCounts {
  return { series: 0, oldPoints: 0, newPoints: 0, compared: 0, matched: 0, missing: 0, extra: 0, value_drift: 0, expired_returned: 0, unsettled: 0 };
}

/** a + b, field by field. */
export function addCounts(a: VerifyCounts, b: VerifyCounts): VerifyCounts {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof VerifyCounts)[]) out[k] = a[k] + b[k];
  return out;
}

/** Differences found (every class). */
export function mismatchCount(c: VerifyCounts): number {
  return DIFF_CLASSES.reduce((n, k) => n + c[k], 0);
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
  return { phase: 'old', cursor: null, doneInPage: [], lastOfPrevPage: null, oldListed: 0, oldSeries: 0, newSeries: 0 };
}

/**
 * Share of a slice done, 0..1: the old phase (where nearly all the reading is) counts for 0.8 by
 * its token position; the new phase for 0.2, estimated as the series it listed over the series
 * the old phase listed (the two stores hold about the same series, in equal parts).
 */
export function sliceProgress(p: SlicePosition): number {
  if (p.phase === 'done') return 1;
  if (p.phase === 'old') return 0.8 * Math.min(1, p.oldListed);
  return 0.8 + 0.2 * Math.min(0.95, p.newSeries / Math.max(1, p.oldSeries));
}

/** Where a chunk stands: the slice's position, and what was counted and sampled so far. */
export interface ChunkPosition {
  slice: SlicePosition;
  /** Series visited (compared, whether or not they held points in the range). */
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
  maxSeries: number;
  maxMs: number;
  /** Most points read per second (both stores together) by this chunk. */
  pointsPerSecond: number;
  /** Most samples kept per class. */
  sampleLimit: number;
  /** Most extra item keys kept. */
  extraLimit: number;
  /** Series listed per page (default 200). */
  pageSize?: number;
  /** Series read at once (default 8). */
  concurrency?: number;
  /** Called after every group of series and every page with the position reached (heartbeat it). */
  onProgress?: (p: ChunkPosition) => void;
  /** Stops early (between groups) when aborted; the position so far is returned. */
  signal?: AbortSignal;
  now?: () => number;
}

/** What a chunk did: its final position. */
export type ChunkResult = ChunkPosition;

/** Compares one series over the plan's range; adds to counts and samples. */
async function compareOne(key: string, o: ChunkOptions, pos: ChunkPosition, now: () => number): Promise<number> {
  const { app, metric } = seriesOfKey(key);
  const q = { app, metric, fromMinute: o.plan.range.fromMinute, toMinute: o.plan.range.toMinute };
  // Expiry is judged at the time of the read: taken before both reads, so a point either store
  // returned was live at this instant, and one returned past its retention is a real difference.
  const readAt = now();
  const [oldPoints, newPoints] = await Promise.all([o.stores.old.readSeries(q), o.stores.new.readSeries(q)]);
  const c = compareSeries(oldPoints, newPoints, {
    horizon: o.plan.range.fromMinute,
    now: readAt,
    retentionMs: o.plan.retentionMs,
    tolerance: o.plan.tolerance,
    settleMs: o.plan.settleMs,
  });
  const counts = pos.counts;
  if (oldPoints.length + newPoints.length > 0) counts.series++;
  counts.oldPoints += oldPoints.length;
  counts.newPoints += newPoints.length;
  counts.compared += c.compared;
  counts.matched += c.matched;
  counts.unsettled += c.unsettled.length;
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
  return oldPoints.length + newPoints.length;
}

/**
 * Walks the slice on from `from`, up to maxSeries or maxMs, at most pointsPerSecond. The position
 * is reported (onProgress) after each whole group of series and each page, so a resumed attempt
 * neither skips nor re-counts a series.
 */
export async function verifyChunk(o: ChunkOptions): Promise<ChunkResult> {
  const now = o.now ?? Date.now;
  const concurrency = o.concurrency ?? 8;
  const pageSize = o.pageSize ?? 200;
  const keySlice = { index: o.slice, count: o.plan.slices };
  const pos: ChunkPosition = {
    slice: { ...o.from.slice, doneInPage: [...o.from.slice.doneInPage] },
    visited: o.from.visited,
    counts: { ...o.from.counts },
    samples: [...o.from.samples],
    extraItems: [...o.from.extraItems],
  };
  const started = now();
  let points = 0;
  let inChunk = 0;
  const more = (): boolean => pos.slice.phase !== 'done' && inChunk < o.maxSeries && now() - started < o.maxMs && !o.signal?.aborted;
  while (more()) {
    const sp = pos.slice;
    const store = sp.phase === 'old' ? o.stores.old : o.stores.new;
    const page = await store.listSeriesPage(keySlice, sp.cursor, pageSize);
    const keys = [...new Set(page.series.map(seriesKeyOf))];
    const done = new Set(sp.doneInPage);
    const todo = keys.filter((k) => !done.has(k) && k !== sp.lastOfPrevPage);
    let i = 0;
    while (i < todo.length && more()) {
      const group = todo.slice(i, i + Math.min(concurrency, o.maxSeries - inChunk));
      const read = await Promise.all(
        group.map(async (k) => {
          // The new store's phase compares only series the old store holds nowhere (the old phase of
          // some slice compares every other one).
          if (sp.phase === 'new' && (await o.stores.old.hasSeries(seriesOfKey(k)))) return 0;
          pos.visited++;
          return compareOne(k, o, pos, now);
        }),
      );
      points += read.reduce((a, b) => a + b, 0);
      i += group.length;
      inChunk += group.length;
      sp.doneInPage.push(...group);
      o.onProgress?.(pos);
      // Pace to the rate limit: a verify must never starve served reads or the writers.
      const dueMs = (points / o.pointsPerSecond) * 1000 - (now() - started);
      if (dueMs > 0) await sleep(dueMs);
    }
    if (i < todo.length) break; // the chunk ends inside this page; the next one refetches it and skips what is done
    if (sp.phase === 'old') {
      sp.oldSeries += keys.length;
      sp.oldListed = page.progress;
    } else {
      sp.newSeries += keys.filter((k) => k !== sp.lastOfPrevPage).length;
    }
    sp.lastOfPrevPage = keys.at(-1) ?? sp.lastOfPrevPage;
    sp.doneInPage = [];
    sp.cursor = page.next;
    if (page.next === null) {
      sp.phase = sp.phase === 'old' ? 'new' : 'done';
      sp.lastOfPrevPage = null;
      if (sp.phase === 'new') sp.oldListed = 1;
    }
    o.onProgress?.(pos);
  }
  return pos;
}
