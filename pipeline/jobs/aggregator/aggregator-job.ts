/**
 * One running aggregator as its parts see it (settings, clients, owned partitions, lifecycle
 * flags), and the parts that publish: taking over a partition from its committed checkpoint,
 * flushing a partition (its points and dead letters first, then the commit of the first offset
 * still needed), and closing the windows of idle partitions on the clock.
 */
import type { Admin, Consumer, Producer } from 'kafkajs';
import { encodeMetricPoint } from '../../kernel/codec/metric-point-codec.js';
import type { ValidationPolicy } from '../../kernel/model/observation.js';
import type { PipelineMetrics } from '../../kernel/observability/pipeline-metrics.js';
import { chunkTopicMessages, type EnvTopics } from '../../kernel/topics.js';
import type { Logger } from '../../../kit/logger.js';
import { idleClosable, newPartitionState, withLock, type PartitionState } from './partition-state.js';
import { parseCheckpoint, PartitionWindows } from './partition-windows.js';

/** One aggregator's settings, clients and partitions, shared by its parts. */
export interface AggregatorJob {
  env: string;
  topics: EnvTopics;
  groupId: string;
  allowedLatenessMs: number;
  idleMs: number;
  policy: ValidationPolicy;
  now: () => number;
  log: Logger;
  metrics: PipelineMetrics;
  consumer: Consumer;
  producer: Producer;
  admin: Admin;
  /** The partitions this instance owns, by number. */
  states: Map<number, PartitionState>;
  /** Between start() and stop(). */
  running: boolean;
  /** Between a rebalance's start and the next group join (no idle closes meanwhile). */
  rebalancing: boolean;
  /** Why the consumer last crashed, until it rejoins. */
  lastError: string | undefined;
}

/** Publishes pending points and dead letters, then commits the partition's commit point. */
export async function flushPartition(job: AggregatorJob, partition: number, st: PartitionState): Promise<void> {
  const { topics, producer, consumer } = job;
  if (st.pendingPoints.length > 0 || st.pendingDeadLetters.length > 0) {
    const topicMessages = [];
    if (st.pendingPoints.length > 0) {
      topicMessages.push({ topic: topics.metrics, messages: st.pendingPoints.map((p) => ({ key: p.app, value: encodeMetricPoint(p) })) });
    }
    if (st.pendingDeadLetters.length > 0) topicMessages.push({ topic: topics.observationsDlq, messages: st.pendingDeadLetters });
    // In sends below the broker's size limit; a failure leaves the commit point where it was.
    for (const chunk of chunkTopicMessages(topicMessages)) await producer.sendBatch({ topicMessages: chunk, acks: -1 });
    job.metrics.pointsPublished.inc({ env: job.env }, st.pendingPoints.length);
    st.pendingPoints = [];
    st.pendingDeadLetters = [];
  }
  const cp = st.windows.commitPoint();
  if (cp) {
    await consumer.commitOffsets([{ topic: topics.observations, partition, offset: cp.offset.toString(), metadata: JSON.stringify(cp.checkpoint) }]);
  }
}

/**
 * The state of a partition this instance owns; on first sight, a new one from the group's
 * committed checkpoint, with the committed offset the first batch must not start after.
 */
export async function partitionStateFor(job: AggregatorJob, partition: number): Promise<{ st: PartitionState; committed: bigint | undefined }> {
  const existing = job.states.get(partition);
  if (existing) return { st: existing, committed: undefined };
  const offsets = await job.admin.fetchOffsets({ groupId: job.groupId, topics: [job.topics.observations] });
  const p = offsets[0]?.partitions.find((x) => x.partition === partition);
  const checkpoint = parseCheckpoint(p?.metadata);
  const committed = p && Number(p.offset) >= 0 ? BigInt(p.offset) : undefined;
  const st = newPartitionState(new PartitionWindows({ allowedLatenessMs: job.allowedLatenessMs, checkpoint }), job.now());
  job.states.set(partition, st);
  job.log.info({ action: 'partition-assigned', partition, committed: committed?.toString(), checkpoint }, 'taking over partition');
  return { st, committed };
}

/** Closes, publishes and commits the windows of every idle partition (see idleClosable); not during a rebalance. */
export async function closeIdlePartitions(job: AggregatorJob): Promise<void> {
  const { states, now, log } = job;
  if (!job.running || job.rebalancing) return;
  for (const [partition, st] of states) {
    if (!idleClosable(st, now(), job.idleMs)) continue;
    const next = st.windows.nextOffset;
    if (next === undefined || st.windows.isReplay(next)) continue;
    try {
      await withLock(st, async () => {
        const closed = st.windows.advanceIdle(now() - job.allowedLatenessMs);
        if (closed.length === 0 && st.pendingPoints.length === 0 && st.pendingDeadLetters.length === 0) return;
        st.pendingPoints.push(...closed);
        log.debug({ action: 'idle-close', partition, closed: closed.length }, 'closing windows of an idle partition');
        await flushPartition(job, partition, st);
      });
    } catch (err) {
      // Most likely the partition moved to another instance: forget it, its new owner resumes.
      log.warn({ action: 'idle-close-failed', partition, err: (err as Error).message }, 'dropping partition state');
      states.delete(partition);
    }
  }
}
