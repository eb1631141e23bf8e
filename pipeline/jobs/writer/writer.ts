/**
 * A writer job: one consumer group per sink (cassandra, dynamodb) on `<env>.metrics`, writing
 * each batch of points to its store with idempotent upserts, then committing. Points the store
 * rejects, and messages that are not points, go to `<env>.metrics.dlq` with the reason.
 *
 * An offset is committed only after its points are durable in the store (or dead-lettered), so a
 * crash at any moment replays at most the uncommitted batch, which the upserts absorb.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka, Message, Producer } from 'kafkajs';
import { decodeMetricPoint, encodeMetricPoint } from '../../kernel/codec/metric-point-codec.js';
import { pointKey, type MetricPoint } from '../../kernel/model/metric-point.js';
import type { Logger } from '../../../kit/logger.js';
import type { PipelineMetrics } from '../../kernel/observability/pipeline-metrics.js';
import type { MetricStore, WriteResult } from '../../kernel/stores/metric-store.js';
import { chunkTopicMessages, envTopics, writerGroup } from '../../kernel/topics.js';
import { injectFaults } from './fault-injector.js';
import { jobConsumer, runJobConsumer, withHeartbeats } from '../job-consumer.js';

/** Options of a writer job. */
export interface WriterOptions {
  kafka: Kafka;
  env: string;
  store: MetricStore;
  logger: Logger;
  metrics: PipelineMetrics;
  /**
   * Whether the writer writes right now. When it returns false the writer keeps consuming and
   * committing without writing (the new store's writer before dual-write starts).
   */
  enabled?: () => boolean;
  /**
   * Share of points to corrupt before writing (the fault switch, see fault-injector.ts); 0 = off.
   * Only ever set for the new store's writer, from the control state.
   */
  corruptionRate?: () => number;
  /** Which apps the fault switch applies to (null or absent: every app), read with the rate. */
  faultScope?: () => ((app: string) => boolean) | null;
  /** Consumer group id (default switchyard.<env>.writer.<sink>). */
  groupId?: string;
  /** Group session timeout: how long a dead instance keeps its partitions (default 30 s). */
  sessionTimeoutMs?: number;
  /** Backoff between attempts when the store keeps failing, in ms. */
  retryBackoffMs?: { initial: number; max: number };
}

/** A running writer. */
export interface Writer {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): { ok: boolean; detail: Record<string, unknown> };
}

/** Builds a writer job for one store; call start() to join the group. */
export function createWriter(opts: WriterOptions): Writer {
  const { env, store } = opts;
  const sink = store.kind;
  const topics = envTopics(env);
  const groupId = opts.groupId ?? writerGroup(env, sink);
  const enabled = opts.enabled ?? (() => true);
  const backoff = opts.retryBackoffMs ?? { initial: 200, max: 10_000 };
  const log = opts.logger.child({ env, job: 'writer', sink, groupId });
  const m = opts.metrics;
  const consumer: Consumer = jobConsumer(opts.kafka, groupId, opts.sessionTimeoutMs);
  const producer: Producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  let running = false;
  let consecutiveFailures = 0;
  let lastError: string | undefined;

  const writeWithRetry = async (points: MetricPoint[], payload: EachBatchPayload): Promise<WriteResult['rejected'] | undefined> => {
    let delay = backoff.initial;
    for (;;) {
      const t0 = process.hrtime.bigint();
      try {
        const result = await store.writePoints(points);
        m.writeSeconds.observe({ env, sink }, Number(process.hrtime.bigint() - t0) / 1e9);
        m.pointsWritten.inc({ env, sink }, result.written);
        m.pointsExpired.inc({ env, sink }, result.expired);
        consecutiveFailures = 0;
        lastError = undefined;
        for (const r of result.rejected)
          log.warn({ action: 'point-rejected', app: r.point.app, metric: r.point.metric, minute: r.point.minute, reason: r.reason }, 'store rejected a point');
        return result.rejected;
      } catch (err) {
        consecutiveFailures++;
        lastError = (err as Error).message;
        m.writeErrors.inc({ env, sink });
        log.warn(
          { action: 'write-failed', points: points.length, attempt: consecutiveFailures, err: lastError, retryInMs: delay },
          'store write failed; retrying',
        );
        if (!payload.isRunning() || payload.isStale()) return undefined;
        await payload.heartbeat().catch(() => undefined);
        await sleep(delay * (0.5 + Math.random() / 2));
        delay = Math.min(delay * 2, backoff.max);
      }
    }
  };

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const deadLetters: Message[] = [];
    const latest = new Map<string, MetricPoint>();
    for (const message of batch.messages) {
      const decoded = decodeMetricPoint(message.value);
      if (decoded.ok) latest.set(pointKey(decoded.point), decoded.point);
      else {
        m.deadLettered.inc({ env, kind: 'malformed-point' });
        deadLetters.push({
          key: message.key,
          value: message.value,
          headers: {
            'switchyard-kind': 'malformed-point',
            'switchyard-reason': decoded.reason,
            'switchyard-source': `${batch.topic}/${batch.partition}/${message.offset}`,
            'switchyard-sink': sink,
          },
        });
      }
    }
    const on = enabled();
    m.sinkEnabled.set({ env, sink }, on ? 1 : 0);
    if (on && latest.size > 0) {
      let points = [...latest.values()];
      const rate = opts.corruptionRate?.() ?? 0;
      if (rate > 0) {
        const injected = injectFaults(points, rate, opts.faultScope?.() ?? undefined);
        points = injected.points;
        const n = injected.faults.rounding + injected.faults.wrong_minute + injected.faults.dropped;
        if (n > 0) log.warn({ action: 'faults-injected', rate, ...injected.faults }, 'fault switch is on: corrupting points on purpose');
      }
      const rejected = await withHeartbeats(payload.heartbeat, () => writeWithRetry(points, payload));
      if (rejected === undefined) return; // stopping or rebalancing: leave the batch uncommitted
      for (const { point, reason } of rejected) {
        m.deadLettered.inc({ env, kind: 'rejected-point' });
        deadLetters.push({
          key: point.app,
          value: encodeMetricPoint(point),
          headers: {
            'switchyard-kind': 'rejected-point',
            'switchyard-reason': reason,
            'switchyard-source': `${batch.topic}/${batch.partition}`,
            'switchyard-sink': sink,
          },
        });
      }
    }
    for (const chunk of chunkTopicMessages([{ topic: topics.metricsDlq, messages: deadLetters }])) await producer.sendBatch({ topicMessages: chunk, acks: -1 });
    const last = batch.messages[batch.messages.length - 1]!.offset;
    payload.resolveOffset(last);
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
    m.messagesIn.inc({ topic: batch.topic }, batch.messages.length);
    await payload.heartbeat();
  };

  return {
    async start() {
      const warnings = await store.ensureSchema();
      for (const w of warnings) log.warn({ action: 'schema-warning' }, w);
      await producer.connect();
      running = true;
      await runJobConsumer(consumer, {
        subscription: { topics: [topics.metrics], fromBeginning: true },
        run: { autoCommit: false, eachBatchAutoResolve: false, eachBatch },
        isRunning: () => running,
        logger: log,
        onCrash: (message) => {
          lastError = message;
        },
      });
      log.info({ action: 'start' }, 'writer running');
    },
    async stop() {
      running = false;
      await consumer.disconnect();
      await producer.disconnect();
      await store.close();
      log.info({ action: 'stop' }, 'writer stopped');
    },
    health() {
      return { ok: running && consecutiveFailures < 5, detail: { job: 'writer', env, sink, enabled: enabled(), consecutiveFailures, lastError } };
    },
  };
}
