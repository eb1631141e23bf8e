/**
 * Kafka topic names and creation for each environment.
 */
import type { Admin, ITopicConfig, Message, TopicMessages } from 'kafkajs';
import { waitForLeaders } from '../../kit/topic-leaders.js';

/** Every topic an environment uses. */
export interface EnvTopics {
  observations: string;
  observationsDlq: string;
  metrics: string;
  metricsDlq: string;
}

/** Topic names of an environment. */
export function envTopics(env: string): EnvTopics {
  return {
    observations: `${env}.observations`,
    observationsDlq: `${env}.observations.dlq`,
    metrics: `${env}.metrics`,
    metricsDlq: `${env}.metrics.dlq`,
  };
}

/** Consumer group of the aggregator of an environment. */
export function aggregatorGroup(env: string): string {
  return `switchyard.${env}.aggregator`;
}

/** Consumer group of one sink's writers. */
export function writerGroup(env: string, sink: string): string {
  return `switchyard.${env}.writer.${sink}`;
}

/** Creates the environment's topics if missing (idempotent); returns the ones it created. */
export async function ensureTopics(admin: Admin, env: string, partitions: number, replicationFactor = 1): Promise<string[]> {
  const t = envTopics(env);
  const existing = new Set(await admin.listTopics());
  const wanted: ITopicConfig[] = [
    { topic: t.observations, numPartitions: partitions, replicationFactor },
    { topic: t.metrics, numPartitions: partitions, replicationFactor },
    // Dead letters are kept longer than the data, so someone can look at them.
    { topic: t.observationsDlq, numPartitions: 1, replicationFactor, configEntries: [{ name: 'retention.ms', value: String(14 * 86_400_000) }] },
    { topic: t.metricsDlq, numPartitions: 1, replicationFactor, configEntries: [{ name: 'retention.ms', value: String(14 * 86_400_000) }] },
  ];
  const missing = wanted.filter((w) => !existing.has(w.topic));
  if (missing.length > 0) {
    // kafkajs' own wait for leaders gives up on "This server does not host this topic-partition",
    // which a KRaft broker answers for a moment after it created a topic: wait here instead.
    await admin.createTopics({ topics: missing, waitForLeaders: false });
    await waitForLeaders(
      admin,
      missing.map((m) => m.topic),
    );
  }
  return missing.map((m) => m.topic);
}

/**
 * Most bytes one produce request carries. The broker's message.max.bytes (1 MiB by default) limits
 * a partition's whole record batch, and the client does not split one send: a minute's close on a
 * busy partition (thousands of series) would be refused as a whole, so sends are split well below
 * the limit.
 */
export const MAX_SEND_BYTES = 512 * 1024;

function messageBytes(m: Message): number {
  const len = (v: Buffer | string | null | undefined): number => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  let n = 64 + len(m.key) + len(m.value);
  for (const [k, v] of Object.entries(m.headers ?? {}))
    n += Buffer.byteLength(k) + (Array.isArray(v) ? v.reduce((x: number, y) => x + len(y), 0) : len(v as Buffer | string | undefined));
  return n;
}

/**
 * Splits topic messages into consecutive sends of at most maxBytes each (estimated; a single
 * larger message goes alone), keeping every message's order within its topic.
 */
export function chunkTopicMessages(topicMessages: readonly TopicMessages[], maxBytes = MAX_SEND_BYTES): TopicMessages[][] {
  const sends: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const tm of topicMessages) {
    let part: Message[] = [];
    for (const m of tm.messages) {
      const b = messageBytes(m);
      if (bytes + b > maxBytes && bytes > 0) {
        if (part.length > 0) current.push({ topic: tm.topic, messages: part });
        sends.push(current);
        current = [];
        part = [];
        bytes = 0;
      }
      part.push(m);
      bytes += b;
    }
    if (part.length > 0) current.push({ topic: tm.topic, messages: part });
  }
  if (current.length > 0) sends.push(current);
  return sends;
}
