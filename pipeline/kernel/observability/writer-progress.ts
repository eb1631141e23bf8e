/**
 * Proof, from Kafka offsets, of how far each store's writer has written: what the one-sided
 * rechecks judge on, what cutover serves from the new store, and how far behind a writer is.
 *
 * Passed: take the metrics topic's end offsets at time T (on this process's clock, before
 * asking); once a writer group's committed offsets reach those ends on every partition, every
 * record appended before T has been written by that writer (writers commit after the store
 * acknowledged the write). A point a store returned to this process before T was appended before
 * T, so if the other writer has passed T and its store still lacks the point, the point is missing
 * there. No clocks of other hosts are involved.
 *
 * Fresh edge: the newest minute a store is proven to hold completely. Before each sample of the
 * ends, the aggregator group's committed checkpoints are read: a partition's checkpoint
 * watermark w says every window [m, m + 60 s) with m + 60 s <= w was published (the aggregator
 * commits only after Kafka acknowledged the points), and that no later observation can reopen it
 * (it would be late). So the minimum over the observation partitions is a minute whose every
 * point was appended before the sample; once a writer has passed the sample, its store holds that
 * minute and every one before it. A partition that never held a message bounds nothing; one with
 * messages but no checkpoint yet bounds everything (no edge until the aggregator commits).
 *
 * Polls only while someone is watching (a held comparison, a cutover read), a few admin requests
 * per interval. When the offsets cannot be read, what was proven stays proven and nothing new is:
 * slower, never wrong.
 */
import type { Admin } from 'kafkajs';
import { groupPosition } from './consumer-lag.js';
import { MINUTE_MS } from '../../../contract/index.js';
import type { Logger } from '../../../kit/logger.js';
import { parseCheckpoint } from '../model/window-checkpoint.js';

/** Which writer: the old store's or the new store's. */
export type StoreSide = 'old' | 'new';

/** What the read router needs to know about the writers' progress. */
export interface WriterProgress {
  /** Someone waits for proof about env: keep polling for a while. */
  watch(env: string): void;
  /** True once every metrics record appended before `at` (epoch ms, this clock) is written by the writer of `side`. */
  passed(env: string, side: StoreSide, at: number): boolean;
  /**
   * The newest minute (epoch ms) the store of `side` is proven to hold completely, null while
   * nothing is proven (just started, or the offsets could not be read yet).
   */
  freshEdge(env: string, side: StoreSide): number | null;
  /**
   * How long ago the newest proof of `side` was sampled, ms: how far behind its writer may be at
   * most (null: never proven). A writer that keeps up is a poll interval or two behind.
   */
  behindMs(env: string, side: StoreSide): number | null;
  /** Stops polling. */
  close(): Promise<void>;
}

/** Options of the Kafka implementation. */
export interface KafkaWriterProgressOptions {
  /** A connected admin client (owned by the caller). */
  admin: Admin;
  /** The env's metrics topic. */
  topic: (env: string) => string;
  /** The consumer groups of the env's old-store and new-store writers. */
  groups: (env: string) => Record<StoreSide, string>;
  /**
   * The env's aggregator group and the topic it consumes (observations): its checkpoints give
   * the fresh edge. Without it freshEdge stays null.
   */
  aggregator?: (env: string) => { group: string; topic: string };
  /** Poll period while watched (default 500 ms). */
  intervalMs?: number;
  /** Polling stops this long after the last watch (default 60 s). */
  idleAfterMs?: number;
  now?: () => number;
  logger?: Logger;
}

interface Sample {
  at: number;
  /** End offset per partition when the sample was taken. */
  high: Map<number, number>;
  low: Map<number, number>;
  /** Newest minute every point of which was appended before `at` (null: unknown). */
  closedThrough: number | null;
}

interface EnvProgress {
  samples: Sample[];
  passedAt: Record<StoreSide, number>;
  edge: Record<StoreSide, number | null>;
  watchedAt: number;
  polling: boolean;
}

/** At most this many samples are kept per env (the oldest go first). */
const MAX_SAMPLES = 240;

/** An observation partition as the fresh edge sees it: its ends and the aggregator's commit there. */
export interface AggregatorPartition {
  high: number;
  low: number;
  /** Committed offset (-1: none) and its metadata (the checkpoint). */
  committed: number;
  metadata: string | null;
}

/**
 * The newest minute every window of which the aggregator has published, from its committed
 * checkpoints (see the module header); null when some partition with messages has no checkpoint
 * watermark yet, or no partition bounds it at all.
 */
export function closedThrough(partitions: readonly AggregatorPartition[]): number | null {
  let edge: number | null = null;
  for (const p of partitions) {
    if (p.high <= p.low) continue; // never held a message (or all expired): nothing to publish
    const w = parseCheckpoint(p.metadata)?.w ?? null;
    if (w === null || p.committed < 0) return null;
    // The last minute m with m + 60 s <= w.
    const m = Math.floor((w - MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
    edge = edge === null ? m : Math.min(edge, m);
  }
  return edge;
}

/** WriterProgress from the metrics topic's end offsets and the writer groups' committed offsets. */
export class KafkaWriterProgress implements WriterProgress {
  private readonly envs = new Map<string, EnvProgress>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly o: KafkaWriterProgressOptions) {
    this.now = o.now ?? Date.now;
  }

  watch(env: string): void {
    const e = this.env(env);
    e.watchedAt = this.now();
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.o.intervalMs ?? 500);
      this.timer.unref();
      this.tick();
    }
  }

  passed(env: string, side: StoreSide, at: number): boolean {
    return (this.envs.get(env)?.passedAt[side] ?? -Infinity) >= at;
  }

  freshEdge(env: string, side: StoreSide): number | null {
    return this.envs.get(env)?.edge[side] ?? null;
  }

  behindMs(env: string, side: StoreSide): number | null {
    const at = this.envs.get(env)?.passedAt[side] ?? -Infinity;
    return at === -Infinity ? null : Math.max(0, this.now() - at);
  }

  /** The newest time each writer of env is proven to have written through (-Infinity: not yet). */
  provenThrough(env: string): Record<StoreSide, number> {
    const e = this.envs.get(env);
    return e ? { ...e.passedAt } : { old: -Infinity, new: -Infinity };
  }

  /** Environments polled in the last idle period (for /metrics). */
  watchedEnvs(): string[] {
    const now = this.now();
    return [...this.envs].filter(([, e]) => now - e.watchedAt <= (this.o.idleAfterMs ?? 60_000)).map(([env]) => env);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private env(env: string): EnvProgress {
    let e = this.envs.get(env);
    if (!e) {
      e = { samples: [], passedAt: { old: -Infinity, new: -Infinity }, edge: { old: null, new: null }, watchedAt: 0, polling: false };
      this.envs.set(env, e);
    }
    return e;
  }

  private tick(): void {
    const now = this.now();
    let watched = false;
    for (const [env, e] of this.envs) {
      if (now - e.watchedAt > (this.o.idleAfterMs ?? 60_000)) continue;
      watched = true;
      if (!e.polling) {
        e.polling = true;
        void this.poll(env, e).finally(() => (e.polling = false));
      }
    }
    if (!watched && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** The aggregator's closed-through minute now (read before the ends are sampled). */
  private async aggregatorEdge(env: string): Promise<number | null> {
    const agg = this.o.aggregator?.(env);
    if (!agg) return null;
    const [ends, fetched] = await Promise.all([
      this.o.admin.fetchTopicOffsets(agg.topic),
      this.o.admin.fetchOffsets({ groupId: agg.group, topics: [agg.topic] }),
    ]);
    const committed = new Map<number, { offset: number; metadata: string | null }>();
    for (const t of fetched)
      if (t.topic === agg.topic) for (const p of t.partitions) committed.set(p.partition, { offset: Number(p.offset), metadata: p.metadata ?? null });
    return closedThrough(
      ends.map((p) => ({
        high: Number(p.high),
        low: Number(p.low),
        committed: committed.get(p.partition)?.offset ?? -1,
        metadata: committed.get(p.partition)?.metadata ?? null,
      })),
    );
  }

  /** One sample of the ends, then both groups' commits checked against every kept sample. */
  async poll(env: string, e: EnvProgress = this.env(env)): Promise<void> {
    const topic = this.o.topic(env);
    const groups = this.o.groups(env);
    try {
      // Read before the ends are sampled: every point of those minutes was appended before `at`.
      const closed = await this.aggregatorEdge(env);
      // The time is taken before asking: a record appended before it is below these ends.
      const at = this.now();
      const ends = await this.o.admin.fetchTopicOffsets(topic);
      e.samples.push({
        at,
        high: new Map(ends.map((p) => [p.partition, Number(p.high)])),
        low: new Map(ends.map((p) => [p.partition, Number(p.low)])),
        closedThrough: closed,
      });
      if (e.samples.length > MAX_SAMPLES) e.samples.shift();
      const sides = ['old', 'new'] as const;
      const fetchedBoth = await Promise.all(sides.map((side) => this.o.admin.fetchOffsets({ groupId: groups[side], topics: [topic] })));
      for (const [i, side] of sides.entries()) {
        const fetched = fetchedBoth[i]!;
        const committed = new Map<number, number>();
        for (const t of fetched) if (t.topic === topic) for (const p of t.partitions) committed.set(p.partition, Number(p.offset));
        for (let i = e.samples.length - 1; i >= 0; i--) {
          const s = e.samples[i]!;
          if (s.at <= e.passedAt[side]) break;
          if ([...s.high].every(([partition, high]) => groupPosition(committed.get(partition) ?? -1, s.low.get(partition) ?? 0) >= high)) {
            e.passedAt[side] = s.at;
            if (s.closedThrough !== null && (e.edge[side] === null || s.closedThrough > e.edge[side]!)) e.edge[side] = s.closedThrough;
            break;
          }
        }
      }
      // Samples both writers have passed prove nothing new.
      const floor = Math.min(e.passedAt.old, e.passedAt.new);
      while (e.samples.length > 1 && e.samples[0]!.at <= floor) e.samples.shift();
      this.failures = 0;
    } catch (err) {
      // Without proof one-sided minutes wait and cutover serves fresh minutes from the old store.
      if (this.failures++ % 20 === 0)
        this.o.logger?.warn(
          { env, action: 'writer-progress-failed', err: (err as Error).message },
          'cannot read the writers\u2019 offsets; one-sided minutes wait and cutover serves its fresh minutes from the old store',
        );
    }
  }
}
