/**
 * What the long-running pipeline jobs (aggregator, writers) share on the command line and at
 * start: the common flags, topic creation, the lag watch and the /metrics endpoint.
 */
import type { Kafka } from 'kafkajs';
import type { SwitchyardConfig } from '../../../config/config.js';
import { watchLag } from '../../kernel/observability/consumer-lag.js';
import type { Logger } from '../../../kit/logger.js';
import { startMetricsServer } from '../../kernel/observability/metrics-server.js';
import type { PipelineMetrics } from '../../kernel/observability/pipeline-metrics.js';
import { ensureTopics } from '../../kernel/topics.js';
import { ensureControlTopics } from '../../../control/index.js';
import { parseDuration, parseEnv, parseWhole, UsageError } from '../../../kit/cli.js';

/** Usage lines of the common flags. */
export const COMMON_JOB_USAGE = `  --partitions <n>        partitions for topics created on first use (default 6)
  --session-timeout <d>   consumer group session timeout (default 10s; at least 6s)
  --metrics-port <port>   Prometheus /metrics and /healthz port (default 0: any free port)`;

/** parseArgs options of the common flags. */
export const COMMON_JOB_OPTIONS = {
  env: { type: 'string' },
  partitions: { type: 'string', default: '6' },
  'metrics-port': { type: 'string', default: '0' },
  'session-timeout': { type: 'string', default: '10s' },
} as const;

/** The common flags, parsed and checked. */
export interface CommonJobArgs {
  env: string;
  partitions: number;
  metricsPort: number;
  sessionTimeoutMs: number;
}

/** Checks the common flags. */
export function parseCommonJobArgs(
  args: { env?: string; partitions?: string; 'metrics-port'?: string; 'session-timeout'?: string },
  cfg: SwitchyardConfig,
): CommonJobArgs {
  const sessionTimeoutMs = parseDuration('session-timeout', args['session-timeout']!);
  if (sessionTimeoutMs < 6000) throw new UsageError('--session-timeout: must be at least 6s (the broker refuses shorter sessions)');
  return {
    env: parseEnv(args.env, cfg.environments),
    partitions: parseWhole('partitions', args.partitions!, 1, 1000),
    metricsPort: parseWhole('metrics-port', args['metrics-port']!, 0, 65535),
    sessionTimeoutMs,
  };
}

/** A job as the runner sees it. */
export interface RunnableJob {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): { ok: boolean; detail: Record<string, unknown> };
}

/** Creates topics, starts the job, watches its group's lag and serves /metrics; returns a stop handle. */
export async function serveJob(o: {
  kafka: Kafka;
  common: CommonJobArgs;
  label: string;
  groupId: string;
  topic: string;
  metrics: PipelineMetrics;
  logger: Logger;
  job: RunnableJob;
  /** Runs after the topics exist and before the job starts (e.g. reading the control state). */
  beforeStart?: () => Promise<void>;
}): Promise<{ stop(): Promise<void> }> {
  const admin = o.kafka.admin();
  await admin.connect();
  await ensureTopics(admin, o.common.env, o.common.partitions);
  await ensureControlTopics(admin);
  await o.beforeStart?.();
  // /metrics is up before the job consumes anything, so its counters can be followed from the first record.
  const server = await startMetricsServer(o.metrics.registry, o.common.metricsPort, () => o.job.health());
  o.logger.info(
    { env: o.common.env, action: 'listening', metricsPort: server.port },
    `${o.label} for ${o.common.env}: metrics on http://127.0.0.1:${server.port}/metrics`,
  );
  try {
    await o.job.start();
  } catch (err) {
    await server.close();
    throw err;
  }
  const stopLag = watchLag(admin, o.groupId, o.topic, o.metrics);
  return {
    async stop() {
      stopLag();
      await o.job.stop();
      await admin.disconnect();
      await server.close();
    },
  };
}
