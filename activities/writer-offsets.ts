/**
 * Lag and write parity of an environment's two writer groups, from one snapshot of the metrics
 * topic's offsets and both groups' committed offsets.
 */
import { groupPosition as positionOf } from '../pipeline/kernel/observability/consumer-lag.js';

/** End offsets of one partition of the metrics topic (kafkajs fetchTopicOffsets, strings as kafkajs gives them). */
export interface PartitionEnds {
  partition: number;
  low: string;
  high: string;
}

/** What a writer group has committed, by partition (kafkajs fetchOffsets; "-1" = nothing committed). */
export type CommittedOffsets = ReadonlyMap<number, string>;

/** Lag of each writer group and the parity gap between them, in messages. */
export interface WriterOffsetSummary {
  cassandraLag: number;
  dynamodbLag: number;
  /** Sum over partitions of |position of the Cassandra group − position of the DynamoDB group|. */
  parityGap: number;
}

/**
 * A group's position on a partition: its committed offset, or the partition's low offset when it
 * has none (a new group starts there) — the same rule as measureLag (pipeline/kernel/observability).
 */
export function groupPosition(ends: PartitionEnds, committed: CommittedOffsets): number {
  return positionOf(Number(committed.get(ends.partition) ?? '-1'), Number(ends.low));
}

/**
 * Sums lag (end − position, never negative) per group and the parity gap over every partition.
 * Computed from one snapshot rather than two measureLag calls, so both groups are measured
 * against the same end offsets and the gap is not inflated by messages arriving between calls.
 */
export function summarizeWriterOffsets(ends: readonly PartitionEnds[], cassandra: CommittedOffsets, dynamodb: CommittedOffsets): WriterOffsetSummary {
  let cassandraLag = 0;
  let dynamodbLag = 0;
  let parityGap = 0;
  for (const e of ends) {
    const high = Number(e.high);
    const oldPos = groupPosition(e, cassandra);
    const newPos = groupPosition(e, dynamodb);
    cassandraLag += Math.max(0, high - oldPos);
    dynamodbLag += Math.max(0, high - newPos);
    parityGap += Math.abs(oldPos - newPos);
  }
  return { cassandraLag, dynamodbLag, parityGap };
}

/** kafkajs fetchOffsets output for one topic as a map (partition → committed offset). */
export function committedByPartition(
  fetched: readonly { topic: string; partitions: readonly { partition: number; offset: string }[] }[],
  topic: string,
): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of fetched) if (t.topic === topic) for (const p of t.partitions) out.set(p.partition, p.offset);
  return out;
}
