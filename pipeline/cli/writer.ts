/**
 * `npm run writer -- --env <env> --sink cassandra|dynamodb`: runs one writer of one environment.
 */
import { createCassandraClient, createDynamoClient, createKafka } from '../../config/clients.js';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../observability/logger.js';
import { createPipelineMetrics } from '../observability/pipeline-metrics.js';
import { createMetricStore } from '../stores/create-metric-store.js';
import { envTopics, writerGroup } from '../topics.js';
import { createWriter } from '../writer/writer.js';
import { parseCommandLine, parseDuration, runMain, UsageError } from './args.js';
import { COMMON_JOB_OPTIONS, COMMON_JOB_USAGE, parseCommonJobArgs, serveJob } from './job-options.js';

const USAGE = `usage: npm run writer -- --env <env> --sink <cassandra|dynamodb> [options]
  --env <name>            environment (one of SWITCHYARD_ENVS)
  --sink <store>          cassandra (the old store) or dynamodb (the new store)
  --retention <duration>  how long points are kept (TTL from the point's minute; default 7d)
  --disabled              consume and commit without writing (the new store before dual write)
${COMMON_JOB_USAGE}`;

runMain(USAGE, async (argv) => {
  const args = parseCommandLine(argv, {
    ...COMMON_JOB_OPTIONS,
    sink: { type: 'string' },
    retention: { type: 'string', default: '7d' },
    disabled: { type: 'boolean', default: false },
  });
  const cfg = loadConfig();
  const common = parseCommonJobArgs(args, cfg);
  const sink = args.sink;
  if (sink !== 'cassandra' && sink !== 'dynamodb') throw new UsageError(`--sink: '${String(sink)}' must be cassandra or dynamodb`);
  const retentionMs = parseDuration('retention', args.retention!);
  const { env } = common;
  const logger = createLogger(`writer-${sink}`, cfg.logLevel);
  const kafka = createKafka(cfg, { clientId: `switchyard-writer-${sink}-${env}` });
  const store =
    sink === 'cassandra'
      ? createMetricStore('cassandra', { env, retentionMs, logger, cassandraClient: createCassandraClient(cfg) })
      : createMetricStore('dynamodb', { env, retentionMs, logger, dynamoClient: createDynamoClient(cfg) });
  const metrics = createPipelineMetrics(`writer-${sink}`);
  const enabled = !args.disabled;
  const job = createWriter({ kafka, env, store, logger, metrics, enabled: () => enabled, sessionTimeoutMs: common.sessionTimeoutMs });
  return serveJob({ kafka, common, label: `${sink} writer`, groupId: writerGroup(env, sink), topic: envTopics(env).metrics, metrics, logger, job });
});
