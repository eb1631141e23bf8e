/**
 * Kafka topic names and creation for each environment.
 */
import type { Admin, ITopicConfig } from 'kafkajs';

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
  if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((m) => m.topic);
}
