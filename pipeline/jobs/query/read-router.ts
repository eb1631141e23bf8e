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
 *  - the fresh end: while the old store is still written, the new store serves only the minutes
 *    its writer is proven (WriterProgress.freshEdge) to have written; the newer minutes come from
 *    the old store (with any the new store already holds and the old one does not yet), stitched
 *    in minute order. So no read lacks a minute the old store has because the new store's writer
 *    is down, restarting or behind. Once the old store is no longer written, the new store serves
 *    everything and the read says how far behind its writer is;
 *  - after decommission (old store gone): the new store serves everything;
 *  - cohorts (migrations that move apps in cohorts): when the control state lists cohorts, an
 *    app's reads follow its cohort's sciencePercent and cutoverPercent instead of the
 *    environment's (contract/cohorts.ts says which cohort an app is in), and everything recorded
 *    about them is counted for the environment and for the cohort (scienceStatsKey), which the
 *    cohort's gates and rollbacks read.
 * A minute only one store has is never judged a difference until the other store's writer is
 * proven past it (OneSidedRechecks); without proof it counts as not judged.
 * The served read returns as soon as it is done; the candidate never delays or fails it.
 */
import { cohortOf, MINUTE_MS } from '../../../contract/index.js';
import type { ControlState } from '../../../control/model.js';
import type { MetricPoint } from '../../kernel/model/metric-point.js';
import type { Logger } from '../../../kit/logger.js';
import { clipToHorizon, compareSeries } from '../../kernel/science/compare.js';
import { scienceStatsKey } from '../../kernel/science/control-tables.js';
import type { ScienceSink } from './science-recorder.js';
import type { MetricStore, SeriesQuery } from '../../kernel/stores/metric-store.js';
import type { CandidateOutcome, CandidateRunner } from './candidate-runner.js';
import { OneSidedRechecks, type RecheckStats } from './one-sided-rechecks.js';
import type { WriterProgress } from '../../kernel/observability/writer-progress.js';

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
   * How long a comparison with a minute only one store has is held waiting for proof that the
   * other store's writer passed it (then the minute counts as not judged), and how close to its
   * expiry a one-sided minute is left out; default DEFAULT_SETTLE_MS.
   */
  settleMs?: number;
  /**
   * Proof of the writers' progress: with it, a minute only one store had is judged as soon as the
   * other store's writer has provably written past the read (see OneSidedRechecks), and cutover
   * serves the new store only up to its writer's fresh edge. Without it such a minute is never
   * judged (counted as not judged), and cutover serves the new store whole.
   */
  progress?: WriterProgress;
}

/**
 * Default hold: a writer killed without a goodbye keeps its partitions for its group's session
 * timeout and then catches up, within a minute; a minute still unproven after it is not judged.
 */
export const DEFAULT_SETTLE_MS = 60_000;

/**
 * Which part of a read a served part is: the whole read, the part before the coverage horizon
 * (old store), the covered part, or the fresh end past the new store's proven edge (old store).
 */
export type PartKind = 'whole' | 'before_horizon' | 'covered' | 'fresh';

/** One part of a served read: which store served which minutes. */
export interface ServedPart {
  store: 'old' | 'new';
  fromMinute: number;
  toMinute: number;
  kind: PartKind;
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
  /** The cohort the app is in (when the control state lists cohorts). */
  cohort?: string;
  /**
   * When the new store served without a fence (the old store no longer written): how far behind
   * its writer is proven to be at most, ms, and its fresh edge (null: not known).
   */
  newWriter?: { behindMs: number | null; freshEdge: number | null };
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
        holdMs: o.settleMs ?? DEFAULT_SETTLE_MS,
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

  /** One-sided minutes waiting for proof (0 without WriterProgress). */
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

  /**
   * The newest minute the new store may serve while the old store is still written (its writer's
   * proven fresh edge; -Infinity before any proof), or undefined when no fence applies: the old
   * store is no longer written, or there is no WriterProgress.
   */
  private fence(env: string, state: ControlState): number | undefined {
    if (!this.o.progress || !state.oldWriter || !state.oldStoreAvailable) return undefined;
    this.o.progress.watch(env);
    return this.o.progress.freshEdge(env, 'new') ?? Number.NEGATIVE_INFINITY;
  }

  /** What a read served by the new store without a fence says about its writer. */
  private newWriterInfo(env: string): RoutedRead['newWriter'] {
    const p = this.o.progress;
    if (!p) return undefined;
    p.watch(env);
    return { behindMs: p.behindMs(env, 'new'), freshEdge: p.freshEdge(env, 'new') };
  }

  /**
   * Serves one query. Throws only when the serving store fails (and no fallback exists).
   *
   * Shadow reads wait for the served answer: they take their slot under the cap at once, but
   * start on the event loop's next turn after this returns, so a caller that writes its response
   * as soon as the answer is back (the HTTP service does) has written it before anything of a
   * shadow read (its request, parsing its answer, comparing, recording) has run.
   */
  async read(env: string, query: SeriesQuery): Promise<RoutedRead> {
    let open!: (served: boolean) => void;
    const afterServed = new Promise<boolean>((resolve) => (open = resolve));
    try {
      const routed = await this.route(env, query, afterServed);
      setImmediate(() => open(true));
      return routed;
    } catch (err) {
      open(false);
      throw err;
    }
  }

  private async route(env: string, query: SeriesQuery, afterServed: Promise<boolean>): Promise<RoutedRead> {
    // The comparison judges what the stores held when they were read, so it uses this time, not the
    // time the candidate finished (a minute expiring in between is no "expired_returned").
    const readAt = this.now();
    const state = this.o.control(env);
    const stores = this.o.stores(env);
    const rec = this.o.recorder;
    const horizon = state.coverageHorizon;
    // The app's cohort, when the migration moves apps in cohorts: its percents, its own counters.
    const cohort = state.cohorts && state.cohorts.length > 0 ? cohortOf(query.app, state.cohorts) : undefined;
    const sciencePercent = cohort?.sciencePercent ?? state.sciencePercent;
    const cutoverPercent = cohort?.cutoverPercent ?? state.cutoverPercent;
    const scope: ReadScope = { env, stats: scienceStatsKey(env, cohort?.name) };
    const inCohort = cohort ? { cohort: cohort.name } : {};

    // Neither store serves a minute past retention: clip first, route the clipped range.
    const q = clipToRetention(query, readAt, state.retentionMs);
    if (!q) return { points: [], servedBy: 'none', parts: [], compared: false, ...inCohort };

    if (!state.oldStoreAvailable) {
      const points = await this.serve(scope, 'new', stores.new, q);
      const info = this.newWriterInfo(env);
      return {
        points,
        servedBy: 'new',
        parts: [{ store: 'new', fromMinute: q.fromMinute, toMinute: q.toMinute, kind: 'whole' }],
        compared: false,
        ...inCohort,
        ...(info ? { newWriter: info } : {}),
      };
    }

    const covered = clipToHorizon(q.fromMinute, q.toMinute, horizon);
    const toNew = cutoverPercent > 0 && covered !== undefined && this.random() * 100 < cutoverPercent;
    if (toNew) return { ...(await this.readCutover(scope, q, covered, state, readAt, afterServed)), ...inCohort };

    const sample = covered !== undefined && sciencePercent > 0 && this.random() * 100 < sciencePercent;
    let candidate: Promise<CandidateOutcome<MetricPoint[]>> | undefined;
    if (sample) {
      candidate = this.o.candidates.tryRun(() => stores.new.readSeries({ ...q, fromMinute: covered.from, toMinute: covered.to }), afterServed);
      if (!candidate) rec.recordSkipped(scope.stats);
    }
    const served = await this.serve(scope, 'old', stores.old, q);
    if (candidate) this.track(candidate, (outcome) => this.compare(scope, q, state, readAt, 'new', outcome, served));
    return {
      points: served,
      servedBy: 'old',
      parts: [{ store: 'old', fromMinute: q.fromMinute, toMinute: q.toMinute, kind: 'whole' }],
      compared: candidate !== undefined,
      ...inCohort,
    };
  }

  /**
   * A cut-over read: the part before the horizon from the old store, the covered part from the
   * new store up to its writer's fresh edge, the fresh end past it from the old store (with any
   * minute only the new store holds yet), stitched in minute order.
   */
  private async readCutover(
    scope: ReadScope,
    q: SeriesQuery,
    covered: { from: number; to: number },
    state: ControlState,
    readAt: number,
    afterServed: Promise<boolean>,
  ): Promise<RoutedRead> {
    const { env, stats } = scope;
    const stores = this.o.stores(env);
    const rec = this.o.recorder;
    const edge = this.fence(env, state);
    const newTo = edge === undefined ? covered.to : Math.min(covered.to, edge);
    const freshFrom = edge === undefined ? Number.POSITIVE_INFINITY : Math.max(covered.from, Math.floor(edge / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    const newQ: SeriesQuery | undefined = newTo >= covered.from ? { ...q, fromMinute: covered.from, toMinute: newTo } : undefined;
    const freshQ: SeriesQuery | undefined = freshFrom <= covered.to ? { ...q, fromMinute: freshFrom, toMinute: covered.to } : undefined;
    const beforeQ: SeriesQuery | undefined = covered.from > q.fromMinute ? { ...q, toMinute: covered.from - MINUTE_MS } : undefined;
    if (!newQ) {
      // Nothing of the range is proven written to the new store yet: the old store serves it whole.
      rec.recordFreshSplit(stats);
      const points = await this.serve(scope, 'old', stores.old, q);
      return { points, servedBy: 'old', parts: [{ store: 'old', fromMinute: q.fromMinute, toMinute: q.toMinute, kind: 'whole' }], compared: false };
    }
    // The old store's parts are read concurrently with the new store's (one query, several parts:
    // a part is not counted as a query of its own).
    const beforePart = beforeQ ? this.serve(scope, 'old', stores.old, beforeQ, false) : Promise.resolve<MetricPoint[]>([]);
    beforePart.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
    // The fresh end falls back to what the new store has if the old store fails it.
    const freshPart = freshQ ? this.serve(scope, 'old', stores.old, freshQ, false).catch(() => null) : Promise.resolve<MetricPoint[] | null>([]);
    const readQ: SeriesQuery = { ...q, fromMinute: covered.from, toMinute: freshQ ? covered.to : newTo };
    const covers = await this.readNewPart(scope, readQ, newQ, state, readAt, afterServed);
    const before = await beforePart;
    if (covers.servedBy === 'old') {
      // The new store failed: the old store answered the whole covered range already.
      const parts: ServedPart[] = [
        ...(beforeQ ? [{ store: 'old' as const, fromMinute: beforeQ.fromMinute, toMinute: beforeQ.toMinute, kind: 'before_horizon' as const }] : []),
        { store: 'old', fromMinute: readQ.fromMinute, toMinute: readQ.toMinute, kind: 'covered' },
      ];
      await freshPart;
      return { points: stitch(before, covers.points), servedBy: 'old', parts, compared: false };
    }
    const fromNew = covers.points.filter((p) => p.minute <= newTo);
    let fresh: MetricPoint[] = [];
    if (freshQ) {
      const oldFresh = await freshPart;
      const newFresh = covers.points.filter((p) => p.minute > newTo);
      // Minutes the new store already holds past its proven edge fill what the old store lacks
      // (its own writer may be the one behind); where both have a minute, the old store's wins.
      fresh = stitch(newFresh, oldFresh ?? []);
      // Counted when the old store supplied a minute the new store did not have: a hole the fence kept out.
      const inNew = new Set(newFresh.map((p) => p.minute));
      if ((oldFresh ?? []).some((p) => !inNew.has(p.minute))) rec.recordFreshSplit(stats);
    }
    const parts: ServedPart[] = [
      ...(beforeQ ? [{ store: 'old' as const, fromMinute: beforeQ.fromMinute, toMinute: beforeQ.toMinute, kind: 'before_horizon' as const }] : []),
      { store: 'new', fromMinute: newQ.fromMinute, toMinute: newQ.toMinute, kind: beforeQ || freshQ ? 'covered' : 'whole' },
      ...(freshQ ? [{ store: 'old' as const, fromMinute: freshQ.fromMinute, toMinute: freshQ.toMinute, kind: 'fresh' as const }] : []),
    ];
    if (beforeQ) rec.recordSplit(stats);
    const info = edge === undefined ? this.newWriterInfo(env) : undefined;
    return {
      points: stitch(before, fromNew, fresh),
      servedBy: parts.length > 1 ? 'split' : 'new',
      parts,
      compared: covers.compared,
      ...(info ? { newWriter: info } : {}),
    };
  }

  /**
   * Serves `q` from the new store, comparing its part `compareQ` (the minutes its writer is
   * proven to have written) against the old store's same range; falls back to the old store when
   * the new one fails.
   */
  private async readNewPart(
    scope: ReadScope,
    q: SeriesQuery,
    compareQ: SeriesQuery,
    state: ControlState,
    readAt: number,
    afterServed: Promise<boolean>,
  ): Promise<{ points: MetricPoint[]; servedBy: 'old' | 'new'; compared: boolean }> {
    const { env, stats } = scope;
    const stores = this.o.stores(env);
    const rec = this.o.recorder;
    // The old-store read for comparison, off the critical path: after the served answer.
    const shadow = this.o.candidates.tryRun(() => stores.old.readSeries(compareQ), afterServed);
    if (!shadow) rec.recordSkipped(stats);
    const t0 = performance.now();
    let served: MetricPoint[];
    try {
      served = await stores.new.readSeries(q);
    } catch (err) {
      rec.recordNewStoreError(stats);
      this.o.logger?.warn(
        { env, app: q.app, metric: q.metric, action: 'new-store-read-failed', err: (err as Error).message },
        'new store failed a served read; answering from the old store',
      );
      if (shadow) this.track(shadow, () => undefined);
      return { points: await this.serve(scope, 'old', stores.old, q), servedBy: 'old', compared: false };
    }
    rec.recordServed(stats, 'new', performance.now() - t0);
    const compared = served.filter((p) => p.minute >= compareQ.fromMinute && p.minute <= compareQ.toMinute);
    if (shadow) this.track(shadow, (outcome) => this.compare(scope, compareQ, state, readAt, 'old', outcome, compared));
    return { points: served, servedBy: 'new', compared: shadow !== undefined };
  }

  private async serve(scope: ReadScope, which: 'old' | 'new', store: MetricStore, q: SeriesQuery, countQuery = true): Promise<MetricPoint[]> {
    const t0 = performance.now();
    try {
      const points = await store.readSeries(q);
      this.o.recorder.recordServed(scope.stats, which, performance.now() - t0, false, countQuery);
      return points;
    } catch (err) {
      this.o.recorder.recordServed(scope.stats, which, performance.now() - t0, true, countQuery);
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
    scope: ReadScope,
    q: SeriesQuery,
    state: ControlState,
    readAt: number,
    candidateStore: 'old' | 'new',
    outcome: CandidateOutcome<MetricPoint[]>,
    served: MetricPoint[],
  ): void {
    const { env, stats } = scope;
    const rec = this.o.recorder;
    if (outcome.kind === 'cancelled') return;
    if (outcome.kind === 'timeout') return rec.recordCandidateFailure(stats, 'timeout', candidateStore);
    if (outcome.kind === 'error') {
      this.o.logger?.debug({ env, action: 'candidate-failed', store: candidateStore, err: outcome.error.message }, 'candidate read failed');
      return rec.recordCandidateFailure(stats, 'error', candidateStore);
    }
    rec.recordShadowLatency(stats, candidateStore, outcome.ms);
    const [oldPoints, newPoints] = candidateStore === 'new' ? [served, outcome.value] : [outcome.value, served];
    const c = compareSeries(oldPoints, newPoints, {
      horizon: state.coverageHorizon,
      now: readAt,
      retentionMs: state.retentionMs,
      tolerance: state.tolerance,
      settleMs: this.o.settleMs ?? DEFAULT_SETTLE_MS,
      // A minute only one store has is judged only on proof of the other writer (the rechecks).
      holdOneSided: true,
    });
    const query = { app: q.app, metric: q.metric, from: q.fromMinute, to: q.toMinute };
    // Both reads have returned: a point either returned was appended to the metrics topic before now.
    if (this.rechecks) this.rechecks.hold(env, query, state, c, this.now(), stats);
    else rec.recordComparison(stats, query, { ...c, unjudged: c.unsettled.length });
  }
}

/** Whose read this is: its environment, and the science-stats scope it is counted in (the env, or `<env>#<cohort>`). */
interface ReadScope {
  env: string;
  stats: string;
}

/** Concatenates parts in minute order, one point per minute (the later part wins a duplicate). */
export function stitch(...parts: MetricPoint[][]): MetricPoint[] {
  const byMinute = new Map<number, MetricPoint>();
  for (const part of parts) for (const p of part) byMinute.set(p.minute, p);
  return [...byMinute.values()].sort((a, b) => a.minute - b.minute);
}
