/**
 * Compares what the two stores return for one query, minute by minute, the way science mode and
 * cutover need it: only minutes at or after the coverage horizon count (before it the new store
 * is incomplete by design), and each difference is classified.
 */
import { DIFF_CLASSES, MINUTE_MS } from '../../../contract/index.js';
import { POINT_STATS, type MetricPoint, type PointStat } from '../model/metric-point.js';

/** Kinds of difference between the old (control) and the new (candidate) store. */
export const MISMATCH_KINDS = DIFF_CLASSES;

/** One kind of difference. */
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

/** One differing minute. */
export interface Mismatch {
  kind: MismatchKind;
  minute: number;
  /** What the old store returned for the minute (absent for 'extra'). */
  old?: MetricPoint;
  /** What the new store returned for the minute (absent for 'missing'). */
  new?: MetricPoint;
  /** For value drift: the statistics that differ beyond tolerance. */
  fields?: PointStat[];
}

/** Options of a comparison. */
export interface CompareOptions {
  /** Coverage horizon (epoch ms) or null when the new store has no complete data yet. */
  horizon: number | null;
  /** Now, epoch ms (for the expiry check). */
  now: number;
  retentionMs: number;
  /** |a-b| <= absolute + relative * max(|a|, |b|) counts as equal. */
  tolerance: { relative: number; absolute: number };
  /**
   * A minute that only one store has and that ended less than this long before `now`, or that
   * expires less than this long after it, is not judged (default 0). The two writers are
   * independent consumer groups: a minute the aggregator has just closed lands in one store
   * moments before the other, and a read in between is a race, not a missing or extra minute;
   * likewise a minute expiring between the two reads. Minutes both stores have are always judged.
   */
  settleMs?: number;
  /**
   * The writer of the store that lacks a one-sided minute is proven to have written everything
   * published before the reads (see WriterProgress): the minute is judged whatever its age.
   */
  writersProven?: boolean;
  /**
   * Every minute only one store has is left unjudged (in `unsettled`), whatever its age, unless
   * writersProven: only a proof that the lacking store's writer has passed the reads turns it
   * into a difference. A writer that is down, restarting or behind leaves the minute one-sided
   * for as long as it takes, and that is not evidence that the data differs. The read router
   * compares this way; without it (default) a one-sided minute older than settleMs is judged.
   */
  holdOneSided?: boolean;
}

/**
 * A minute only one store had that this comparison did not judge (it ended less than settleMs
 * ago, or holdOneSided): the other store's writer may not have written it yet. The read router
 * judges it again once that writer has provably written past it (see OneSidedRechecks), and
 * counts it as not judged if that proof does not come.
 */
export interface UnsettledMinute {
  minute: number;
  /** The store that had the minute. */
  presentIn: 'old' | 'new';
  /** What that store returned for it. */
  point: MetricPoint;
}

/** Result of comparing one query's two results. */
export interface Comparison {
  /** Minutes compared (at or after the horizon, present in either store, settled unless in both). */
  compared: number;
  /** Minutes that agree. */
  matched: number;
  mismatches: Mismatch[];
  /** One-sided minutes too fresh to judge (empty unless settleMs > 0). */
  unsettled: UnsettledMinute[];
}

/** True when two numbers agree within the tolerance. */
export function withinTolerance(a: number, b: number, t: CompareOptions['tolerance']): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= t.absolute + t.relative * Math.max(Math.abs(a), Math.abs(b));
}

/** Compares old-store and new-store results of the same series query. */
export function compareSeries(oldPoints: readonly MetricPoint[], newPoints: readonly MetricPoint[], o: CompareOptions): Comparison {
  if (o.horizon === null) return { compared: 0, matched: 0, mismatches: [], unsettled: [] };
  const horizon = o.horizon;
  const settleMs = o.settleMs ?? 0;
  // Within settleMs of either end of its life a minute may be in one store's result and not yet
  // (just closed) or no longer (just expired: the two reads run at slightly different times, and
  // Cassandra's TTL counts in whole seconds) in the other's: a race, not a difference.
  const closing = (minute: number): boolean => !o.writersProven && (o.holdOneSided === true || minute + MINUTE_MS + settleMs > o.now);
  const expiring = (minute: number): boolean => minute + o.retentionMs - settleMs <= o.now;
  const byMinuteOld = new Map(oldPoints.filter((p) => p.minute >= horizon).map((p) => [p.minute, p]));
  const byMinuteNew = new Map(newPoints.filter((p) => p.minute >= horizon).map((p) => [p.minute, p]));
  const minutes = [...new Set([...byMinuteOld.keys(), ...byMinuteNew.keys()])].sort((a, b) => a - b);
  const mismatches: Mismatch[] = [];
  const unsettled: UnsettledMinute[] = [];
  let matched = 0;
  for (const minute of minutes) {
    const a = byMinuteOld.get(minute);
    const b = byMinuteNew.get(minute);
    if (b && b.minute + o.retentionMs <= o.now) {
      // The new store served a point past its retention: DynamoDB deletes late, reads must filter.
      mismatches.push({ kind: 'expired_returned', minute, ...(a ? { old: a } : {}), new: b });
      continue;
    }
    if (!a || !b) {
      if (expiring(minute)) continue; // not compared: one read may have run just after it expired
      if (closing(minute)) {
        // Not compared yet: the other writer may not have written it.
        unsettled.push(a ? { minute, presentIn: 'old', point: a } : { minute, presentIn: 'new', point: b! });
        continue;
      }
    }
    if (a && !b) mismatches.push({ kind: 'missing', minute, old: a });
    else if (!a && b) mismatches.push({ kind: 'extra', minute, new: b });
    else if (a && b) {
      const fields = POINT_STATS.filter((f) => !withinTolerance(a[f], b[f], o.tolerance));
      if (fields.length > 0) mismatches.push({ kind: 'value_drift', minute, old: a, new: b, fields });
      else matched++;
    }
  }
  return { compared: matched + mismatches.length, matched, mismatches, unsettled };
}

/** The minute range [from, to] clipped to minutes at or after the horizon, or undefined when empty. */
export function clipToHorizon(fromMinute: number, toMinute: number, horizon: number | null): { from: number; to: number } | undefined {
  if (horizon === null) return undefined;
  const from = Math.max(fromMinute, horizon);
  return from <= toMinute ? { from, to: toMinute } : undefined;
}
