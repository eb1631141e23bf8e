/** The Kafka consumer every job uses. */
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';

/** Default session timeout of a job's consumer group member, ms. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

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
