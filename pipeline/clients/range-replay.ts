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
import { MINUTE_MS, pointKey, type MetricPoint } from '../kernel/model/metric-point.js';
import type { MetricStore } from '../kernel/stores/metric-store.js';

/** How long after a minute ends its point is surely published (the aggregator's lateness is seconds). */
export const PUBLISHED_WITHIN_MS = 5 * MINUTE_MS;

/** One partition's part of the replay: [start, end) offsets (strings, as Kafka gives them). */
export interface PartitionSpan {
  partition: number;
  start: string;
  end: string;
}

/** What the topic holds for a range: per-partition offsets and the oldest minute its retention keeps. */
export interface TopicCoverage {
  partitions: PartitionSpan[];
  /** topic retention.ms (null: unlimited, or not known). */
  retentionMs: number | null;
}

/**
 * The offsets of a range on the topic: from the first message at or after the range's first
 * minute (a minute's point is published after it ends), to the first message after its last
 * minute's point is surely published (or the end of the log).
 */
export async function rangeOffsets(admin: Admin, topic: string, range: MinuteRange): Promise<TopicCoverage> {
  const [starts, ends, high, configs] = await Promise.all([
    admin.fetchTopicOffsetsByTimestamp(topic, range.fromMinute),
    admin.fetchTopicOffsetsByTimestamp(topic, range.toMinute + MINUTE_MS + PUBLISHED_WITHIN_MS),
    admin.fetchTopicOffsets(topic),
    admin.describeConfigs({ resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false }),
  ]);
  const value = configs.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
  const retentionMs = value === undefined || Number(value) < 0 ? null : Number(value);
  const partitions = starts
    .map(({ partition, offset }) => {
      const h = high.find((p) => p.partition === partition);
      const low = BigInt(h?.low ?? '0');
      const hi = BigInt(h?.high ?? offset);
      let start = BigInt(offset);
      if (start < low) start = low;
      let end = BigInt(ends.find((p) => p.partition === partition)?.offset ?? String(hi));
      if (end > hi) end = hi;
      if (end < start) end = start;
      return { partition, start: String(start), end: String(end) };
    })
    .sort((a, b) => a.partition - b.partition);
  return { partitions, retentionMs };
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
  /** Keep the keys of the range's points seen in the log (to find items that have none). */
  collectKeys: boolean;
  /** After each batch is written: the next offset of every partition, and the counts. */
  onProgress?: (positions: PartitionSpan[], counts: ReplayResult) => void;
  signal?: AbortSignal;
  logger?: Logger;
}

/** Counts with nothing counted. */
export function emptyReplay(): ReplayResult {
  return { read: 0, written: 0, outOfRange: 0, invalid: 0, rejected: 0, expired: 0, deleted: 0 };
}

/** Replays the partitions' spans into the store; resolves when every partition reached its end. */
export async function replayRange(o: ReplayOptions): Promise<{ counts: ReplayResult; keys: Set<string> | null }> {
  const counts: ReplayResult = { ...(o.counts ?? emptyReplay()) };
  const keys = o.collectKeys ? new Set<string>() : null;
  const position = new Map(o.partitions.map((p) => [p.partition, BigInt(p.start)]));
  const end = new Map(o.partitions.map((p) => [p.partition, BigInt(p.end)]));
  const pending = new Set(o.partitions.filter((p) => BigInt(p.start) < BigInt(p.end)).map((p) => p.partition));
  const spans = (): PartitionSpan[] => o.partitions.map((p) => ({ partition: p.partition, start: String(position.get(p.partition)), end: p.end }));
  if (pending.size === 0) return { counts, keys };

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
          keys?.add(pointKey(point));
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
        if (pending.size === 0) finish();
      },
    });
    for (const p of o.partitions)
      if (pending.has(p.partition)) consumer.seek({ topic: o.topic, partition: p.partition, offset: String(position.get(p.partition)) });
    await finished;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
  }
  return { counts, keys };
}

/**
 * Deletes the store's items in the range that have no point in the log (`logKeys`): the "extra"
 * class, such as a point filed under the wrong minute. Reads the store the way served reads do.
 */
export async function deleteItemsNotInLog(
  store: MetricStore,
  range: MinuteRange,
  logKeys: Set<string>,
  series: readonly { app: string; metric: string }[],
): Promise<number> {
  let deleted = 0;
  for (const s of series) {
    const points = await store.readSeries({ app: s.app, metric: s.metric, fromMinute: range.fromMinute, toMinute: range.toMinute });
    const extra = points.filter((p) => !logKeys.has(pointKey(p))).map((p) => ({ app: p.app, metric: p.metric, minute: p.minute }));
    if (extra.length > 0) deleted += await store.deletePoints(extra);
  }
  return deleted;
}
