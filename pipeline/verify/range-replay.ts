/**
 * The engine of a repair: rewrites a store for a range of minutes from the environment's metrics
 * topic. A dedicated consumer group (one per repair run) seeks every partition to the offset of
 * the range's start time and reads up to a fixed end offset; only points inside the range are
 * written. Points are final per (app, metric, minute) and writes are idempotent upserts, so the
 * live writers keep running meanwhile. Used by the repair activities; no Temporal here.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { MinuteRange, ReplayResult } from '../../contract/index.js';
import type { Logger } from '../../kit/logger.js';
import { decodeMetricPoint } from '../kernel/codec/metric-point-codec.js';
import { MINUTE_MS } from '../../contract/index.js';
import type { MetricPoint } from '../kernel/model/metric-point.js';
import type { MetricStore } from '../kernel/stores/metric-store.js';

/** How long after a minute ends its point is surely published (the aggregator's lateness is seconds). */
export const PUBLISHED_WITHIN_MS = 5 * MINUTE_MS;

/** One partition's part of the replay: [start, end) offsets (strings, as Kafka gives them). */
export interface PartitionSpan {
  partition: number;
  start: string;
  end: string;
}

/** What the topic holds for a range: per-partition offsets, and the oldest minute it still holds whole. */
export interface TopicCoverage {
  partitions: PartitionSpan[];
  /** topic retention.ms (null: unlimited, or not known). */
  retentionMs: number | null;
  /**
   * The oldest minute all of whose points the topic still holds (null: nothing was ever deleted
   * from it and its retention is unlimited): the later of what retention.ms keeps and what the
   * log start offsets (which retention.bytes or a records deletion advance) still hold.
   */
  oldestCoveredMinute: number | null;
}

/**
 * Whether every partition still holds all messages stamped at or after `t`: a partition nothing
 * was ever deleted from does; otherwise the first message at or after `t` must come after the
 * partition's log start (so the oldest message kept is older than `t`). Message timestamps are the
 * publisher's clock and rise with the offsets (one aggregator per partition publishes in order).
 */
async function coversFrom(admin: Admin, topic: string, t: number, low: Map<number, bigint>): Promise<boolean> {
  if ([...low.values()].every((l) => l === 0n)) return true;
  const at = await admin.fetchTopicOffsetsByTimestamp(topic, t);
  return at.every(({ partition, offset }) => {
    const l = low.get(partition) ?? 0n;
    return l === 0n || BigInt(offset) > l;
  });
}

/**
 * The offsets of a range on the topic: from the first message at or after the range's first
 * minute (a minute's point is published after it ends), to the first message after its last
 * minute's point is surely published (or the end of the log); and the oldest minute the topic
 * still holds whole, searched between the range's start and now.
 */
export async function rangeOffsets(admin: Admin, topic: string, range: MinuteRange, now: number = Date.now()): Promise<TopicCoverage> {
  const [starts, ends, high, configs] = await Promise.all([
    admin.fetchTopicOffsetsByTimestamp(topic, range.fromMinute),
    admin.fetchTopicOffsetsByTimestamp(topic, range.toMinute + MINUTE_MS + PUBLISHED_WITHIN_MS),
    admin.fetchTopicOffsets(topic),
    admin.describeConfigs({ resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false }),
  ]);
  const value = configs.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
  const retentionMs = value === undefined || Number(value) < 0 ? null : Number(value);
  const low = new Map(high.map((p) => [p.partition, BigInt(p.low)]));
  // A minute m is held whole when every message stamped from m + 1 min (its points' earliest publication) is.
  const held = (m: number) => coversFrom(admin, topic, m + MINUTE_MS, low);
  let byLogStart: number | null = null;
  if (![...low.values()].every((l) => l === 0n)) {
    let lo = range.fromMinute;
    let hi = Math.ceil(now / MINUTE_MS) * MINUTE_MS;
    if (await held(lo)) byLogStart = lo;
    else {
      // The least minute in (lo, hi] held whole: held() is false at lo and (by definition) true at hi.
      while (hi - lo > MINUTE_MS) {
        const mid = lo + Math.floor((hi - lo) / MINUTE_MS / 2) * MINUTE_MS;
        if (await held(mid)) hi = mid;
        else lo = mid;
      }
      byLogStart = hi;
    }
  }
  const byRetention = retentionMs === null ? null : Math.ceil((now - retentionMs + MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
  const bounds = [byLogStart, byRetention].filter((b): b is number => b !== null);
  const oldestCoveredMinute = bounds.length === 0 ? null : Math.max(...bounds);
  const partitions = starts
    .map(({ partition, offset }) => {
      const h = high.find((p) => p.partition === partition);
      const lowP = BigInt(h?.low ?? '0');
      const hi = BigInt(h?.high ?? offset);
      let start = BigInt(offset);
      if (start < lowP) start = lowP;
      let end = BigInt(ends.find((p) => p.partition === partition)?.offset ?? String(hi));
      if (end > hi) end = hi;
      if (end < start) end = start;
      return { partition, start: String(start), end: String(end) };
    })
    .sort((a, b) => a.partition - b.partition);
  return { partitions, retentionMs, oldestCoveredMinute };
}

/** Options of replayRange. */
export interface ReplayOptions {
  kafka: Kafka;
  store: MetricStore;
  topic: string;
  /** The repair run's own consumer group (deleted afterwards). */
  groupId: string;
  range: MinuteRange;
  /** Where each partition starts (a resumed attempt passes the positions it heartbeated) and ends. */
  partitions: PartitionSpan[];
  /** Counts so far (a resumed attempt's). */
  counts?: ReplayResult;
  /** Keys ("app|metric|minute") to watch for: those seen in the log are returned. */
  watch?: ReadonlySet<string>;
  /** Stop after about this long (after the batch in flight); the positions reached are returned. */
  maxMs?: number;
  /** After each batch is written: the next offset of every partition, and the counts. */
  onProgress?: (positions: PartitionSpan[], counts: ReplayResult) => void;
  signal?: AbortSignal;
  logger?: Logger;
}

/** Counts with nothing counted. */
export function emptyReplay(): ReplayResult {
  return { read: 0, written: 0, outOfRange: 0, invalid: 0, rejected: 0, expired: 0, deleted: 0, keptExtras: 0 };
}

/** The key a repair's watch list and a verify's extra items share. */
export function watchKey(k: { app: string; metric: string; minute: number }): string {
  return `${k.app}|${k.metric}|${k.minute}`;
}

/** What a replay (or a chunk of one) did. */
export interface ReplayOutcome {
  counts: ReplayResult;
  /** Where each partition stands. */
  positions: PartitionSpan[];
  /** Every partition reached its end. */
  done: boolean;
  /** Watched keys seen in the log. */
  seen: Set<string>;
}

/** Replays the partitions' spans into the store; resolves when every partition reached its end, or after maxMs. */
export async function replayRange(o: ReplayOptions): Promise<ReplayOutcome> {
  const counts: ReplayResult = { ...(o.counts ?? emptyReplay()) };
  const seen = new Set<string>();
  const position = new Map(o.partitions.map((p) => [p.partition, BigInt(p.start)]));
  const end = new Map(o.partitions.map((p) => [p.partition, BigInt(p.end)]));
  const pending = new Set(o.partitions.filter((p) => BigInt(p.start) < BigInt(p.end)).map((p) => p.partition));
  const spans = (): PartitionSpan[] => o.partitions.map((p) => ({ partition: p.partition, start: String(position.get(p.partition)), end: p.end }));
  if (pending.size === 0) return { counts, positions: spans(), done: true, seen };
  const started = Date.now();

  const consumer: Consumer = o.kafka.consumer({ groupId: o.groupId, allowAutoTopicCreation: false, maxBytesPerPartition: 4 * 1024 * 1024 });
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const onAbort = (): void => fail(new Error('replay cancelled'));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const p = batch.partition;
        const stop = end.get(p);
        if (stop === undefined || !pending.has(p)) return;
        const points: MetricPoint[] = [];
        let last: bigint | undefined;
        let pastEnd = false;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < (position.get(p) ?? 0n)) continue; // before the seek took effect
          if (offset >= stop) {
            pastEnd = true;
            break;
          }
          last = offset;
          counts.read++;
          const decoded = decodeMetricPoint(m.value);
          if (!decoded.ok) {
            counts.invalid++;
            continue;
          }
          const point = decoded.point;
          if (point.minute < o.range.fromMinute || point.minute > o.range.toMinute) {
            counts.outOfRange++;
            continue;
          }
          points.push(point);
          if (o.watch?.has(watchKey(point))) seen.add(watchKey(point));
        }
        if (points.length > 0) {
          const r = await o.store.writePoints(points);
          counts.written += r.written;
          counts.expired += r.expired;
          counts.rejected += r.rejected.length;
          if (r.rejected.length > 0)
            o.logger?.warn({ action: 'repair.rejected', rejected: r.rejected.length, reason: r.rejected[0]!.reason }, 'points refused');
        }
        if (last !== undefined) {
          position.set(p, last + 1n);
          resolveOffset(String(last));
        }
        if (pastEnd || (position.get(p) ?? 0n) >= stop) {
          pending.delete(p);
          consumer.pause([{ topic: o.topic, partitions: [p] }]);
        }
        o.onProgress?.(spans(), { ...counts });
        await heartbeat();
        if (pending.size === 0 || (o.maxMs !== undefined && Date.now() - started >= o.maxMs)) finish();
      },
    });
    for (const p of o.partitions)
      if (pending.has(p.partition)) consumer.seek({ topic: o.topic, partition: p.partition, offset: String(position.get(p.partition)) });
    await finished;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
  }
  return { counts, positions: spans(), done: pending.size === 0, seen };
}

/**
 * Deletes the items a verify run listed as extra (or expired but returned) that are still wrong:
 * inside the range, not seen in the log's replay of it (`seenInLog`), and not held by the old
 * store. Nothing else is ever deleted: an item missing from the log but never reported, or one the
 * old store has after all, is kept (and counted).
 */
export async function deleteListedExtras(
  stores: { old: MetricStore; new: MetricStore },
  range: MinuteRange,
  listed: readonly { app: string; metric: string; minute: number }[],
  seenInLog: ReadonlySet<string>,
): Promise<{ deleted: number; kept: number }> {
  const inRange = listed.filter((k) => k.minute >= range.fromMinute && k.minute <= range.toMinute);
  const doomed: { app: string; metric: string; minute: number }[] = [];
  let kept = 0;
  for (const k of inRange) {
    if (seenInLog.has(watchKey(k))) {
      kept++;
      continue;
    }
    const old = await stores.old.readSeries({ app: k.app, metric: k.metric, fromMinute: k.minute, toMinute: k.minute });
    if (old.length > 0) {
      kept++;
      continue;
    }
    doomed.push({ app: k.app, metric: k.metric, minute: k.minute });
  }
  const deleted = doomed.length === 0 ? 0 : await stores.new.deletePoints(doomed);
  return { deleted, kept };
}
