/**
 * Proof, from Kafka offsets, that a writer has written everything published before a time.
 *
 * A minute only one store holds is either not yet written by the other store's writer (a race
 * between two independent consumer groups) or missing there for good. Waiting a fixed settle time
 * after the minute ends tells the two apart only slowly (30 s). This tells them apart as soon as
 * the evidence exists: take the metrics topic's end offsets at time T (on this process's clock,
 * before asking); once a writer group's committed offsets reach those ends on every partition,
 * every record appended before T has been written by that writer (writers commit after the
 * store acknowledged the write). A point a store returned to this process before T was appended
 * before T, so if the other writer has passed T and its store still lacks the point, the point
 * is missing there. No clocks of other hosts are involved.
 *
 * Polls only while someone is waiting for proof (watch), a few admin requests per interval.
 */
import type { Admin } from 'kafkajs';
import { groupPosition } from '../../kernel/observability/consumer-lag.js';
import type { Logger } from '../../../kit/logger.js';

/** Which writer: the old store's or the new store's. */
export type StoreSide = 'old' | 'new';

/** What the read router needs to know about the writers' progress. */
export interface WriterProgress {
  /** Someone waits for proof about env: keep polling for a while. */
  watch(env: string): void;
  /** True once every metrics record appended before `at` (epoch ms, this clock) is written by the writer of `side`. */
  passed(env: string, side: StoreSide, at: number): boolean;
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
}

interface EnvProgress {
  samples: Sample[];
  passedAt: Record<StoreSide, number>;
  watchedAt: number;
  polling: boolean;
}

/** At most this many samples are kept per env (the oldest go first). */
const MAX_SAMPLES = 240;

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

  /** The newest time each writer of env is proven to have written through (-Infinity: not yet). */
  provenThrough(env: string): Record<StoreSide, number> {
    const e = this.envs.get(env);
    return e ? { ...e.passedAt } : { old: -Infinity, new: -Infinity };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private env(env: string): EnvProgress {
    let e = this.envs.get(env);
    if (!e) {
      e = { samples: [], passedAt: { old: -Infinity, new: -Infinity }, watchedAt: 0, polling: false };
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

  /** One sample of the ends, then both groups' commits checked against every kept sample. */
  async poll(env: string, e: EnvProgress = this.env(env)): Promise<void> {
    const topic = this.o.topic(env);
    const groups = this.o.groups(env);
    try {
      // The time is taken before asking: a record appended before it is below these ends.
      const at = this.now();
      const ends = await this.o.admin.fetchTopicOffsets(topic);
      e.samples.push({ at, high: new Map(ends.map((p) => [p.partition, Number(p.high)])), low: new Map(ends.map((p) => [p.partition, Number(p.low)])) });
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
            break;
          }
        }
      }
      // Samples both writers have passed prove nothing new.
      const floor = Math.min(e.passedAt.old, e.passedAt.new);
      while (e.samples.length > 1 && e.samples[0]!.at <= floor) e.samples.shift();
      this.failures = 0;
    } catch (err) {
      // Without proof the router falls back to the settle time: slower, never wrong.
      if (this.failures++ % 20 === 0)
        this.o.logger?.warn(
          { env, action: 'writer-progress-failed', err: (err as Error).message },
          'cannot read the writers\u2019 offsets; one-sided minutes wait for the settle time',
        );
    }
  }
}
