/**
 * `npm run loadgen -- --env <env> ...`: sends a reproducible MetaaS-like workload to
 * `<env>.observations` at a target rate, with a progress line and a final summary.
 */
import { createKafka } from '../config/clients.js';
import { loadConfig } from '../config/config.js';
import { DEFAULT_METRICS, generateWorkload } from './generator/workload.js';
import { sendObservations } from './generator/observation-sender.js';
import { ensureTopics, envTopics } from '../pipeline/kernel/topics.js';
import { parseCommandLine, parseDuration, parseEnv, parseFraction, parseWhole, runMain, UsageError } from '../kit/cli.js';

const USAGE = `usage: npm run loadgen -- --env <env> [options]
  --env <name>              environment (one of SWITCHYARD_ENVS)
  --apps <n>                number of apps (default 50)
  --metrics <a,b>           metric names (default ${DEFAULT_METRICS.join(',')})
  --rate <n>                observations per second (default 1000; 0 = as fast as possible, needs --count)
  --duration <d> | --count <n>   how long to run, or how many observations (default --duration 60s)
  --seed <n>                random seed; the same seed and options give the same observations (default 1)
  --start <time>            event time of the first observation: ISO-8601, or 10m-ago (default now)
  --speed <x>               event-time seconds per wall-clock second (default 1: real time)
  --late-fraction <f>       share of observations sent late (default 0)
  --max-lateness <d>        how late a late observation may be (default 30s)
  --jitter <d>              out-of-order jitter of event times (default 0)
  --partitions <n>          partitions for topics created on first use (default 6)`;

runMain(USAGE, async (argv) => {
  const a = parseCommandLine(argv, {
    env: { type: 'string' },
    apps: { type: 'string', default: '50' },
    metrics: { type: 'string', default: DEFAULT_METRICS.join(',') },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string' },
    count: { type: 'string' },
    seed: { type: 'string', default: '1' },
    start: { type: 'string' },
    speed: { type: 'string', default: '1' },
    'late-fraction': { type: 'string', default: '0' },
    'max-lateness': { type: 'string', default: '30s' },
    jitter: { type: 'string', default: '0' },
    partitions: { type: 'string', default: '6' },
  });
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'tools' });
  const env = parseEnv(a.env, cfg.environments);
  const apps = parseWhole('apps', a.apps!, 1, 1_000_000);
  const rate = parseWhole('rate', a.rate!, 0, 10_000_000);
  const seed = parseWhole('seed', a.seed!, 0, 2 ** 31 - 1);
  const speed = Number(a.speed);
  if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`--speed: '${a.speed}' must be a positive number`);
  if (a.duration !== undefined && a.count !== undefined) throw new UsageError('give --duration or --count, not both');
  let count: number;
  let wallMs: number;
  if (a.count !== undefined) {
    count = parseWhole('count', a.count, 1, 1e10);
    wallMs = rate > 0 ? (count / rate) * 1000 : 0;
  } else {
    if (rate === 0) throw new UsageError('--rate 0 (as fast as possible) needs --count');
    wallMs = parseDuration('duration', a.duration ?? '60s');
    count = Math.max(1, Math.round((rate * wallMs) / 1000));
  }
  const now = Date.now();
  let startTime = now;
  if (a.start !== undefined) {
    const ago = /^(.+)-ago$/.exec(a.start);
    startTime = ago ? now - parseDuration('start', ago[1]!) : Date.parse(a.start);
    if (Number.isNaN(startTime)) throw new UsageError(`--start: '${a.start}' is not ISO-8601 or <duration>-ago (like 10m-ago)`);
  }
  const metrics = a
    .metrics!.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const workload = generateWorkload({
    seed,
    apps,
    metrics,
    count,
    startTime,
    spanMs: Math.round(wallMs * speed),
    lateFraction: parseFraction('late-fraction', a['late-fraction']!),
    maxLatenessMs: parseDuration('max-lateness', a['max-lateness']!),
    jitterMs: parseDuration('jitter', a.jitter!),
  });
  const kafka = createKafka(cfg, { clientId: `switchyard-loadgen-${env}` });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, env, parseWhole('partitions', a.partitions!, 1, 1000));
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));
  console.error(`loadgen: ${count} observations for ${apps} apps to ${envTopics(env).observations} at ${rate || 'max'}/s (seed ${seed})`);
  const totals = await sendObservations(producer, workload, {
    topic: envTopics(env).observations,
    ratePerSec: rate,
    shouldStop: () => stop,
    onProgress: (p) =>
      console.error(`loadgen: ${p.observations}/${count} observations, ${p.messages} messages, ${((p.observations / p.elapsedMs) * 1000).toFixed(0)}/s`),
  });
  await producer.disconnect();
  const seconds = totals.elapsedMs / 1000;
  // Last line: one JSON object with the run's figures.
  console.log(
    JSON.stringify({
      env,
      seed,
      observations: totals.observations,
      messages: totals.messages,
      bytes: totals.bytes,
      seconds,
      observationsPerSec: Math.round(totals.observations / Math.max(seconds, 0.001)),
    }),
  );
});
