/**
 * Prometheus metrics of the pipeline's processes (one registry per process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics every pipeline process may update. */
export interface PipelineMetrics {
  registry: Registry;
  /** Kafka messages consumed, by topic. */
  messagesIn: Counter<'topic'>;
  /** Observations aggregated (valid, in time). */
  observations: Counter<'env'>;
  /** Observations or messages sent to a dead-letter topic, by reason kind. */
  deadLettered: Counter<'env' | 'kind'>;
  /** Observations later than the allowed lateness. */
  late: Counter<'env'>;
  /** Metric points published by the aggregator. */
  pointsPublished: Counter<'env'>;
  /** Metric points written, by sink. */
  pointsWritten: Counter<'env' | 'sink'>;
  /** Points not written because already past retention. */
  pointsExpired: Counter<'env' | 'sink'>;
  /** Failed store writes (after retries), by sink. */
  writeErrors: Counter<'env' | 'sink'>;
  /** Store write latency per batch. */
  writeSeconds: Histogram<'env' | 'sink'>;
  /** Open windows held in memory. */
  openWindows: Gauge<'env'>;
  /** Consumer lag per group and partition (messages). */
  consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  /** Whether the DynamoDB (new-store) writer currently writes (1) or only consumes (0). */
  sinkEnabled: Gauge<'env' | 'sink'>;
}

/** Creates a registry with the pipeline metrics and the Node process defaults. */
export function createPipelineMetrics(component: string): PipelineMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    messagesIn: new Counter({ name: 'switchyard_messages_consumed_total', help: 'Kafka messages consumed', labelNames: ['topic'], registers: r }),
    observations: new Counter({ name: 'switchyard_observations_total', help: 'Observations aggregated', labelNames: ['env'], registers: r }),
    deadLettered: new Counter({
      name: 'switchyard_dead_letters_total',
      help: 'Records sent to a dead-letter topic',
      labelNames: ['env', 'kind'],
      registers: r,
    }),
    late: new Counter({ name: 'switchyard_late_observations_total', help: 'Observations later than the allowed lateness', labelNames: ['env'], registers: r }),
    pointsPublished: new Counter({ name: 'switchyard_points_published_total', help: 'Metric points published', labelNames: ['env'], registers: r }),
    pointsWritten: new Counter({
      name: 'switchyard_points_written_total',
      help: 'Metric points written to a store',
      labelNames: ['env', 'sink'],
      registers: r,
    }),
    pointsExpired: new Counter({
      name: 'switchyard_points_expired_on_arrival_total',
      help: 'Points past retention when they reached the writer',
      labelNames: ['env', 'sink'],
      registers: r,
    }),
    writeErrors: new Counter({
      name: 'switchyard_write_errors_total',
      help: 'Store writes that failed after retries',
      labelNames: ['env', 'sink'],
      registers: r,
    }),
    writeSeconds: new Histogram({
      name: 'switchyard_write_batch_seconds',
      help: 'Store write latency per batch',
      labelNames: ['env', 'sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    openWindows: new Gauge({ name: 'switchyard_open_windows', help: 'Open aggregation windows', labelNames: ['env'], registers: r }),
    consumerLag: new Gauge({
      name: 'switchyard_consumer_lag',
      help: 'Consumer group lag in messages',
      labelNames: ['group', 'topic', 'partition'],
      registers: r,
    }),
    sinkEnabled: new Gauge({ name: 'switchyard_sink_enabled', help: 'Whether a writer writes to its store', labelNames: ['env', 'sink'], registers: r }),
  };
}
