/**
 * Event-time one-minute windows of ONE Kafka partition, with the bookkeeping that makes the
 * aggregator exactly-once in effect across crashes and rebalances.
 *
 * All observations of an app land on one partition (messages are keyed by app), so a partition's
 * windows are independent of every other partition's. The watermark is the largest event time
 * seen minus the allowed lateness; a window [m, m+60 s) closes (is published) once the watermark
 * reaches m+60 s, and an observation for a window that is already closed is "late": counted and
 * dead-lettered, never silently dropped.
 *
 * Commit rule: the offset committed is the first offset still needed by an open window (or the
 * next offset when none is open), so every window that an uncommitted observation fell into is
 * either still open or already published. The commit carries a checkpoint (the next offset
 * processed, the largest event time and the watermark). A new owner of the partition resumes
 * from the committed offset and replays up to the checkpoint's offset in "replay mode": an
 * observation goes back into a window only if that window was still open at the checkpoint;
 * everything else was already published (or counted late) and is skipped. Processing is a pure
 * function of the message sequence, so windows closed after the checkpoint are republished with
 * identical content, which the writers' idempotent upserts absorb.
 */
import { MINUTE_MS } from '../../../contract/index.js';
import { minuteOf, type MetricPoint } from '../../kernel/model/metric-point.js';
import type { Observation } from '../../kernel/model/observation.js';
import { computePoint } from './window-stats.js';
import type { WindowCheckpoint } from '../../kernel/model/window-checkpoint.js';

export { parseCheckpoint, type WindowCheckpoint } from '../../kernel/model/window-checkpoint.js';

interface OpenWindow {
  app: string;
  metric: string;
  minute: number;
  values: number[];
  /** First offset that contributed to the window. */
  firstOffset: bigint;
}

/** Outcome of processing one message. */
export interface MessageOutcome {
  /** Observations whose window had already closed. */
  late: Observation[];
  /** Windows this message's watermark advance closed. */
  closed: MetricPoint[];
  /** True when the message lies before the checkpoint (already seen by a previous owner). */
  replayed: boolean;
}

/** Options of a partition's windows. */
export interface PartitionWindowsOptions {
  allowedLatenessMs: number;
  /** Checkpoint from the committed offset's metadata, if any. */
  checkpoint?: WindowCheckpoint;
}

/** The open windows and watermark of one partition. */
export class PartitionWindows {
  /**
   * Open windows by minute, app and metric. Nested maps, not one map keyed by a joined string: the
   * decoder shares one app and one metric string per message, whose hashes V8 keeps, so an
   * observation costs three lookups and no new string (the joined key was the aggregator's
   * largest self time in a CPU profile).
   */
  private readonly byMinute = new Map<number, Map<string, Map<string, OpenWindow>>>();
  private open = 0;
  private readonly latenessMs: number;
  private maxEventTime: number | null;
  private watermarkFloor: number | null;
  private readonly replayUntil: bigint;
  private readonly replayWatermark: number | null;
  /** Offset after the last message processed (undefined before the first). */
  nextOffset: bigint | undefined;

  constructor(opts: PartitionWindowsOptions) {
    if (!(opts.allowedLatenessMs >= 0)) throw new Error('allowedLatenessMs must be >= 0');
    this.latenessMs = opts.allowedLatenessMs;
    const cp = opts.checkpoint;
    this.maxEventTime = cp?.m ?? null;
    this.watermarkFloor = cp?.w ?? null;
    this.replayUntil = cp ? BigInt(cp.e) : -1n;
    this.replayWatermark = cp?.w ?? null;
  }

  /** Current watermark (epoch ms), or null before any event. */
  get watermark(): number | null {
    const fromEvents = this.maxEventTime === null ? null : this.maxEventTime - this.latenessMs;
    if (fromEvents === null) return this.watermarkFloor;
    if (this.watermarkFloor === null) return fromEvents;
    return Math.max(fromEvents, this.watermarkFloor);
  }

  /** Number of open windows. */
  get openWindows(): number {
    return this.open;
  }

  /** True when a message at this offset was already processed by a previous owner. */
  isReplay(offset: bigint): boolean {
    return offset < this.replayUntil;
  }

  /** Adds one message's valid observations; returns late ones and the windows that closed. */
  addMessage(offset: bigint, observations: readonly Observation[]): MessageOutcome {
    this.nextOffset = offset + 1n;
    if (this.isReplay(offset)) {
      const w = this.replayWatermark;
      for (const o of observations) {
        const minute = minuteOf(o.time);
        if (w === null || minute + MINUTE_MS > w) this.addTo(o, minute, offset);
      }
      return { late: [], closed: [], replayed: true };
    }
    const late: Observation[] = [];
    const wm = this.watermark;
    let max = this.maxEventTime;
    for (const o of observations) {
      const minute = minuteOf(o.time);
      if (wm !== null && minute + MINUTE_MS <= wm) late.push(o);
      else this.addTo(o, minute, offset);
      if (max === null || o.time > max) max = o.time;
    }
    this.maxEventTime = max;
    return { late, closed: this.closeReady(), replayed: false };
  }

  /**
   * Advances the watermark of an idle partition on processing time and returns the windows that
   * closed. The watermark moves to `time` (the wall clock minus the lateness) but never past the
   * end of the minute of the largest event time seen: far enough to close every open window,
   * and no further, so data that resumes later in event time (a replay, a backfill) is not late.
   */
  advanceIdle(time: number): MetricPoint[] {
    const cap = this.maxEventTime === null ? time : minuteOf(this.maxEventTime) + MINUTE_MS;
    const target = Math.min(time, cap);
    if (this.watermarkFloor === null || target > this.watermarkFloor) this.watermarkFloor = target;
    return this.closeReady();
  }

  /** The offset that may be committed now and the checkpoint to commit with it. */
  commitPoint(): { offset: bigint; checkpoint: WindowCheckpoint } | undefined {
    if (this.nextOffset === undefined) return undefined;
    let offset = this.nextOffset;
    for (const apps of this.byMinute.values())
      for (const metrics of apps.values()) for (const w of metrics.values()) if (w.firstOffset < offset) offset = w.firstOffset;
    // Never commit behind the replay range's start: that part is still needed by open windows.
    return {
      offset,
      checkpoint: { v: 1, e: (this.nextOffset > this.replayUntil ? this.nextOffset : this.replayUntil).toString(), m: this.maxEventTime, w: this.watermark },
    };
  }

  private addTo(o: Observation, minute: number, offset: bigint): void {
    let apps = this.byMinute.get(minute);
    if (!apps) this.byMinute.set(minute, (apps = new Map()));
    let metrics = apps.get(o.app);
    if (!metrics) apps.set(o.app, (metrics = new Map()));
    let w = metrics.get(o.metric);
    if (!w) {
      w = { app: o.app, metric: o.metric, minute, values: [], firstOffset: offset };
      metrics.set(o.metric, w);
      this.open++;
    }
    w.values.push(o.value);
  }

  private closeReady(): MetricPoint[] {
    const wm = this.watermark;
    if (wm === null) return [];
    const closed: MetricPoint[] = [];
    const minutes = [...this.byMinute.keys()].filter((m) => m + MINUTE_MS <= wm).sort((a, b) => a - b);
    // In (minute, app, metric) order, so a replay publishes the same sequence.
    const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    for (const minute of minutes) {
      const apps = this.byMinute.get(minute)!;
      for (const app of [...apps.keys()].sort(byName)) {
        const metrics = apps.get(app)!;
        for (const metric of [...metrics.keys()].sort(byName)) {
          const w = metrics.get(metric)!;
          closed.push(computePoint(w.app, w.metric, w.minute, w.values));
          this.open--;
        }
      }
      this.byMinute.delete(minute);
    }
    return closed;
  }
}
