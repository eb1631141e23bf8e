/**
 * Periodic consumer-lag measurement for a group: end offset minus committed offset, per partition.
 */
import type { Admin } from 'kafkajs';
import type { PipelineMetrics } from './pipeline-metrics.js';

/** Lag of one partition. */
export interface PartitionLag {
  partition: number;
  lag: number;
}

/**
 * A consumer group's position on a partition: its committed offset, or the partition's low offset
 * when it has committed nothing (-1: a new group starts there).
 */
export function groupPosition(committed: number, low: number): number {
  return committed >= 0 ? committed : low;
}

/** Measures a group's lag on a topic (a partition with no commit counts from the earliest offset). */
export async function measureLag(admin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committedBy = new Map<number, string>();
  for (const t of committed) for (const p of t.partitions) committedBy.set(p.partition, p.offset);
  return ends.map((e) => {
    const start = groupPosition(Number(committedBy.get(e.partition) ?? '-1'), Number(e.low));
    return { partition: e.partition, lag: Math.max(0, Number(e.high) - start) };
  });
}

/** Starts updating the lag gauge every intervalMs; returns a stop function. */
export function watchLag(admin: Admin, groupId: string, topic: string, metrics: PipelineMetrics, intervalMs = 5000): () => void {
  let stopped = false;
  const tick = async (): Promise<void> => {
    try {
      for (const l of await measureLag(admin, groupId, topic)) {
        metrics.consumerLag.set({ group: groupId, topic, partition: String(l.partition) }, l.lag);
      }
    } catch {
      // Lag is best-effort telemetry: a broker hiccup must not disturb the job.
    }
  };
  const timer = setInterval(() => {
    if (!stopped) void tick();
  }, intervalMs);
  void tick();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
