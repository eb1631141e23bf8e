/**
 * `npm run setup -- [--env <env>]`: creates the topics and both stores' schemas for one or every
 * environment (idempotent). Writers also do this at start; this is for operators and demos.
 */
import { createCassandraClient, createDynamoClient, createKafka } from '../../../config/clients.js';
import { loadConfig } from '../../../config/config.js';
import { createMetricStore } from '../../kernel/stores/create-metric-store.js';
import { ensureTopics } from '../../kernel/topics.js';
import { ensureControlTopics } from '../../../control/index.js';
import { SINKS } from '../../../contract/index.js';
import { parseCommandLine, parseDuration, parseEnv, parseWhole, runMain } from '../../../kit/cli.js';

const USAGE = `usage: npm run setup -- [--env <env>] [--partitions <n>] [--retention <duration>]
  --env <name>            one environment (default: every one in SWITCHYARD_ENVS)
  --partitions <n>        partitions of the observations and metrics topics (default 6)
  --retention <duration>  default TTL of the Cassandra table (default 7d)`;

runMain(USAGE, async (argv) => {
  const a = parseCommandLine(argv, { env: { type: 'string' }, partitions: { type: 'string', default: '6' }, retention: { type: 'string', default: '7d' } });
  const cfg = loadConfig();
  const envs = a.env ? [parseEnv(a.env, cfg.environments)] : cfg.environments;
  const partitions = parseWhole('partitions', a.partitions!, 1, 1000);
  const retentionMs = parseDuration('retention', a.retention!);
  const kafka = createKafka(cfg, { clientId: 'switchyard-setup' });
  const admin = kafka.admin();
  await admin.connect();
  const cassandraClient = createCassandraClient(cfg);
  const dynamoClient = createDynamoClient(cfg);
  try {
    // The control channel's topics once, for every environment.
    const control = await ensureControlTopics(admin);
    if (control.created.length > 0) console.log(`control topics: created ${control.created.join(', ')}`);
    for (const env of envs) {
      const created = await ensureTopics(admin, env, partitions);
      console.log(`${env}: topics ${created.length > 0 ? `created ${created.join(', ')}` : 'already there'}`);
      for (const kind of SINKS) {
        const store = createMetricStore(kind, { env, retentionMs, cassandraClient, dynamoClient, closeClient: false });
        const warnings = await store.ensureSchema();
        console.log(`${env}: ${kind} schema ready${warnings.length > 0 ? ` (warning: ${warnings.join('; ')})` : ''}`);
        await store.close();
      }
    }
  } finally {
    await admin.disconnect();
    await cassandraClient.shutdown();
    dynamoClient.destroy();
  }
});
