/**
 * The aggregator job: a kafkajs consumer group on `<env>.observations` that keeps event-time
 * one-minute windows per (app, metric), closes them by watermark, and publishes metric points to
 * `<env>.metrics` (keyed by app). Invalid input and late observations go to
 * `<env>.observations.dlq` with the reason; the job never stops for a bad message.
 *
 * Offsets are committed only after every window their observations fell into has been published
 * (see partition-windows.ts for the rule and the checkpoint that makes restarts exact).
 *
 * This file builds the job and runs its lifecycle; its parts are consume-batch.ts (each batch:
 * decode, windows, dead letters), aggregator-job.ts (taking over a partition, flushing it, idle
 * closes) and partition-state.ts (what is held per partition, under its lock).
 */
import type { Kafka } from 'kafkajs';
import { DEFAULT_VALIDATION_POLICY, type ValidationPolicy } from '../../kernel/model/observation.js';
import type { Logger } from '../../../kit/logger.js';
import type { PipelineMetrics } from '../../kernel/observability/pipeline-metrics.js';
import { aggregatorGroup, envTopics } from '../../kernel/topics.js';
import { jobConsumer, runJobConsumer } from '../job-consumer.js';
import { closeIdlePartitions, type AggregatorJob } from './aggregator-job.js';
import { consumeBatch } from './consume-batch.js';

export { idleClosable } from './partition-state.js';

/** The aggregator's consumer settings on top of every job's (large fetches: it reads a high-volume topic). */
export const AGGREGATOR_CONSUMER = { maxBytesPerPartition: 4 * 1024 * 1024 };

/** Options of the aggregator job. */
export interface AggregatorOptions {
  kafka: Kafka;
  env: string;
  logger: Logger;
  metrics: PipelineMetrics;
  /** How late an observation may be, behind the largest event time seen, and still count. */
  allowedLatenessMs?: number;
  /** After this long without messages, a partition's watermark advances on processing time. */
  idleMs?: number;
  policy?: ValidationPolicy;
  /** Clock (for validation and idle advance). */
  now?: () => number;
  /** Consumer group id (default switchyard.<env>.aggregator). */
  groupId?: string;
  /** Group session timeout: how long a dead instance keeps its partitions (default 30 s). */
  sessionTimeoutMs?: number;
}

/** Defaults of the aggregator's options. */
export const AGGREGATOR_DEFAULTS = { allowedLatenessMs: 10_000, idleMs: 15_000 } as const;

/** A running aggregator. */
export interface Aggregator {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Health for /healthz. */
  health(): { ok: boolean; detail: Record<string, unknown> };
}

/** The job's parts' shared state, from validated options (clients built, not connected). */
function aggregatorJob(opts: AggregatorOptions): AggregatorJob {
  const env = opts.env;
  const allowedLatenessMs = opts.allowedLatenessMs ?? AGGREGATOR_DEFAULTS.allowedLatenessMs;
  const idleMs = opts.idleMs ?? AGGREGATOR_DEFAULTS.idleMs;
  if (!(allowedLatenessMs >= 0)) throw new Error('allowedLatenessMs must be >= 0');
  if (!(idleMs > 0)) throw new Error('idleMs must be > 0');
  const groupId = opts.groupId ?? aggregatorGroup(env);
  return {
    env,
    topics: envTopics(env),
    groupId,
    allowedLatenessMs,
    idleMs,
    policy: opts.policy ?? DEFAULT_VALIDATION_POLICY,
    now: opts.now ?? Date.now,
    log: opts.logger.child({ env, job: 'aggregator', groupId }),
    metrics: opts.metrics,
    consumer: jobConsumer(opts.kafka, groupId, opts.sessionTimeoutMs, AGGREGATOR_CONSUMER),
    producer: opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1 }),
    admin: opts.kafka.admin(),
    states: new Map(),
    running: false,
    rebalancing: false,
    lastError: undefined,
  };
}

/** Builds the aggregator job; call start() to join the group. */
export function createAggregator(opts: AggregatorOptions): Aggregator {
  const job = aggregatorJob(opts);
  const { env, topics, idleMs, consumer, producer, admin, states, log } = job;
  let idleTimer: NodeJS.Timeout | undefined;

  return {
    async start() {
      await admin.connect();
      await producer.connect();
      consumer.on(consumer.events.REBALANCING, () => {
        job.rebalancing = true;
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        job.rebalancing = false;
        const mine = new Set<number>(e.payload.memberAssignment[topics.observations] ?? []);
        for (const p of [...states.keys()]) if (!mine.has(p)) states.delete(p);
        log.info({ action: 'group-join', partitions: [...mine].sort((a, b) => a - b) }, 'joined group');
      });
      job.running = true;
      await runJobConsumer(consumer, {
        subscription: { topics: [topics.observations], fromBeginning: true },
        run: { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (payload) => consumeBatch(job, payload) },
        isRunning: () => job.running,
        logger: log,
        onCrash: (message) => {
          job.lastError = message;
          // A rejoin resumes every partition from its checkpoint.
          states.clear();
        },
        onRejoin: () => {
          job.lastError = undefined;
        },
      });
      idleTimer = setInterval(() => void closeIdlePartitions(job), Math.min(1000, idleMs));
      log.info({ action: 'start', allowedLatenessMs: job.allowedLatenessMs, idleMs }, 'aggregator running');
    },
    async stop() {
      job.running = false;
      if (idleTimer) clearInterval(idleTimer);
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
      log.info({ action: 'stop' }, 'aggregator stopped');
    },
    health() {
      return {
        ok: job.running && job.lastError === undefined,
        detail: { job: 'aggregator', env, partitions: [...states.keys()], rebalancing: job.rebalancing, lastError: job.lastError },
      };
    },
  };
}
