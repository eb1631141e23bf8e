/**
 * `npm start`: brings up the Switchyard system on this machine.
 *
 * Today that is the local stack of real services (Temporal, Kafka, Cassandra, DynamoDB-compatible);
 * the pipeline, the worker and the console join it as they are built (see README).
 */
import { ConfigError, loadConfig } from '../config/config.js';
import { formatStatus } from '../infra/stack/format.js';
import { StackError, status, up } from '../infra/stack/stack.js';

async function main(): Promise<number> {
  const cfg = loadConfig();
  const t0 = Date.now();
  const progress = (m: string): void => console.log(`[start ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${m}`);
  progress('bringing up the local stack (the first run downloads the servers: a few minutes)');
  await up(cfg, [], progress);
  console.log(`\n${formatStatus(await status(cfg, []))}\n`);
  console.log(`Temporal UI:   http://${cfg.temporal.address.host}:${cfg.temporal.uiPort}`);
  console.log(`Logs:          npm run stack -- logs <service>   (files in ${cfg.stack.logDir})`);
  console.log('Stop:          npm run stack -- down');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof StackError) console.error(`\nstart failed:\n\n${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
