/** The Kafka consumer every job uses. */
import type { Consumer, ConsumerConfig, ConsumerRunConfig, ConsumerSubscribeTopics, Kafka } from 'kafkajs';
import type { Logger } from '../../kit/logger.js';

/** Default session timeout of a job's consumer group member, ms. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

/**
 * A consumer of `groupId` with frequent heartbeats (a third of the session timeout, at most 3 s)
 * and a short fetch wait (1 s), so a rebalance takes milliseconds, not seconds.
 */
export function jobConsumer(kafka: Kafka, groupId: string, sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS, extra: Partial<ConsumerConfig> = {}): Consumer {
  return kafka.consumer({
    groupId,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.min(3000, Math.floor(sessionTimeoutMs / 3)),
    maxWaitTimeInMs: 1000,
    ...extra,
  });
}

/** How often a job heartbeats while one batch's work runs, ms (kafkajs skips calls sooner than its heartbeatInterval). */
export const BATCH_HEARTBEAT_MS = 1000;

/**
 * Runs `work` (one batch's store write or publication) while heartbeating the group every
 * BATCH_HEARTBEAT_MS: kafkajs sends a heartbeat only when the batch handler asks for one, and a
 * write longer than the session timeout (a minute of 8 000 series into a slow store) would get
 * the member evicted and its commit refused. A failed heartbeat (a rebalance under way) is left
 * to the commit after the work to notice.
 */
export async function withHeartbeats<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => void heartbeat().catch(() => undefined), BATCH_HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Connects, subscribes and runs the consumer, and runs it again whenever kafkajs gives it up: on an
 * error kafkajs does not retry (the group no longer knows the member, say) it disconnects the
 * consumer for good, which would leave the job up but consuming nothing. The job rejoins after
 * `rejoinAfterMs` instead, resuming from its last commit, for as long as `isRunning()`.
 */
export async function runJobConsumer(
  consumer: Consumer,
  o: {
    subscription: ConsumerSubscribeTopics;
    run: ConsumerRunConfig;
    isRunning: () => boolean;
    logger: Logger;
    onCrash?: (message: string) => void;
    onRejoin?: () => void;
    rejoinAfterMs?: number;
  },
): Promise<void> {
  const start = async (): Promise<void> => {
    await consumer.connect();
    await consumer.subscribe(o.subscription);
    await consumer.run(o.run);
  };
  const rejoin = (): void => {
    setTimeout(() => {
      if (!o.isRunning()) return;
      start().then(
        () => {
          o.logger.info({ action: 'consumer-rejoined' }, 'consumer rejoined its group');
          o.onRejoin?.();
        },
        (err: unknown) => {
          o.logger.error({ action: 'consumer-rejoin-failed', err: (err as Error).message }, 'consumer could not rejoin; trying again');
          rejoin();
        },
      );
    }, o.rejoinAfterMs ?? 2000).unref();
  };
  consumer.on(consumer.events.CRASH, (e) => {
    o.onCrash?.(e.payload.error.message);
    o.logger.error({ action: 'consumer-crash', err: e.payload.error.message, restart: e.payload.restart }, 'consumer crashed');
    // kafkajs restarts the consumer itself after a retriable error.
    if (!e.payload.restart && o.isRunning()) rejoin();
  });
  await start();
}
