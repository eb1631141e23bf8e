/**
 * `npm run aggregator -- --env <env>`: runs the aggregator job of one environment.
 */
import { createKafka } from '../../../config/clients.js';
import { loadConfig } from '../../../config/config.js';
import { AGGREGATOR_DEFAULTS, createAggregator } from '../aggregator/aggregator.js';
import { createLogger } from '../../../kit/logger.js';
import { createPipelineMetrics } from '../../kernel/observability/pipeline-metrics.js';
import { aggregatorGroup, envTopics } from '../../kernel/topics.js';
import { parseCommandLine, parseDuration, runMain } from '../../../kit/cli.js';
import { COMMON_JOB_OPTIONS, COMMON_JOB_USAGE, parseCommonJobArgs, serveJob } from './job-options.js';

const USAGE = `usage: npm run aggregator -- --env <env> [options]
  --env <name>            environment (one of SWITCHYARD_ENVS)
  --lateness <duration>   allowed lateness behind the largest event time (default ${AGGREGATOR_DEFAULTS.allowedLatenessMs / 1000}s)
  --idle <duration>       close windows of a partition idle this long, on processing time (default ${AGGREGATOR_DEFAULTS.idleMs / 1000}s)
${COMMON_JOB_USAGE}`;

runMain(USAGE, async (argv) => {
  const args = parseCommandLine(argv, {
    ...COMMON_JOB_OPTIONS,
    lateness: { type: 'string', default: `${AGGREGATOR_DEFAULTS.allowedLatenessMs}ms` },
    idle: { type: 'string', default: `${AGGREGATOR_DEFAULTS.idleMs}ms` },
  });
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'aggregator' });
  const common = parseCommonJobArgs(args, cfg);
  const allowedLatenessMs = parseDuration('lateness', args.lateness!);
  const idleMs = parseDuration('idle', args.idle!);
  const { env } = common;
  const logger = createLogger('aggregator', cfg.logLevel);
  const kafka = createKafka(cfg, { clientId: `switchyard-aggregator-${env}` });
  const metrics = createPipelineMetrics('aggregator');
  const job = createAggregator({ kafka, env, logger, metrics, allowedLatenessMs, idleMs, sessionTimeoutMs: common.sessionTimeoutMs });
  return serveJob({ kafka, common, label: 'aggregator', groupId: aggregatorGroup(env), topic: envTopics(env).observations, metrics, logger, job });
});
