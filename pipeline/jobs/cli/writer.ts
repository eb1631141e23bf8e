/**
 * `npm run writer -- --env <env> --sink cassandra|dynamodb`: runs one writer of one environment.
 */
import { createCassandraClient, createDynamoClient, createKafka } from '../../../config/clients.js';
import { loadConfig } from '../../../config/config.js';
import { cohortOf, writerRole } from '../../../contract/index.js';
import { createLogger } from '../../../kit/logger.js';
import { createPipelineMetrics } from '../../kernel/observability/pipeline-metrics.js';
import { createMetricStore } from '../../kernel/stores/create-metric-store.js';
import { initialControlState } from '../../../control/index.js';
import { createControlStateClient } from '../../../control/subscriber.js';
import { envTopics, writerGroup } from '../../kernel/topics.js';
import { createWriter } from '../writer/writer.js';
import { parseCommandLine, parseDuration, runMain, UsageError } from '../../../kit/cli.js';
import { COMMON_JOB_OPTIONS, COMMON_JOB_USAGE, parseCommonJobArgs, serveJob } from './job-options.js';

const USAGE = `usage: npm run writer -- --env <env> --sink <cassandra|dynamodb> [options]
  --env <name>            environment (one of SWITCHYARD_ENVS)
  --sink <store>          cassandra (the old store) or dynamodb (the new store)
  --retention <duration>  how long points are kept (TTL from the point's minute; default 7d)
  --mode <follow|on|off>  follow the environment's control state (default: old-store writer on
                          oldWriter, new-store writer on newWriter, fault switch included), or
                          always write (on) / consume and commit without writing (off)
${COMMON_JOB_USAGE}`;

runMain(USAGE, async (argv) => {
  const args = parseCommandLine(argv, {
    ...COMMON_JOB_OPTIONS,
    sink: { type: 'string' },
    retention: { type: 'string', default: '7d' },
    mode: { type: 'string', default: 'follow' },
  });
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'writer' });
  const common = parseCommonJobArgs(args, cfg);
  const sink = args.sink;
  if (sink !== 'cassandra' && sink !== 'dynamodb') throw new UsageError(`--sink: '${String(sink)}' must be cassandra or dynamodb`);
  const retentionMs = parseDuration('retention', args.retention!);
  const { env } = common;
  const role = writerRole(sink);
  const logger = createLogger(role, cfg.logLevel);
  const kafka = createKafka(cfg, { clientId: `switchyard-writer-${sink}-${env}` });
  const store =
    sink === 'cassandra'
      ? createMetricStore('cassandra', { env, retentionMs, logger, cassandraClient: createCassandraClient(cfg) })
      : createMetricStore('dynamodb', { env, retentionMs, logger, dynamoClient: createDynamoClient(cfg) });
  const metrics = createPipelineMetrics(role);
  const mode = args.mode;
  if (mode !== 'follow' && mode !== 'on' && mode !== 'off') throw new UsageError(`--mode: '${String(mode)}' must be follow, on or off`);
  const control = createControlStateClient({ kafka, env, role, initial: initialControlState(env, retentionMs), logger });
  const enabled = (): boolean => (mode === 'follow' ? (sink === 'cassandra' ? control.current().oldWriter : control.current().newWriter) : mode === 'on');
  const corruptionRate = (): number => (sink === 'dynamodb' && mode === 'follow' ? control.current().faults.newWriterCorruptionRate : 0);
  // A fault switch limited to a cohort corrupts only that cohort's apps (contract/cohorts.ts).
  const faultScope = (): ((app: string) => boolean) | null => {
    const s = control.current();
    const only = s.faults.cohort;
    return only === undefined ? null : (app) => cohortOf(app, s.cohorts ?? [])?.name === only;
  };
  const job = createWriter({ kafka, env, store, logger, metrics, enabled, corruptionRate, faultScope, sessionTimeoutMs: common.sessionTimeoutMs });
  const served = await serveJob({
    kafka,
    common,
    label: `${sink} writer`,
    groupId: writerGroup(env, sink),
    topic: envTopics(env).metrics,
    metrics,
    logger,
    job,
    // Know the current control state before the first write, so a restart never writes (or skips) against it.
    beforeStart: async () => {
      await control.start();
      logger.info(
        { env, sink, action: 'control-state', mode, version: control.appliedVersion(), writing: enabled() },
        `writer applies control state version ${control.appliedVersion()}`,
      );
    },
  });
  return {
    async stop() {
      await served.stop();
      await control.stop();
    },
  };
});
