/**
 * `npm run query -- [--port 8080]`: the MetaaS read API with science mode and cutover routing,
 * for every environment (or those named with --envs). Several instances may run at once.
 */
import os from 'node:os';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { createCassandraClient, createDynamoClient, createKafka } from '../../../config/clients.js';
import { loadConfig } from '../../../config/config.js';
import { ensureControlTopics, initialControlState } from '../../../control/index.js';
import { createControlStateClient, type ControlStateClient } from '../../../control/subscriber.js';
import { ROLES } from '../../../contract/index.js';
import { createLogger } from '../../../kit/logger.js';
import { CandidateRunner } from '../query/candidate-runner.js';
import { startQueryService } from '../query/query-service.js';
import { DEFAULT_SETTLE_MS, ReadRouter, type EnvStores } from '../query/read-router.js';
import { KafkaWriterProgress } from '../../kernel/observability/writer-progress.js';
import { ensureScienceTables } from '../../kernel/science/control-tables.js';
import { ScienceRecorder } from '../query/science-recorder.js';
import { createMetricStore } from '../../kernel/stores/create-metric-store.js';
import { aggregatorGroup, envTopics, writerGroup } from '../../kernel/topics.js';
import { parseCommandLine, parseDuration, parseEnv, parseWhole, runMain, UsageError } from '../../../kit/cli.js';

const USAGE = `usage: npm run query -- [options]
  --port <port>            HTTP port of the read API (default 8080; 0 = any free port)
  --envs <a,b>             environments to serve (default: every one in SWITCHYARD_ENVS)
  --candidate-timeout <d>  how long a shadow read may take before it counts as a timeout (default 250ms)
  --max-candidates <n>     most shadow reads in flight; over it samples are skipped (default 64)
  --retention <duration>   retention until the control state says otherwise (default 7d)
  --flush-interval <d>     how often science stats are written (default 2s; within 250 ms of a
                           mismatch or a new-store failure)
  --settle <duration>      how long a comparison with a minute only one store has is held waiting
                           for proof (the other store's writer's committed offsets) that the writer
                           passed the read (default ${DEFAULT_SETTLE_MS / 1000}s); without that proof the minute
                           counts as not judged, never as missing or extra`;

runMain(USAGE, async (argv) => {
  const a = parseCommandLine(argv, {
    port: { type: 'string', default: '8080' },
    envs: { type: 'string' },
    'candidate-timeout': { type: 'string', default: '250ms' },
    'max-candidates': { type: 'string', default: '64' },
    retention: { type: 'string', default: '7d' },
    'flush-interval': { type: 'string', default: '2s' },
    settle: { type: 'string', default: `${DEFAULT_SETTLE_MS}ms` },
  });
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'query' });
  // Optional: with SWITCHYARD_QUERY_TOKEN set, the read API wants it as a bearer token (real deployments).
  const token = process.env.SWITCHYARD_QUERY_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < 16) throw new UsageError('SWITCHYARD_QUERY_TOKEN must be at least 16 characters');
  const envs = a.envs ? a.envs.split(',').map((e) => parseEnv(e.trim(), cfg.environments)) : cfg.environments;
  const port = parseWhole('port', a.port!, 0, 65535);
  const retentionMs = parseDuration('retention', a.retention!);
  const candidateTimeoutMs = parseDuration('candidate-timeout', a['candidate-timeout']!);
  const logger = createLogger(ROLES.query, cfg.logLevel);
  const instanceId = `query-${os.hostname()}-${process.pid}`;
  const kafka = createKafka(cfg, { clientId: 'switchyard-query' });
  const admin = kafka.admin();
  await admin.connect();
  await ensureControlTopics(admin);
  // Kept connected: the writers' committed offsets prove when a one-sided minute can be judged,
  // and (with the aggregator's checkpoints) how far cutover may serve from the new store.
  const progress = new KafkaWriterProgress({
    admin,
    topic: (env) => envTopics(env).metrics,
    groups: (env) => ({ old: writerGroup(env, 'cassandra'), new: writerGroup(env, 'dynamodb') }),
    aggregator: (env) => ({ group: aggregatorGroup(env), topic: envTopics(env).observations }),
    logger,
  });
  const cassandraClient = createCassandraClient(cfg);
  const dynamo = createDynamoClient(cfg);
  await ensureScienceTables(dynamo);
  const controls = new Map<string, ControlStateClient>();
  const stores = new Map<string, EnvStores>();
  for (const env of envs) {
    controls.set(
      env,
      createControlStateClient({ kafka, env, role: ROLES.query, instanceId: `${instanceId}-${env}`, initial: initialControlState(env, retentionMs), logger }),
    );
    const shared = { env, retentionMs, logger, closeClient: false };
    stores.set(env, {
      old: createMetricStore('cassandra', { ...shared, cassandraClient }),
      new: createMetricStore('dynamodb', { ...shared, dynamoClient: dynamo }),
    });
  }
  await Promise.all([...controls.values()].map((c) => c.start()));
  const recorder = new ScienceRecorder({ dynamo, instanceId, logger, flushIntervalMs: parseDuration('flush-interval', a['flush-interval']!) });
  recorder.start();
  const router = new ReadRouter({
    stores: (env) => stores.get(env)!,
    control: (env) => controls.get(env)!.current(),
    recorder,
    candidates: new CandidateRunner(parseWhole('max-candidates', a['max-candidates']!, 1, 100_000), candidateTimeoutMs),
    settleMs: parseDuration('settle', a.settle!),
    progress,
    logger,
  });
  const registry = new Registry();
  registry.setDefaultLabels({ component: 'query' });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'switchyard_query_one_sided_rechecks',
    help: 'Minutes only one store had when read: waiting for proof, judged once the other writer was proven past the read, not judged (no proof within --settle: the writer was down or behind), dropped (re-read failed or stopping), over_cap (too many held)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const st = router.recheckStats;
      this.set({ state: 'waiting' }, router.rechecksWaiting);
      if (!st) return;
      this.set({ state: 'judged_on_proof' }, st.judgedOnProof);
      this.set({ state: 'unjudged' }, st.unjudged);
      this.set({ state: 'dropped' }, st.dropped);
      this.set({ state: 'over_cap' }, st.overCap);
    },
  });
  // Two figures per environment and store, in seconds, absent until proven (ms: null).
  const perStoreSeconds = (name: string, help: string, ms: (env: string, store: 'old' | 'new') => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames: ['env', 'store'],
      registers: [registry],
      collect() {
        this.reset();
        for (const env of progress.watchedEnvs())
          for (const store of ['old', 'new'] as const) {
            const v = ms(env, store);
            if (v !== null) this.set({ env, store }, v / 1000);
          }
      },
    });
  };
  // How far each store's writer is behind, as this instance proves it (for the environments it
  // reads with a fence or compares in): the age of the newest end-offset sample the writer's
  // commits reached. A writer that keeps up shows about one poll interval (0.5-1 s).
  perStoreSeconds(
    'switchyard_query_writer_behind_seconds',
    'How far behind each store\u2019s writer is proven to be at most, seconds (store: old = Cassandra, new = DynamoDB); absent until proven',
    (env, store) => progress.behindMs(env, store),
  );
  perStoreSeconds(
    'switchyard_query_fresh_edge_seconds',
    'The newest minute each store is proven to hold completely (epoch seconds); cutover serves the new store up to it and the old store past it',
    (env, store) => progress.freshEdge(env, store),
  );
  const server = await startQueryService(
    {
      router,
      environments: envs,
      control: (env) => controls.get(env)!.current(),
      registry,
      logger,
      ...(token ? { token } : {}),
      health: () => ({ ok: true, detail: { instanceId, versions: Object.fromEntries([...controls].map(([env, c]) => [env, c.appliedVersion()])) } }),
    },
    port,
  );
  logger.info({ action: 'listening', port: server.port, envs }, `query service on http://127.0.0.1:${server.port} for ${envs.join(', ')}`);
  return {
    async stop() {
      await server.close();
      await router.close();
      await progress.close();
      await recorder.stop();
      await Promise.all([...controls.values()].map((c) => c.stop()));
      await admin.disconnect();
      await cassandraClient.shutdown();
      dynamo.destroy();
    },
  };
});
