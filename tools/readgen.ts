/**
 * `npm run readgen -- --env <env> --url http://127.0.0.1:8080`: dashboard-like read traffic
 * against a query service, with a progress line and a summary of latencies and errors.
 */
import { loadConfig } from '../config/config.js';
import { runReadTraffic } from './generator/read-traffic.js';
import { DEFAULT_METRICS } from './generator/workload.js';
import { parseCommandLine, parseDuration, parseEnv, parseWhole, runMain, UsageError } from '../kit/cli.js';

const USAGE = `usage: npm run readgen -- --env <env> --url <query service URL> [options]
  --env <name>          environment (one of SWITCHYARD_ENVS)
  --url <url>           query service base URL (default http://127.0.0.1:8080)
  --apps <n>            apps to pick from (default 50, as the load generator)
  --metrics <a,b>       metric names (default ${DEFAULT_METRICS.join(',')})
  --rate <n>            queries per second (default 50)
  --duration <d>        how long (default 60s)
  --concurrency <n>     most requests in flight (default 16)
  --seed <n>            random seed (default 1)`;

runMain(USAGE, async (argv) => {
  const a = parseCommandLine(argv, {
    env: { type: 'string' },
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    apps: { type: 'string', default: '50' },
    metrics: { type: 'string', default: DEFAULT_METRICS.join(',') },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string', default: '60s' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
  });
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'tools' });
  const env = parseEnv(a.env, cfg.environments);
  try {
    new URL(a.url!);
  } catch {
    throw new UsageError(`--url: '${a.url}' is not a URL`);
  }
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  const summary = await runReadTraffic({
    baseUrl: a.url!.replace(/\/$/, ''),
    env,
    apps: parseWhole('apps', a.apps!, 1, 1_000_000),
    metrics: a
      .metrics!.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    ratePerSec: parseWhole('rate', a.rate!, 1, 1_000_000),
    durationMs: parseDuration('duration', a.duration!),
    concurrency: parseWhole('concurrency', a.concurrency!, 1, 10_000),
    seed: parseWhole('seed', a.seed!, 0, 2 ** 31 - 1),
    shouldStop: () => stop,
    onProgress: (s) => console.error(`readgen: ${s.queries} queries, ${s.errors} errors, p99 ${s.p99Ms.toFixed(1)} ms, served ${JSON.stringify(s.servedBy)}`),
  });
  console.log(JSON.stringify({ env, ...summary, queriesPerSec: Math.round(summary.queries / Math.max(summary.seconds, 0.001)) }));
});
