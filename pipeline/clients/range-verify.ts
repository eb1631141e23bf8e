/**
 * The engine of a full verify: lists every series either store holds, splits them into slices by
 * a stable hash, and compares each series' range minute by minute with science mode's comparator
 * (compareSeries: the same classes, the same tolerance, expiry judged at the time of the read).
 * Both stores are read through the MetricStore interface, exactly as served reads read them, so a
 * verify sees what a client would be served. Used by the verify activities; no Temporal here.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DIFF_CLASSES, type DiffClass, type DiffSample, type VerifyCounts, type VerifyPlan } from '../../contract/index.js';
import type { MetricPoint } from '../kernel/model/metric-point.js';
import { compareSeries } from '../kernel/science/compare.js';
import type { MetricStore, SeriesId } from '../kernel/stores/metric-store.js';
import { seriesSlice } from '../kernel/stores/point-rules.js';

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

/**
 * Every series either store holds, sorted by key: each store listed in `parallel` slices of its
 * own key space at once (DynamoDB Scan segments, Cassandra token ranges), then merged.
 */
export async function listAllSeries(stores: StorePair, parallel = 4): Promise<string[]> {
  const slices = Array.from({ length: parallel }, (_, index) => ({ index, count: parallel }));
  const lists = await Promise.all([...slices.map((s) => stores.old.listSeries(s)), ...slices.map((s) => stores.new.listSeries(s))]);
  const keys = new Set<string>();
  for (const list of lists) for (const s of list) keys.add(seriesKeyOf(s));
  return [...keys].sort();
}

/** The series of one verify slice (a stable hash of the key, the same on every worker). */
export function seriesOfSlice(all: readonly string[], slice: number, slices: number): string[] {
  return all.filter((k) => seriesSlice(k, slices) === slice);
}

/** A point's values for a sample. */
function sampleValues(p: MetricPoint | undefined): Record<string, number | string> | undefined {
  return p === undefined ? undefined : { ...p };
}

/** Where a chunk stands: the last series done, and what was counted and sampled so far. */
export interface ChunkPosition {
  after: string | null;
  /** Series visited (compared, whether or not they held points in the range). */
  visited: number;
  counts: VerifyCounts;
  samples: DiffSample[];
}

/** Options of verifyChunk. */
export interface ChunkOptions {
  stores: StorePair;
  plan: VerifyPlan;
  /** The slice's series, sorted. */
  series: readonly string[];
  /** Where to start: a fresh chunk (after a series key) or a position heartbeated by an interrupted attempt. */
  from: ChunkPosition;
  maxSeries: number;
  maxMs: number;
  /** Most points read per second (both stores together) by this chunk. */
  pointsPerSecond: number;
  /** Most samples kept per class. */
  sampleLimit: number;
  /** Series read at once (default 8). */
  concurrency?: number;
  /** Called after every group of series with the position reached (heartbeat it). */
  onProgress?: (p: ChunkPosition) => void;
  /** Stops early (between groups) when aborted; the position so far is returned. */
  signal?: AbortSignal;
  now?: () => number;
}

/** What a chunk did: its final position, and whether the slice is done. */
export interface ChunkResult extends ChunkPosition {
  done: boolean;
}

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
 * Compares the next series of a slice, after `from.after`, up to maxSeries or maxMs, at most
 * pointsPerSecond. Each group's position is reported (onProgress) once the whole group is done,
 * so a resumed attempt neither skips nor re-counts a series.
 */
export async function verifyChunk(o: ChunkOptions): Promise<ChunkResult> {
  const now = o.now ?? Date.now;
  const concurrency = o.concurrency ?? 8;
  const pos: ChunkPosition = { after: o.from.after, visited: o.from.visited, counts: { ...o.from.counts }, samples: [...o.from.samples] };
  let next = pos.after === null ? 0 : o.series.findIndex((k) => k > pos.after!);
  if (next === -1) next = o.series.length;
  const started = now();
  let points = 0;
  let inChunk = 0;
  while (next < o.series.length && inChunk < o.maxSeries && now() - started < o.maxMs && !o.signal?.aborted) {
    const group = o.series.slice(next, next + Math.min(concurrency, o.maxSeries - inChunk));
    const read = await Promise.all(group.map((k) => compareOne(k, o, pos, now)));
    points += read.reduce((a, b) => a + b, 0);
    next += group.length;
    inChunk += group.length;
    pos.after = group[group.length - 1]!;
    pos.visited += group.length;
    o.onProgress?.(pos);
    // Pace to the rate limit: a verify must never starve served reads or the writers.
    const dueMs = (points / o.pointsPerSecond) * 1000 - (now() - started);
    if (dueMs > 0) await sleep(dueMs);
  }
  return { ...pos, done: next >= o.series.length };
}
