/**
 * Judges the minutes a comparison could not: a minute only one store had, which is a difference
 * only if the other store's writer has written past it. Until that is proven it is not judged:
 * a writer that is down, restarting or behind is an operational signal, not evidence that the
 * data differs.
 *
 * The comparison is held, not recorded. As soon as the other writer is proven to have written
 * everything published before the read (WriterProgress), that minute is read again from the
 * store that lacked it (one point, off the served path, under the same cap as every shadow read)
 * and judged; then the held comparison is recorded whole, so each read still counts once with its
 * real outcome. Several reads that saw the same one-sided minute share one re-read. A minute whose
 * proof has not come within the hold time is given up on: the comparison is recorded with what
 * was judged, and the minute counts as not judged (never as missing or extra), however long the
 * writer takes.
 */
import type { ControlState } from '../../../control/model.js';
import type { MetricPoint } from '../../kernel/model/metric-point.js';
import type { Logger } from '../../../kit/logger.js';
import { compareSeries, type Comparison, type UnsettledMinute } from '../../kernel/science/compare.js';
import type { ScienceSink } from './science-recorder.js';
import type { EnvStores } from './read-router.js';
import type { CandidateRunner } from './candidate-runner.js';
import type { StoreSide, WriterProgress } from '../../kernel/observability/writer-progress.js';

/** Options of the rechecks. */
export interface OneSidedRechecksOptions {
  stores: (env: string) => EnvStores;
  recorder: Pick<ScienceSink, 'recordComparison'>;
  candidates: CandidateRunner;
  progress: WriterProgress;
  /**
   * How long a comparison is held waiting for the proof, from when its one-sided minute was seen;
   * after it the minute is recorded as not judged (a bound on memory and on how late the
   * comparison is counted, never a verdict).
   */
  holdMs: number;
  /** How often waiting minutes are looked at (default 200 ms). */
  tickMs?: number;
  /** Most comparisons held at once; over it a comparison is recorded with its fresh minutes not judged (default 10 000). */
  maxHeld?: number;
  now?: () => number;
  logger?: Logger;
}

/** A query's comparison waiting for some of its minutes. */
interface Held {
  env: string;
  /** Where the comparison is recorded: the env, or `<env>#<cohort>` (see ScienceRecorder). */
  scope: string;
  query: { app: string; metric: string; from: number; to: number };
  comparison: Comparison;
  waiting: number;
  /** Its one-sided minutes given up on (no proof in time, re-read failed, stopped). */
  unjudged: number;
}

/** One one-sided minute waiting to be read again, shared by the comparisons that saw it. */
interface Waiting {
  env: string;
  app: string;
  metric: string;
  minute: number;
  /** The store that lacked the minute. */
  lacking: StoreSide;
  /** What the other store returned. */
  point: MetricPoint;
  /** When it was first seen (after both reads returned). */
  seenAt: number;
  state: ControlState;
  holders: Held[];
  rereading: boolean;
}

/** Counters of the rechecks (for /metrics and tests). */
export interface RecheckStats {
  /** Minutes judged after proof that the other writer had passed them. */
  judgedOnProof: number;
  /** Minutes not judged: no proof of the other writer within the hold time. */
  unjudged: number;
  /** Minutes not judged because the re-read failed or the router stopped. */
  dropped: number;
  /** Comparisons recorded with their fresh minutes not judged because too many were held. */
  overCap: number;
}

/** Holds comparisons with one-sided fresh minutes until those minutes can be judged. */
export class OneSidedRechecks {
  private readonly waiting = new Map<string, Waiting>();
  private held = 0;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats: RecheckStats = { judgedOnProof: 0, unjudged: 0, dropped: 0, overCap: 0 };

  constructor(private readonly o: OneSidedRechecksOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Minutes waiting now. */
  get size(): number {
    return this.waiting.size;
  }

  /**
   * Takes a comparison with unsettled minutes (seen at seenAt) and records it once they are
   * judged; a comparison without any is recorded at once. `scope` is where it is recorded (the
   * env unless the read was of an app in a cohort).
   */
  hold(env: string, query: Held['query'], state: ControlState, c: Comparison, seenAt: number, scope = env): void {
    if (c.unsettled.length === 0) return this.o.recorder.recordComparison(scope, query, c);
    if (this.held >= (this.o.maxHeld ?? 10_000)) {
      this.stats.overCap++;
      return this.o.recorder.recordComparison(scope, query, { ...c, unjudged: c.unsettled.length });
    }
    const h: Held = { env, scope, query, comparison: { ...c, mismatches: [...c.mismatches], unsettled: [] }, waiting: 0, unjudged: 0 };
    this.held++;
    for (const u of c.unsettled) this.add(env, query, state, u, seenAt, h);
    this.o.progress.watch(env);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 200);
      this.timer.unref();
    }
  }

  /** Resolves when the re-reads started so far are done. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Stops: records every held comparison with what it has judged so far. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.settled();
    const left = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of left) this.finish(w, 'dropped');
  }

  private add(env: string, query: Held['query'], state: ControlState, u: UnsettledMinute, seenAt: number, h: Held): void {
    const lacking: StoreSide = u.presentIn === 'old' ? 'new' : 'old';
    const key = `${env}\u0000${query.app}\u0000${query.metric}\u0000${u.minute}\u0000${lacking}`;
    let w = this.waiting.get(key);
    if (!w) {
      w = { env, app: query.app, metric: query.metric, minute: u.minute, lacking, point: u.point, seenAt, state, holders: [], rereading: false };
      this.waiting.set(key, w);
    }
    w.holders.push(h);
    h.waiting++;
  }

  /** Re-reads every minute whose proof has come; gives up on those held past the hold time. */
  tick(): void {
    const now = this.now();
    for (const [key, w] of this.waiting) {
      if (w.rereading) continue;
      const proven = this.o.progress.passed(w.env, w.lacking, w.seenAt);
      if (!proven) {
        if (now < w.seenAt + this.o.holdMs) continue;
        // No proof in time: the writer is down or behind. Not evidence of a difference.
        this.waiting.delete(key);
        this.finish(w, 'unjudged');
        continue;
      }
      const store = this.o.stores(w.env)[w.lacking];
      const reread = this.o.candidates.tryRun(() => store.readSeries({ app: w.app, metric: w.metric, fromMinute: w.minute, toMinute: w.minute }));
      if (!reread) continue; // the shadow-read cap is full: the next tick tries again
      w.rereading = true;
      const p = reread.then((outcome) => {
        this.waiting.delete(key);
        if (outcome.kind !== 'ok') {
          this.o.logger?.debug(
            { env: w.env, action: 'recheck-failed', store: w.lacking, outcome: outcome.kind },
            'could not read a one-sided minute again; not judged',
          );
          return this.finish(w, 'dropped');
        }
        this.stats.judgedOnProof++;
        const other = outcome.value.filter((x) => x.minute === w.minute);
        const [oldPoints, newPoints] = w.lacking === 'new' ? [[w.point], other] : [other, [w.point]];
        // Judged as of now: the other writer is proven past it.
        const s = w.state;
        this.finish(
          w,
          compareSeries(oldPoints, newPoints, {
            horizon: s.coverageHorizon,
            now: this.now(),
            retentionMs: s.retentionMs,
            tolerance: s.tolerance,
            writersProven: true,
          }),
        );
      });
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
    if (this.waiting.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * Adds a minute's judgment to each holder, or, when it could not be judged, counts it as not
   * judged there; records the holders that wait for nothing more.
   */
  private finish(w: Waiting, judged: Comparison | 'unjudged' | 'dropped'): void {
    if (judged === 'unjudged') this.stats.unjudged++;
    else if (judged === 'dropped') this.stats.dropped++;
    for (const h of w.holders) {
      if (typeof judged === 'string') h.unjudged++;
      else {
        h.comparison.compared += judged.compared;
        h.comparison.matched += judged.matched;
        h.comparison.mismatches.push(...judged.mismatches);
      }
      if (--h.waiting === 0) {
        this.held--;
        this.o.recorder.recordComparison(h.scope, h.query, h.unjudged > 0 ? { ...h.comparison, unjudged: h.unjudged } : h.comparison);
      }
    }
  }
}
