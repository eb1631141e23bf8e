/**
 * Decides, per query, which store serves it and which store is read in the shadow, following the
 * environment's control state:
 *  - science: the old store serves; for sciencePercent of queries the new store is read
 *    concurrently as the candidate and the results are compared (minutes >= the horizon only);
 *  - every query is first clipped to the retention window (a minute older than now - retention is
 *    served by neither store);
 *  - cutover: for cutoverPercent of queries the part at or after the coverage horizon H is served
 *    by the new store and the part before H (if any) by the old store, stitched in minute order;
 *    served new results are still compared against the old store's same range while it exists,
 *    and a failing new-store read falls back to the old store for that part so the client never
 *    sees it;
 *  - after decommission (old store gone): the new store serves everything.
 * The served read returns as soon as it is done; the candidate never delays or fails it.
 */
import type { ControlState } from '../../kernel/control/control-state.js';
import { MINUTE_MS, type MetricPoint } from '../../kernel/model/metric-point.js';
import type { Logger } from '../../../kit/logger.js';
import { clipToHorizon, compareSeries } from '../../kernel/science/compare.js';
import type { ScienceSink } from './science-recorder.js';
import type { MetricStore, SeriesQuery } from '../../kernel/stores/metric-store.js';
import type { CandidateOutcome, CandidateRunner } from './candidate-runner.js';
import { OneSidedRechecks, type RecheckStats } from './one-sided-rechecks.js';
import type { WriterProgress } from './writer-progress.js';

/** The two stores of an environment. */
export interface EnvStores {
  old: MetricStore;
  new: MetricStore;
}

/** Options of the router. */
export interface ReadRouterOptions {
  stores: (env: string) => EnvStores;
  control: (env: string) => ControlState;
  recorder: ScienceSink;
  candidates: CandidateRunner;
  logger?: Logger;
  /** Uniform [0, 1) (tests pass a fixed one). */
  random?: () => number;
  now?: () => number;
  /**
   * How long after a minute ends a minute only one store has counts as a difference (see
   * CompareOptions.settleMs); default DEFAULT_SETTLE_MS.
   */
  settleMs?: number;
  /**
   * Proof of the writers' progress: with it, a minute only one store had is judged as soon as the
   * other store's writer has provably written past the read (see OneSidedRechecks), not only
   * after settleMs. Without it such a minute is left out of its comparison.
   */
  progress?: WriterProgress;
}

/**
 * Default settle time: the aggregator closes a minute its allowed lateness (10 s by default) after
 * the minute ends, and both writers have written it a few seconds later, well within 30 s.
 */
export const DEFAULT_SETTLE_MS = 30_000;

/** One part of a served read: which store served which minutes. */
export interface ServedPart {
  store: 'old' | 'new';
  fromMinute: number;
  toMinute: number;
}

/** What a routed read returns. */
export interface RoutedRead {
  points: MetricPoint[];
  /**
   * Who served it: one store for the whole (clipped) range, 'split' when the part at or after the
   * horizon came from the new store and the part before it from the old store, 'none' when the
   * range lies entirely outside retention (nothing read).
   */
  servedBy: 'old' | 'new' | 'split' | 'none';
  /** The parts, in minute order (empty for 'none'). */
  parts: ServedPart[];
  /** True when a candidate read was started for comparison. */
  compared: boolean;
}

/**
 * The first minute still within retention at `now`: a minute m is kept while m + retention > now
 * (the same rule as the comparison's expiry check).
 */
export function firstRetainedMinute(now: number, retentionMs: number): number {
  return Math.floor((now - retentionMs) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
}

/** The query clipped to the retention window, or undefined when nothing of it is retained. */
export function clipToRetention(q: SeriesQuery, now: number, retentionMs: number): SeriesQuery | undefined {
  const from = Math.max(q.fromMinute, firstRetainedMinute(now, retentionMs));
  return from <= q.toMinute ? { ...q, fromMinute: from } : undefined;
}

/** Routes reads between the old and the new store and runs the comparisons. */
export class ReadRouter {
  private readonly random: () => number;
  private readonly now: () => number;
  /** Comparisons still running (tests and shutdown wait for them). */
  private readonly pending = new Set<Promise<void>>();
  private readonly rechecks: OneSidedRechecks | undefined;

  constructor(private readonly o: ReadRouterOptions) {
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
    if (o.progress) {
      this.rechecks = new OneSidedRechecks({
        stores: o.stores,
        recorder: o.recorder,
        candidates: o.candidates,
        progress: o.progress,
        settleMs: o.settleMs ?? DEFAULT_SETTLE_MS,
        now: this.now,
        ...(o.logger ? { logger: o.logger } : {}),
      });
    }
  }

  /**
   * Resolves when every comparison started so far has been run; one waiting for a fresh
   * one-sided minute is recorded later (see rechecksWaiting).
   */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await this.rechecks?.settled();
  }

  /** One-sided minutes waiting for proof or their settle time (0 without WriterProgress). */
  get rechecksWaiting(): number {
    return this.rechecks?.size ?? 0;
  }

  /** Counters of the one-sided rechecks (undefined without WriterProgress). */
  get recheckStats(): Readonly<RecheckStats> | undefined {
    return this.rechecks?.stats;
  }

  /** Stops: comparisons still waiting are recorded with what was judged. */
  async close(): Promise<void> {
    await this.settled();
    await this.rechecks?.close();
  }

  /** Serves one query. Throws only when the serving store fails (and no fallback exists). */
  async read(env: string, query: SeriesQuery): Promise<RoutedRead> {
    // The comparison judges what the stores held when they were read, so it uses this time, not the
    // time the candidate finished (a minute expiring in between is no "expired_returned").
    const readAt = this.now();
    const state = this.o.control(env);
    const stores = this.o.stores(env);
    const rec = this.o.recorder;
    const horizon = state.coverageHorizon;

    // Neither store serves a minute past retention: clip first, route the clipped range.
    const q = clipToRetention(query, readAt, state.retentionMs);
    if (!q) return { points: [], servedBy: 'none', parts: [], compared: false };

    if (!state.oldStoreAvailable) {
      const points = await this.serve(env, 'new', stores.new, q);
      return { points, servedBy: 'new', parts: [{ store: 'new', fromMinute: q.fromMinute, toMinute: q.toMinute }], compared: false };
    }

    const covered = clipToHorizon(q.fromMinute, q.toMinute, horizon);
    const toNew = state.cutoverPercent > 0 && covered !== undefined && this.random() * 100 < state.cutoverPercent;
    if (toNew) {
      const newQ: SeriesQuery = { ...q, fromMinute: covered.from, toMinute: covered.to };
      const oldQ: SeriesQuery | undefined = covered.from > q.fromMinute ? { ...q, toMinute: covered.from - MINUTE_MS } : undefined;
      // The part before the horizon is read from the old store concurrently (one query, two parts:
      // the part is not counted as a query of its own).
      const oldPart = oldQ ? this.serve(env, 'old', stores.old, oldQ, false) : Promise.resolve<MetricPoint[]>([]);
      oldPart.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
      const covers = await this.readNewPart(env, newQ, state, readAt);
      const before = await oldPart;
      const parts: ServedPart[] = [
        ...(oldQ ? [{ store: 'old' as const, fromMinute: oldQ.fromMinute, toMinute: oldQ.toMinute }] : []),
        { store: covers.servedBy, fromMinute: newQ.fromMinute, toMinute: newQ.toMinute },
      ];
      const servedBy = oldQ ? (covers.servedBy === 'new' ? 'split' : 'old') : covers.servedBy;
      if (servedBy === 'split') rec.recordSplit(env);
      return { points: stitch(before, covers.points), servedBy, parts, compared: covers.compared };
    }

    const sample = covered !== undefined && state.sciencePercent > 0 && this.random() * 100 < state.sciencePercent;
    let candidate: Promise<CandidateOutcome<MetricPoint[]>> | undefined;
    if (sample) {
      candidate = this.o.candidates.tryRun(() => stores.new.readSeries({ ...q, fromMinute: covered.from, toMinute: covered.to }));
      if (!candidate) rec.recordSkipped(env);
    }
    const served = await this.serve(env, 'old', stores.old, q);
    if (candidate) this.track(candidate, (outcome) => this.compare(env, q, state, readAt, 'new', outcome, served));
    return { points: served, servedBy: 'old', parts: [{ store: 'old', fromMinute: q.fromMinute, toMinute: q.toMinute }], compared: candidate !== undefined };
  }

  /**
   * Serves the covered part from the new store, comparing it against the old store's same range;
   * falls back to the old store when the new one fails.
   */
  private async readNewPart(
    env: string,
    q: SeriesQuery,
    state: ControlState,
    readAt: number,
  ): Promise<{ points: MetricPoint[]; servedBy: 'old' | 'new'; compared: boolean }> {
    const stores = this.o.stores(env);
    const rec = this.o.recorder;
    // Start the old-store read for comparison at the same time, off the critical path.
    const shadow = this.o.candidates.tryRun(() => stores.old.readSeries(q));
    if (!shadow) rec.recordSkipped(env);
    const t0 = performance.now();
    let served: MetricPoint[];
    try {
      served = await stores.new.readSeries(q);
    } catch (err) {
      rec.recordNewStoreError(env);
      this.o.logger?.warn(
        { env, app: q.app, metric: q.metric, action: 'new-store-read-failed', err: (err as Error).message },
        'new store failed a served read; answering from the old store',
      );
      if (shadow) this.track(shadow, () => undefined);
      return { points: await this.serve(env, 'old', stores.old, q), servedBy: 'old', compared: false };
    }
    rec.recordServed(env, 'new', performance.now() - t0);
    if (shadow) this.track(shadow, (outcome) => this.compare(env, q, state, readAt, 'old', outcome, served));
    return { points: served, servedBy: 'new', compared: shadow !== undefined };
  }

  private async serve(env: string, which: 'old' | 'new', store: MetricStore, q: SeriesQuery, countQuery = true): Promise<MetricPoint[]> {
    const t0 = performance.now();
    try {
      const points = await store.readSeries(q);
      this.o.recorder.recordServed(env, which, performance.now() - t0, false, countQuery);
      return points;
    } catch (err) {
      this.o.recorder.recordServed(env, which, performance.now() - t0, true, countQuery);
      throw err;
    }
  }

  private track(outcome: Promise<CandidateOutcome<MetricPoint[]>>, then: (o: CandidateOutcome<MetricPoint[]>) => void): void {
    const p = outcome.then(then).catch((err: unknown) => {
      this.o.logger?.error({ action: 'compare-failed', err: (err as Error).message }, 'comparison failed');
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Records a candidate's outcome and, when it returned, the comparison against the served result. */
  private compare(
    env: string,
    q: SeriesQuery,
    state: ControlState,
    readAt: number,
    candidateStore: 'old' | 'new',
    outcome: CandidateOutcome<MetricPoint[]>,
    served: MetricPoint[],
  ): void {
    const rec = this.o.recorder;
    if (outcome.kind === 'timeout') return rec.recordCandidateFailure(env, 'timeout', candidateStore);
    if (outcome.kind === 'error') {
      this.o.logger?.debug({ env, action: 'candidate-failed', store: candidateStore, err: outcome.error.message }, 'candidate read failed');
      return rec.recordCandidateFailure(env, 'error', candidateStore);
    }
    rec.recordShadowLatency(env, candidateStore, outcome.ms);
    const [oldPoints, newPoints] = candidateStore === 'new' ? [served, outcome.value] : [outcome.value, served];
    const c = compareSeries(oldPoints, newPoints, {
      horizon: state.coverageHorizon,
      now: readAt,
      retentionMs: state.retentionMs,
      tolerance: state.tolerance,
      settleMs: this.o.settleMs ?? DEFAULT_SETTLE_MS,
    });
    const query = { app: q.app, metric: q.metric, from: q.fromMinute, to: q.toMinute };
    // Both reads have returned: a point either returned was appended to the metrics topic before now.
    if (this.rechecks) this.rechecks.hold(env, query, state, c, this.now());
    else rec.recordComparison(env, query, c);
  }
}

/** Concatenates parts in minute order, one point per minute (the later part wins a duplicate). */
export function stitch(...parts: MetricPoint[][]): MetricPoint[] {
  const byMinute = new Map<number, MetricPoint>();
  for (const part of parts) for (const p of part) byMinute.set(p.minute, p);
  return [...byMinute.values()].sort((a, b) => a.minute - b.minute);
}
