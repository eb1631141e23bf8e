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

/** Makes counters in one registry: each counter is its name, its help and its labels. */
export function countersIn(registry: Registry) {
  return <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> => new Counter({ name, help, labelNames, registers: [registry] });
}

/** Creates a registry with the pipeline metrics and the Node process defaults. */
export function createPipelineMetrics(component: string): PipelineMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const counter = countersIn(registry);
  return {
    registry,
    messagesIn: counter('switchyard_messages_consumed_total', 'Kafka messages consumed', ['topic']),
    observations: counter('switchyard_observations_total', 'Observations aggregated', ['env']),
    deadLettered: counter('switchyard_dead_letters_total', 'Records sent to a dead-letter topic', ['env', 'kind']),
    late: counter('switchyard_late_observations_total', 'Observations later than the allowed lateness', ['env']),
    pointsPublished: counter('switchyard_points_published_total', 'Metric points published', ['env']),
    pointsWritten: counter('switchyard_points_written_total', 'Metric points written to a store', ['env', 'sink']),
    pointsExpired: counter('switchyard_points_expired_on_arrival_total', 'Points past retention when they reached the writer', ['env', 'sink']),
    writeErrors: counter('switchyard_write_errors_total', 'Store writes that failed after retries', ['env', 'sink']),
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
