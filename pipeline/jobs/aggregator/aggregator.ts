/**
 * The aggregator job: a kafkajs consumer group on `<env>.observations` that keeps event-time
 * one-minute windows per (app, metric), closes them by watermark, and publishes metric points to
 * `<env>.metrics` (keyed by app). Invalid input and late observations go to
 * `<env>.observations.dlq` with the reason; the job never stops for a bad message.
 *
 * Offsets are committed only after every window their observations fell into has been published
 * (see partition-windows.ts for the rule and the checkpoint that makes restarts exact).
 */
import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, Message, Producer } from 'kafkajs';
import { decodeObservations, encodeObservationBatch } from '../../kernel/codec/observation-codec.js';
import { encodeMetricPoint } from '../../kernel/codec/metric-point-codec.js';
import type { MetricPoint } from '../../kernel/model/metric-point.js';
import { DEFAULT_VALIDATION_POLICY, type Observation, type ValidationPolicy } from '../../kernel/model/observation.js';
import type { Logger } from '../../../kit/logger.js';
import type { PipelineMetrics } from '../../kernel/observability/pipeline-metrics.js';
import { aggregatorGroup, chunkTopicMessages, envTopics } from '../../kernel/topics.js';
import { parseCheckpoint, PartitionWindows } from './partition-windows.js';
import { jobConsumer, runJobConsumer, withHeartbeats } from '../job-consumer.js';

/** Options of the aggregator job. */
/** The aggregator's consumer settings on top of every job's (large fetches: it reads a high-volume topic). */
export const AGGREGATOR_CONSUMER = { maxBytesPerPartition: 4 * 1024 * 1024 };

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

interface PartitionState {
  windows: PartitionWindows;
  /** Points and dead letters produced but not yet acknowledged by Kafka. */
  pendingPoints: MetricPoint[];
  pendingDeadLetters: Message[];
  lastMessageAt: number;
  /**
   * The last batch reached the partition's end as the broker reported it (its high watermark): a
   * partition with a backlog is slow, not idle, and its windows must not close on the clock.
   */
  caughtUp: boolean;
  /** Serialises batch processing and idle ticks on this partition. */
  lock: Promise<void>;
}

/**
 * Whether a partition's windows may close on the clock: no message for idleMs, and its last batch
 * had reached the partition's end. Without the second rule a partition that merely waited for
 * its turn while a backlog drains (its last batch ended before the end of the log) would close its
 * windows early, and its next observations would be late.
 */
export function idleClosable(st: Pick<PartitionState, 'lastMessageAt' | 'caughtUp'>, now: number, idleMs: number): boolean {
  return st.caughtUp && now - st.lastMessageAt >= idleMs;
}

/** A running aggregator. */
export interface Aggregator {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Health for /healthz. */
  health(): { ok: boolean; detail: Record<string, unknown> };
}

/** Builds the aggregator job; call start() to join the group. */
export function createAggregator(opts: AggregatorOptions): Aggregator {
  const env = opts.env;
  const allowedLatenessMs = opts.allowedLatenessMs ?? AGGREGATOR_DEFAULTS.allowedLatenessMs;
  const idleMs = opts.idleMs ?? AGGREGATOR_DEFAULTS.idleMs;
  if (!(allowedLatenessMs >= 0)) throw new Error('allowedLatenessMs must be >= 0');
  if (!(idleMs > 0)) throw new Error('idleMs must be > 0');
  const policy = opts.policy ?? DEFAULT_VALIDATION_POLICY;
  const now = opts.now ?? Date.now;
  const topics = envTopics(env);
  const groupId = opts.groupId ?? aggregatorGroup(env);
  const log = opts.logger.child({ env, job: 'aggregator', groupId });
  const m = opts.metrics;

  const consumer: Consumer = jobConsumer(opts.kafka, groupId, opts.sessionTimeoutMs, AGGREGATOR_CONSUMER);
  const producer: Producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const admin: Admin = opts.kafka.admin();
  const states = new Map<number, PartitionState>();
  let idleTimer: NodeJS.Timeout | undefined;
  let running = false;
  let rebalancing = false;
  let lastError: string | undefined;

  const withLock = async <T>(st: PartitionState, fn: () => Promise<T>): Promise<T> => {
    const prev = st.lock;
    let release!: () => void;
    st.lock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  };

  const deadLetter = (
    msg: { key: Buffer | null; value: Buffer | null },
    partition: number,
    offset: string,
    kind: string,
    reason: string,
    extra: IHeaders = {},
  ): Message => {
    m.deadLettered.inc({ env, kind });
    return {
      key: msg.key,
      value: msg.value,
      headers: {
        'switchyard-kind': kind,
        'switchyard-reason': reason,
        'switchyard-source': `${topics.observations}/${partition}/${offset}`,
        'switchyard-failed-at': new Date(now()).toISOString(),
        ...extra,
      },
    };
  };

  /** Publishes pending points and dead letters, then commits the partition's commit point. */
  const flush = async (partition: number, st: PartitionState): Promise<void> => {
    if (st.pendingPoints.length > 0 || st.pendingDeadLetters.length > 0) {
      const topicMessages = [];
      if (st.pendingPoints.length > 0) {
        topicMessages.push({ topic: topics.metrics, messages: st.pendingPoints.map((p) => ({ key: p.app, value: encodeMetricPoint(p) })) });
      }
      if (st.pendingDeadLetters.length > 0) topicMessages.push({ topic: topics.observationsDlq, messages: st.pendingDeadLetters });
      // In sends below the broker's size limit; a failure leaves the commit point where it was.
      for (const chunk of chunkTopicMessages(topicMessages)) await producer.sendBatch({ topicMessages: chunk, acks: -1 });
      m.pointsPublished.inc({ env }, st.pendingPoints.length);
      st.pendingPoints = [];
      st.pendingDeadLetters = [];
    }
    const cp = st.windows.commitPoint();
    if (cp) {
      await consumer.commitOffsets([{ topic: topics.observations, partition, offset: cp.offset.toString(), metadata: JSON.stringify(cp.checkpoint) }]);
    }
  };

  const stateFor = async (partition: number): Promise<{ st: PartitionState; committed: bigint | undefined }> => {
    const existing = states.get(partition);
    if (existing) return { st: existing, committed: undefined };
    const offsets = await admin.fetchOffsets({ groupId, topics: [topics.observations] });
    const p = offsets[0]?.partitions.find((x) => x.partition === partition);
    const checkpoint = parseCheckpoint(p?.metadata);
    const committed = p && Number(p.offset) >= 0 ? BigInt(p.offset) : undefined;
    const st: PartitionState = {
      windows: new PartitionWindows({ allowedLatenessMs, checkpoint }),
      pendingPoints: [],
      pendingDeadLetters: [],
      lastMessageAt: now(),
      caughtUp: false,
      lock: Promise.resolve(),
    };
    states.set(partition, st);
    log.info({ action: 'partition-assigned', partition, committed: committed?.toString(), checkpoint }, 'taking over partition');
    return { st, committed };
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const partition = batch.partition;
    const { st, committed } = await stateFor(partition);
    await withLock(st, async () => {
      if (committed !== undefined && batch.messages.length > 0 && BigInt(batch.messages[0]!.offset) > committed) {
        // The fetch position is past the committed offset (a resolved-but-uncommitted position from
        // an earlier generation): go back, or the open windows of that range would be lost.
        log.warn(
          { action: 'seek-to-committed', partition, committed: committed.toString(), first: batch.messages[0]!.offset },
          'rewinding to committed offset',
        );
        consumer.seek({ topic: batch.topic, partition, offset: committed.toString() });
        return;
      }
      let processed = 0;
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        const offset = BigInt(message.offset);
        if (st.windows.nextOffset !== undefined && offset < st.windows.nextOffset) continue; // redelivered
        const replay = st.windows.isReplay(offset);
        const key = message.key?.toString('utf8') ?? null;
        const decoded = decodeObservations(message.value, { policy, now: now(), key });
        let valid: Observation[] = [];
        if (!decoded.ok) {
          if (!replay) st.pendingDeadLetters.push(deadLetter(message, partition, message.offset, 'malformed', decoded.reason));
        } else {
          valid = decoded.observations;
          if (decoded.invalid.length > 0 && !replay) {
            st.pendingDeadLetters.push(
              deadLetter(message, partition, message.offset, 'invalid', decoded.invalid[0]!.reason, {
                'switchyard-errors': JSON.stringify(decoded.invalid.slice(0, 100)),
                'switchyard-invalid-count': String(decoded.invalid.length),
              }),
            );
          }
        }
        const out = st.windows.addMessage(offset, valid);
        if (!out.replayed) m.observations.inc({ env }, valid.length - out.late.length);
        if (out.late.length > 0) {
          m.late.inc({ env }, out.late.length);
          const byApp = new Map<string, Observation[]>();
          for (const o of out.late) byApp.set(o.app, [...(byApp.get(o.app) ?? []), o]);
          for (const [app, obs] of byApp) {
            st.pendingDeadLetters.push(
              deadLetter(
                { key: Buffer.from(app), value: encodeObservationBatch(obs) },
                partition,
                message.offset,
                'late',
                `${obs.length} observation(s) later than the allowed lateness of ${allowedLatenessMs} ms (watermark ${new Date(st.windows.watermark ?? 0).toISOString()})`,
              ),
            );
          }
        }
        st.pendingPoints.push(...out.closed);
        resolveOffset(message.offset);
        processed++;
        if (processed % 500 === 0) await heartbeat();
      }
      m.messagesIn.inc({ topic: topics.observations }, processed);
      if (processed > 0) st.lastMessageAt = now();
      st.caughtUp = st.windows.nextOffset !== undefined && BigInt(batch.highWatermark) <= st.windows.nextOffset;
      await withHeartbeats(heartbeat, () => flush(partition, st));
      await heartbeat();
    });
    m.openWindows.set(
      { env },
      [...states.values()].reduce((n, s) => n + s.windows.openWindows, 0),
    );
  };

  const idleTick = async (): Promise<void> => {
    if (!running || rebalancing) return;
    for (const [partition, st] of states) {
      if (!idleClosable(st, now(), idleMs)) continue;
      const next = st.windows.nextOffset;
      if (next === undefined || st.windows.isReplay(next)) continue;
      try {
        await withLock(st, async () => {
          const closed = st.windows.advanceIdle(now() - allowedLatenessMs);
          if (closed.length === 0 && st.pendingPoints.length === 0 && st.pendingDeadLetters.length === 0) return;
          st.pendingPoints.push(...closed);
          log.debug({ action: 'idle-close', partition, closed: closed.length }, 'closing windows of an idle partition');
          await flush(partition, st);
        });
      } catch (err) {
        // Most likely the partition moved to another instance: forget it, its new owner resumes.
        log.warn({ action: 'idle-close-failed', partition, err: (err as Error).message }, 'dropping partition state');
        states.delete(partition);
      }
    }
  };

  return {
    async start() {
      await admin.connect();
      await producer.connect();
      consumer.on(consumer.events.REBALANCING, () => {
        rebalancing = true;
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        rebalancing = false;
        const mine = new Set<number>(e.payload.memberAssignment[topics.observations] ?? []);
        for (const p of [...states.keys()]) if (!mine.has(p)) states.delete(p);
        log.info({ action: 'group-join', partitions: [...mine].sort((a, b) => a - b) }, 'joined group');
      });
      running = true;
      await runJobConsumer(consumer, {
        subscription: { topics: [topics.observations], fromBeginning: true },
        run: { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch },
        isRunning: () => running,
        logger: log,
        onCrash: (message) => {
          lastError = message;
          // A rejoin resumes every partition from its checkpoint.
          states.clear();
        },
        onRejoin: () => {
          lastError = undefined;
        },
      });
      idleTimer = setInterval(() => void idleTick(), Math.min(1000, idleMs));
      log.info({ action: 'start', allowedLatenessMs, idleMs }, 'aggregator running');
    },
    async stop() {
      running = false;
      if (idleTimer) clearInterval(idleTimer);
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
      log.info({ action: 'stop' }, 'aggregator stopped');
    },
    health() {
      return {
        ok: running && lastError === undefined,
        detail: { job: 'aggregator', env, partitions: [...states.keys()], rebalancing, lastError },
      };
    },
  };
}
