/**
 * `npm run worker`: the control plane's Temporal worker. The one place that builds clients from
 * configuration and hands them to the activities, whose families (one file each in activities/)
 * it composes into one object; the workflows run in Temporal's sandbox.
 */
import { createRequire } from 'node:module';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { MigrationActivities, VerifyActivities } from '../contract/index.js';
import { createMigrationActivities, createVerifyRepairActivities } from '../activities/index.js';
import { connectTemporal, createCassandraClient, createDynamoClient, createKafka } from '../config/clients.js';
import { formatHostPort, loadConfig } from '../config/config.js';
import { integrityKeyFile, loadIntegrityKeys } from '../config/integrity-keys.js';
import { loadNotifierSettings, redactWebhookUrl } from '../config/notifier-settings.js';
import { createNotifier } from '../notify/notifier.js';
import { createGateWatcher, runGateWatcher, stateReader } from './gate-watcher.js';
import { parseCommandLine, runMain, UsageError } from '../kit/cli.js';
import { createLogger } from '../kit/logger.js';
import { createMissingMigrations } from './create-migrations.js';
import { workflowBundle } from './workflow-bundle.js';

const require = createRequire(import.meta.url);
const USAGE = `usage: npm run worker -- [--create-migrations demo|production]   (configuration from environment variables; see README)
  --create-migrations <scale>   create each environment's migration workflow, in planned with the demo or
                                production policy, where none runs (npm start uses demo); a running or
                                completed one is left as it is`;

runMain(USAGE, async (argv) => {
  const a = parseCommandLine(argv, { 'create-migrations': { type: 'string' } });
  const scale = a['create-migrations'];
  if (scale !== undefined && scale !== 'demo' && scale !== 'production') throw new UsageError(`--create-migrations: '${scale}' is not demo or production`);
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'worker' });
  const logger = createLogger('control-worker', cfg.logLevel);
  const kafka = createKafka(cfg, { clientId: 'switchyard-control-worker' });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const dynamo = createDynamoClient(cfg);
  const cassandra = createCassandraClient(cfg);
  await cassandra.connect();
  const clientConnection = await connectTemporal(cfg);
  const temporal = new Client({ connection: clientConnection, namespace: cfg.temporal.namespace });
  const connection = await NativeConnection.connect({
    address: formatHostPort(cfg.temporal.address),
    tls: cfg.temporal.tls ? {} : undefined,
    ...(cfg.temporal.apiKey ? { apiKey: cfg.temporal.apiKey } : {}),
  });
  // Notifications (off without a route): audit entries that need a person, and newly met gates.
  const notify = loadNotifierSettings();
  const notifier = createNotifier({ settings: notify, logger: logger.child({ component: 'notifier' }) });
  // The audit chain's key: made here on first start if the console has not made it yet.
  const keyFile = integrityKeyFile(cfg);
  loadIntegrityKeys(keyFile, { create: true });
  const integrityKeys = () => loadIntegrityKeys(keyFile, { create: true });
  const deps = { kafka, producer, dynamo, cassandra, temporal, logger, notifier, consoleUrl: notify.consoleUrl, integrityKeys };
  const gateWatch =
    notify.routes.length > 0 && notify.gatePollMs > 0
      ? runGateWatcher(
          createGateWatcher({ readState: stateReader(temporal), environments: cfg.environments, notifier, consoleUrl: notify.consoleUrl, logger }),
          notify.gatePollMs,
        )
      : null;
  logger.info(
    { action: 'notifier', routes: notify.routes.map((r) => ({ env: r.env, url: redactWebhookUrl(r.url), format: r.format, events: r.events.length })) },
    notify.routes.length > 0
      ? `notifications go to ${notify.routes.length} webhook route(s)`
      : 'notifications are off (no SWITCHYARD_NOTIFY_URL or SWITCHYARD_NOTIFY_ROUTES)',
  );
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.temporal.taskQueue,
    workflowBundle: await workflowBundle(require.resolve('../workflows/index.ts'), logger),
    // One object: the migration workflow's families and the verify and repair workflows'.
    activities: { ...createMigrationActivities(deps), ...createVerifyRepairActivities(deps) } satisfies MigrationActivities & VerifyActivities,
  });
  logger.info(
    { action: 'worker-start', taskQueue: cfg.temporal.taskQueue, namespace: cfg.temporal.namespace },
    `control worker polling ${cfg.temporal.taskQueue}`,
  );
  const running = worker.run();
  running.catch((err: unknown) => {
    logger.error({ action: 'worker-failed', err: (err as Error).message }, 'worker stopped with an error');
    process.exit(1);
  });
  if (scale) await createMissingMigrations(temporal, cfg, scale, logger);
  return {
    async stop() {
      gateWatch?.stop();
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await clientConnection.close();
      await producer.disconnect();
      await cassandra.shutdown();
      dynamo.destroy();
    },
  };
});
