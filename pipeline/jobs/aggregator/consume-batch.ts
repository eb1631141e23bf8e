/**
 * The aggregator's eachBatch: each observation message of a partition is decoded into its
 * windows (a message replayed up to the checkpoint only fills windows still open at it),
 * malformed, invalid and late input becomes dead letters with the reason, and closed windows
 * become points; then the partition is flushed, so its offset is committed only once everything
 * it produced is acknowledged by Kafka. A bad message never stops the job.
 */
import type { EachBatchPayload, IHeaders, KafkaMessage, Message } from 'kafkajs';
import { decodeObservations, encodeObservationBatch } from '../../kernel/codec/observation-codec.js';
import type { Observation } from '../../kernel/model/observation.js';
import { withHeartbeats } from '../job-consumer.js';
import { flushPartition, partitionStateFor, type AggregatorJob } from './aggregator-job.js';
import { withLock, type PartitionState } from './partition-state.js';

/** A dead letter for `<env>.observations.dlq`: the message (or what stands for it) with the kind, reason and source in its headers; counted. */
function deadLetter(
  job: AggregatorJob,
  msg: { key: Buffer | null; value: Buffer | null },
  partition: number,
  offset: string,
  kind: string,
  reason: string,
  extra: IHeaders = {},
): Message {
  job.metrics.deadLettered.inc({ env: job.env, kind });
  return {
    key: msg.key,
    value: msg.value,
    headers: {
      'switchyard-kind': kind,
      'switchyard-reason': reason,
      'switchyard-source': `${job.topics.observations}/${partition}/${offset}`,
      'switchyard-failed-at': new Date(job.now()).toISOString(),
      ...extra,
    },
  };
}

/** The valid observations of a message; a malformed message, and the invalid observations of a valid one, are dead-lettered unless replayed. */
function decodeMessage(job: AggregatorJob, st: PartitionState, partition: number, message: KafkaMessage, replay: boolean): Observation[] {
  const key = message.key?.toString('utf8') ?? null;
  const decoded = decodeObservations(message.value, { policy: job.policy, now: job.now(), key });
  if (!decoded.ok) {
    if (!replay) st.pendingDeadLetters.push(deadLetter(job, message, partition, message.offset, 'malformed', decoded.reason));
    return [];
  }
  if (decoded.invalid.length > 0 && !replay) {
    st.pendingDeadLetters.push(
      deadLetter(job, message, partition, message.offset, 'invalid', decoded.invalid[0]!.reason, {
        'switchyard-errors': JSON.stringify(decoded.invalid.slice(0, 100)),
        'switchyard-invalid-count': String(decoded.invalid.length),
      }),
    );
  }
  return decoded.observations;
}

/** Dead letters for late observations: one per app, re-encoded as a batch, with the lateness and watermark. */
function deadLetterLate(job: AggregatorJob, st: PartitionState, partition: number, offset: string, late: Observation[]): void {
  job.metrics.late.inc({ env: job.env }, late.length);
  const byApp = new Map<string, Observation[]>();
  for (const o of late) byApp.set(o.app, [...(byApp.get(o.app) ?? []), o]);
  for (const [app, obs] of byApp) {
    st.pendingDeadLetters.push(
      deadLetter(
        job,
        { key: Buffer.from(app), value: encodeObservationBatch(obs) },
        partition,
        offset,
        'late',
        `${obs.length} observation(s) later than the allowed lateness of ${job.allowedLatenessMs} ms (watermark ${new Date(st.windows.watermark ?? 0).toISOString()})`,
      ),
    );
  }
}

/** Puts one message into the partition's windows; the windows it closes join the pending points. */
function consumeMessage(job: AggregatorJob, st: PartitionState, partition: number, message: KafkaMessage, offset: bigint): void {
  const replay = st.windows.isReplay(offset);
  const valid = decodeMessage(job, st, partition, message, replay);
  const out = st.windows.addMessage(offset, valid);
  if (!out.replayed) job.metrics.observations.inc({ env: job.env }, valid.length - out.late.length);
  if (out.late.length > 0) deadLetterLate(job, st, partition, message.offset, out.late);
  st.pendingPoints.push(...out.closed);
}

/** The aggregator's eachBatch handler (offsets resolved and heartbeats sent here; auto-resolve is off). */
export async function consumeBatch(job: AggregatorJob, { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
  const { consumer, log, metrics: m, states } = job;
  const partition = batch.partition;
  const { st, committed } = await partitionStateFor(job, partition);
  await withLock(st, async () => {
    if (committed !== undefined && batch.messages.length > 0 && BigInt(batch.messages[0]!.offset) > committed) {
      // The fetch position is past the committed offset (a resolved-but-uncommitted position from
      // an earlier generation): go back, or the open windows of that range would be lost.
      log.warn({ action: 'seek-to-committed', partition, committed: committed.toString(), first: batch.messages[0]!.offset }, 'rewinding to committed offset');
      consumer.seek({ topic: batch.topic, partition, offset: committed.toString() });
      return;
    }
    let processed = 0;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = BigInt(message.offset);
      if (st.windows.nextOffset !== undefined && offset < st.windows.nextOffset) continue; // redelivered
      consumeMessage(job, st, partition, message, offset);
      resolveOffset(message.offset);
      processed++;
      if (processed % 500 === 0) await heartbeat();
    }
    m.messagesIn.inc({ topic: job.topics.observations }, processed);
    if (processed > 0) st.lastMessageAt = job.now();
    st.caughtUp = st.windows.nextOffset !== undefined && BigInt(batch.highWatermark) <= st.windows.nextOffset;
    await withHeartbeats(heartbeat, () => flushPartition(job, partition, st));
    await heartbeat();
  });
  m.openWindows.set(
    { env: job.env },
    [...states.values()].reduce((n, s) => n + s.windows.openWindows, 0),
  );
}
