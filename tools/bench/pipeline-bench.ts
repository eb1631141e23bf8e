/**
 * `npm run bench:pipeline`: the data plane's throughput and delay on the real local stack.
 *
 *   - inprocess_ceiling_observations_per_s: decode + validate + one-minute windowing of encoded
 *     observation batches in memory (no Kafka): what the aggregator's own code can do on one core;
 *   - aggregator_observations_per_s: ONE aggregator process draining a pre-produced backlog (5
 *     million observations by default, 6 partitions, 500 apps, 4 metrics, log-normal values), from
 *     the first observation it counted to the last (its own /metrics counters, sampled every
 *     100 ms: the process's start-up and group join are not in it); all_windows_published_ms: from
 *     the last observation until its last window was published (the idle close of the newest
 *     minutes); aggregator_rss_mb at the end of the drain;
 *   - client_ceiling_observations_per_s: on the same topic, with the same consumer settings and
 *     the same Kafka client, a loop that only fetches and decodes (no windows, no producing);
 *     aggregator_vs_ceiling = aggregator / client ceiling;
 *   - cassandra_points_per_s, dynamodb_points_per_s: one writer process per store draining a
 *     pre-filled metrics topic (300 000 points by default) into a fresh table (its own counters);
 *   - e2e_delay_p50_ms, e2e_delay_p99_ms: at a steady offered load (50 000 observations/s by
 *     default) stamped with the current time, from a minute's close (when the aggregator's
 *     watermark passed it and it published the point: the point's timestamp on the metrics topic)
 *     until the point is readable in both stores (10 probe series, polled every 100 ms).
 *
 * Each part creates its own environment and deletes it afterwards. Last line: one JSON object.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import fs from 'node:fs';
import path from 'node:path';
import { createCassandraClient, createDynamoClient, createKafka } from '../../config/clients.js';
import { loadConfig, type SwitchyardConfig } from '../../config/config.js';
import { PartitionWindows } from '../../pipeline/jobs/aggregator/partition-windows.js';
import { SINKS, MINUTE_MS } from '../../contract/index.js';
import { parseCommandLine, parseWhole, runMain } from '../../kit/cli.js';
import { decodeObservations, encodeObservationBatch } from '../../pipeline/kernel/codec/observation-codec.js';
import { decodeMetricPoint, encodeMetricPoint } from '../../pipeline/kernel/codec/metric-point-codec.js';
import { sendObservations } from '../generator/observation-sender.js';
import { appId, generateWorkload } from '../generator/workload.js';
import type { MetricPoint } from '../../pipeline/kernel/model/metric-point.js';
import type { Observation } from '../../pipeline/kernel/model/observation.js';
import { createMetricStore } from '../../pipeline/kernel/stores/create-metric-store.js';
import { ensureTopics, envTopics } from '../../pipeline/kernel/topics.js';
import { runLiveLoad } from '../../test/support/migration-rig.js';
import { coresUsed, describeCores, findPids, snapshot, STACK_PROCESSES, type CpuSnapshot } from './cpu-usage.js';
import { aggregatorProcess, dropEnv, PipelineProcess, writerProcess } from '../../test/support/pipeline.js';
import { AGGREGATOR_CONSUMER } from '../../pipeline/jobs/aggregator/aggregator.js';
import { jobConsumer } from '../../pipeline/jobs/job-consumer.js';

const USAGE = `usage: npm run bench:pipeline -- [options]
  --observations <n>   backlog the aggregator drains (default 5000000)
  --points <n>         backlog each writer drains (default 300000)
  --rate <n>           offered load of the delay measurement, observations/s (default 50000)
  --minutes <n>        closed minutes the delay is measured over (default 2)
  --apps <n>           apps reporting (default 500)
  --only <parts>       comma-separated subset of: inprocess,aggregator,writers,delay (default all)
  --cpu-prof <dir>     write CPU profiles of the aggregator and of each writer to <dir>/<process>/
                       (node's --cpu-prof, one file per thread: the main thread's is the largest;
                       read one with npm run bench:profile -- <file>)
Needs the local stack (npm run stack -- up). Last line: one JSON object of the figures.`;

const METRICS = ['router.service_ms', 'router.connect_ms', 'router.queue_ms', 'dyno.load_ms'];
const t0 = Date.now();
const progress = (msg: string): void => console.error(`[bench:pipeline ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const newEnv = (prefix: string): string => `${prefix}${Date.now().toString(36)}`;

/** Where the measured processes write CPU profiles (--cpu-prof), if asked. */
let cpuProfileDir: string | undefined;

/** The process, with node's CPU profiler on when --cpu-prof was given (written when it exits). */
function profiled(p: PipelineProcess): PipelineProcess {
  // One folder per process: node writes one profile per thread (tsx's loader runs in its own), named by pid and thread.
  if (cpuProfileDir) p.nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${path.join(cpuProfileDir, p.name)}`];
  return p;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Sums a Prometheus counter or gauge over the series whose labels contain every `match`. */
function metricValue(text: string, name: string, match: string[] = []): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (match.every((x) => (m[2] ?? '').includes(x))) sum += Number(m[3]);
  }
  return sum;
}

/** The /metrics URL a started job logged. */
async function metricsUrl(p: PipelineProcess): Promise<string> {
  await p.waitForLog(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
  return /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(p.log())![1]!;
}

/**
 * Samples a job's counters every 100 ms until `done(text)`; returns the steady-state rate of
 * their sum: from the first sample where it moved to the first where it reached `total`.
 */
async function drainRate(
  url: string,
  counters: string[],
  labels: string[],
  total: number,
  done: (text: string) => boolean,
  timeoutMs: number,
  what: string,
  cpu?: ReadonlyMap<string, number[]>,
): Promise<{ perSec: number; lastAt: number; doneAt: number; text: string; cores: Record<string, number> }> {
  const deadline = Date.now() + timeoutMs;
  // CPU of the watched processes over the same steady state as the rate (first to last record).
  let cpuFirst: CpuSnapshot | undefined;
  let cpuLast: CpuSnapshot | undefined;
  let first: { at: number; n: number } | undefined;
  let lastAt: number | undefined;
  let lastReport = Date.now();
  for (;;) {
    const text = await (await fetch(url)).text();
    const at = performance.now();
    const n = counters.reduce((sum, c) => sum + metricValue(text, c, labels), 0);
    if (first === undefined && n > 0) {
      first = { at, n };
      if (cpu) cpuFirst = snapshot(cpu);
    }
    if (lastAt === undefined && n >= total) {
      lastAt = at;
      if (cpu) cpuLast = snapshot(cpu);
    }
    if (lastAt !== undefined && done(text)) {
      if (!first || lastAt === first.at) throw new Error(`${what}: drained between two samples; use a larger backlog`);
      const cores = cpuFirst && cpuLast ? coresUsed(cpuFirst, cpuLast) : {};
      return { perSec: (total - first.n) / ((lastAt - first.at) / 1000), lastAt, doneAt: at, text, cores };
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${n} of ${total} after ${timeoutMs / 1000} s`);
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      progress(`${what}: ${n} of ${total}`);
    }
    await sleep(100);
  }
}

/** Encoded batches like the sender's: one message per app per flush of 50 000 observations. */
function encodeLikeSender(observations: Observation[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < observations.length; i += 50_000) {
    const byApp = new Map<string, Observation[]>();
    for (const o of observations.slice(i, i + 50_000)) {
      let list = byApp.get(o.app);
      if (!list) byApp.set(o.app, (list = []));
      list.push(o);
    }
    for (const list of byApp.values()) out.push(encodeObservationBatch(list));
  }
  return out;
}

function benchInProcess(apps: number): number {
  const now = Date.now();
  const observations = [...generateWorkload({ seed: 1, apps, metrics: METRICS, count: 1_000_000, startTime: now - 30 * MINUTE_MS, spanMs: 20 * MINUTE_MS })];
  const messages = encodeLikeSender(observations);
  // Six partitions' worth of state, as the aggregator holds them; messages dealt round-robin.
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const windows = Array.from({ length: 6 }, () => new PartitionWindows({ allowedLatenessMs: 60_000 }));
    const t = performance.now();
    let n = 0;
    let points = 0;
    messages.forEach((value, i) => {
      const d = decodeObservations(value, { now });
      if (!d.ok) throw new Error(d.reason);
      n += d.observations.length;
      points += windows[i % 6]!.addMessage(BigInt(i), d.observations).closed.length;
    });
    for (const w of windows) points += w.advanceIdle(now).length;
    const rate = n / ((performance.now() - t) / 1000);
    if (points === 0) throw new Error('no window closed');
    best = Math.max(best, rate);
  }
  return Math.round(best);
}

/** Creates the env's topics (6 partitions); returns a connected idempotent producer. */
async function benchTopics(cfg: SwitchyardConfig, env: string): Promise<Producer> {
  const kafka = createKafka(cfg, { clientId: 'bench-pipeline' });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, env, 6);
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

async function benchAggregator(cfg: SwitchyardConfig, env: string, count: number, apps: number): Promise<Record<string, number>> {
  const producer = await benchTopics(cfg, env);
  const now = Date.now();
  const windows = new Set<string>();
  const workload = function* (): Generator<Observation> {
    for (const o of generateWorkload({ seed: 2, apps, metrics: METRICS, count, startTime: now - 30 * MINUTE_MS, spanMs: 20 * MINUTE_MS })) {
      windows.add(`${o.app}|${o.metric}|${Math.floor(o.time / MINUTE_MS)}`);
      yield o;
    }
  };
  progress(`${env}: producing a backlog of ${count} observations (${apps} apps, ${METRICS.length} metrics, 6 partitions)`);
  const sent = await sendObservations(producer, workload(), {
    topic: envTopics(env).observations,
    ratePerSec: 0,
    // Each flush sends one message per app spanning that slice of event time; a slice longer than
    // the lateness (60 s) would make the next app's older observations late. A hundred slices of
    // a 20-minute backlog are 12 s each.
    flushEvery: Math.max(1000, Math.min(50_000, Math.floor(count / 100))),
    onProgress: (p) => {
      if (p.observations % 1_000_000 < 50_000) progress(`produced ${p.observations}`);
    },
  });
  await producer.disconnect();
  const producedPerSec = Math.round(sent.observations / (sent.elapsedMs / 1000));
  progress(`produced ${sent.observations} observations in ${sent.messages} messages at ${producedPerSec}/s; ${windows.size} windows expected`);

  const agg = profiled(aggregatorProcess(`${env}-aggregator`, env, ['--lateness', '60s', '--idle', '2s', '--partitions', '6']));
  agg.start();
  try {
    const url = await metricsUrl(agg);
    const pids = findPids(STACK_PROCESSES, { aggregator: agg.child?.pid, bench: process.pid });
    const r = await drainRate(
      url,
      ['switchyard_observations_total', 'switchyard_late_observations_total'],
      [`env="${env}"`],
      count,
      (text) => metricValue(text, 'switchyard_points_published_total') >= windows.size,
      600_000,
      'aggregator',
      pids,
    );
    const rss = metricValue(r.text, 'process_resident_memory_bytes') / 2 ** 20;
    const late = metricValue(r.text, 'switchyard_late_observations_total');
    progress(
      `aggregator: ${Math.round(r.perSec)} observations/s; every window published ${Math.round(r.doneAt - r.lastAt)} ms after the last observation; RSS ${rss.toFixed(0)} MB; cores: ${describeCores(r.cores)}`,
    );
    await agg.stop();

    // The client's ceiling: same topic, same consumer settings, fetch + decode only.
    const ceiling = await clientCeiling(cfg, env, count);
    progress(`client ceiling (kafkajs fetch + decode): ${ceiling} observations/s`);
    return {
      produced_observations_per_s: producedPerSec,
      aggregator_observations_per_s: Math.round(r.perSec),
      all_windows_published_ms: Math.round(r.doneAt - r.lastAt),
      aggregator_rss_mb: Math.round(rss),
      client_ceiling_observations_per_s: ceiling,
      aggregator_vs_ceiling: Number((r.perSec / ceiling).toFixed(3)),
      windows_published: windows.size,
      late_observations: late,
      ...Object.fromEntries(Object.entries(r.cores).map(([name, c]) => [`aggregator_drain_cpu_cores_${name}`, c])),
    };
  } finally {
    await agg.stop('SIGKILL');
  }
}

/** The aggregator's consumer settings, with a loop that only decodes and counts. */
async function clientCeiling(cfg: SwitchyardConfig, env: string, total: number): Promise<number> {
  const kafka = createKafka(cfg, { clientId: 'bench-ceiling' });
  const consumer = jobConsumer(kafka, `bench-ceiling-${env}`, undefined, AGGREGATOR_CONSUMER);
  await consumer.connect();
  await consumer.subscribe({ topic: envTopics(env).observations, fromBeginning: true });
  let n = 0;
  let first: number | undefined;
  let last = 0;
  const now = Date.now();
  const finished = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset }) => {
        first ??= performance.now();
        for (const message of batch.messages) {
          const d = decodeObservations(message.value, { now, key: message.key?.toString('utf8') ?? null });
          if (d.ok) n += d.observations.length;
          resolveOffset(message.offset);
        }
        last = performance.now();
        if (n >= total) resolve();
      },
    });
  });
  await Promise.race([finished, sleep(600_000)]);
  await consumer.disconnect();
  if (n < total || first === undefined) throw new Error(`client ceiling: decoded ${n} of ${total}`);
  // The first batch's own time is not in the span: count what came after it (a lower bound).
  return Math.round(total / ((last - first) / 1000));
}

/** Points like the aggregator's for `apps` x 2 metrics over as many minutes as it takes. */
function* backlogPoints(count: number, apps: number): Generator<MetricPoint> {
  const start = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 3 * 86_400_000;
  for (let i = 0; i < count; i++) {
    const series = i % (apps * 2);
    const v = 5 + (i % 97);
    yield {
      app: appId(1 + (series >> 1)),
      metric: METRICS[series & 1]!,
      minute: start + Math.floor(i / (apps * 2)) * MINUTE_MS,
      count: 20,
      min: v / 4,
      max: v * 3.5,
      sum: v * 21.25,
      median: v,
      p95: v * 2.5,
      p99: v * 3.25,
    };
  }
}

async function benchWriters(cfg: SwitchyardConfig, env: string, count: number, apps: number): Promise<Record<string, number>> {
  const producer = await benchTopics(cfg, env);
  progress(`${env}: pre-filling the metrics topic with ${count} points`);
  let batch: { key: string; value: Buffer }[] = [];
  for (const p of backlogPoints(count, apps)) {
    batch.push({ key: p.app, value: encodeMetricPoint(p) });
    if (batch.length === 5000) {
      await producer.send({ topic: envTopics(env).metrics, messages: batch, acks: -1 });
      batch = [];
    }
  }
  if (batch.length > 0) await producer.send({ topic: envTopics(env).metrics, messages: batch, acks: -1 });
  await producer.disconnect();
  const out: Record<string, number> = {};
  for (const sink of SINKS) {
    const w = profiled(writerProcess(`${env}-writer-${sink}`, env, sink, ['--mode', 'on', '--partitions', '6']));
    w.start();
    try {
      const url = await metricsUrl(w);
      const pids = findPids(STACK_PROCESSES, { writer: w.child?.pid, bench: process.pid });
      const r = await drainRate(
        url,
        ['switchyard_points_written_total', 'switchyard_points_expired_on_arrival_total'],
        [`sink="${sink}"`],
        count,
        () => true,
        900_000,
        `${sink} writer`,
        pids,
      );
      out[`${sink}_points_per_s`] = Math.round(r.perSec);
      for (const [name, c] of Object.entries(r.cores)) out[`${sink}_writer_cpu_cores_${name}`] = c;
      progress(`${sink} writer: ${Math.round(r.perSec)} points/s; cores: ${describeCores(r.cores)}`);
    } finally {
      // A profile is written when the process exits normally.
      await w.stop(cpuProfileDir ? 'SIGTERM' : 'SIGKILL');
    }
  }
  return out;
}

async function benchDelay(cfg: SwitchyardConfig, env: string, rate: number, minutes: number, apps: number): Promise<Record<string, number>> {
  const lateness = 10_000;
  const kafka = createKafka(cfg, { clientId: 'bench-pipeline' });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, env, 6);
  await admin.disconnect();
  const procs = [
    aggregatorProcess(`${env}-aggregator`, env, ['--lateness', `${lateness}ms`, '--idle', '15s', '--partitions', '6']),
    writerProcess(`${env}-writer-cassandra`, env, 'cassandra', ['--mode', 'on', '--partitions', '6']),
    writerProcess(`${env}-writer-dynamodb`, env, 'dynamodb', ['--mode', 'on', '--partitions', '6']),
  ];
  for (const p of procs) p.start();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const tail = kafka.consumer({ groupId: `bench-delay-${env}`, maxWaitTimeInMs: 100 });
  const cassandraClient = createCassandraClient(cfg);
  const dynamoClient = createDynamoClient(cfg);
  const stores = [
    createMetricStore('cassandra', { env, retentionMs: 7 * 86_400_000, cassandraClient, closeClient: false }),
    createMetricStore('dynamodb', { env, retentionMs: 7 * 86_400_000, dynamoClient, closeClient: false }),
  ];
  let stop = false;
  try {
    await Promise.all(procs.map((p) => p.waitForLog(/running/)));
    // A minute closes when the aggregator's watermark passes it, and it publishes the minute's
    // points at that moment: the close time of a probe is its point's timestamp on the metrics topic.
    const probes = Array.from({ length: 10 }, (_, i) => appId(1 + Math.floor((i * apps) / 10)));
    const closedAt = new Map<string, number>();
    await tail.connect();
    await tail.subscribe({ topic: envTopics(env).metrics, fromBeginning: true });
    await tail.run({
      eachMessage: async ({ message }) => {
        const d = decodeMetricPoint(message.value);
        if (d.ok && d.point.metric === 'router.service_ms' && probes.includes(d.point.app))
          closedAt.set(`${d.point.app}|${d.point.minute}`, Number(message.timestamp));
      },
    });
    await producer.connect();
    const load = runLiveLoad(producer, env, { apps, count: Math.max(1, Math.round(rate / 5)), ratePerSec: rate, seed: 5, shouldStop: () => stop });
    load.catch(() => undefined);
    const firstMinute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS + MINUTE_MS; // the first whole minute of load
    progress(
      `${env}: ${rate} observations/s stamped now; timing ${minutes} minute closes from ${new Date(firstMinute).toISOString()} (lateness ${lateness / 1000} s)`,
    );
    const delays: number[] = [];
    for (let k = 0; k < minutes; k++) {
      const minute = firstMinute + k * MINUTE_MS;
      await sleep(Math.max(0, minute + MINUTE_MS + lateness - 3000 - Date.now()));
      const pending = new Set(probes.flatMap((app) => stores.map((_, si) => `${app}|${si}`)));
      const readyAt = new Map<string, number>();
      const deadline = Date.now() + 120_000;
      while (pending.size > 0 && Date.now() < deadline) {
        await Promise.all(
          [...pending].map(async (key) => {
            const [app, si] = key.split('|') as [string, string];
            const pts = await stores[Number(si)]!.readSeries({ app, metric: 'router.service_ms', fromMinute: minute, toMinute: minute });
            if (pts.length > 0) {
              pending.delete(key);
              readyAt.set(key, Date.now());
            }
          }),
        );
        await sleep(100);
      }
      if (pending.size > 0) throw new Error(`minute ${new Date(minute).toISOString()}: ${pending.size} probes not readable within 120 s`);
      await sleep(1000); // the tail may see the point's message after the store read did
      for (const app of probes) {
        const closed = closedAt.get(`${app}|${minute}`);
        if (closed === undefined)
          throw new Error(`minute ${new Date(minute).toISOString()} of ${app}: readable, but its point was not seen on the metrics topic`);
        delays.push(Math.max(...stores.map((_, si) => readyAt.get(`${app}|${si}`)!)) - closed);
      }
      progress(`minute ${k + 1}/${minutes}: readable in both stores p50 ${percentile(delays, 50)} ms after its close`);
    }
    stop = true;
    await load;
    return {
      e2e_delay_p50_ms: percentile(delays, 50),
      e2e_delay_p99_ms: percentile(delays, 99),
      e2e_offered_observations_per_s: rate,
      e2e_lateness_ms: lateness,
    };
  } finally {
    stop = true;
    await producer.disconnect().catch(() => undefined);
    await tail.disconnect().catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    for (const s of stores) await s.close().catch(() => undefined);
    await cassandraClient.shutdown().catch(() => undefined);
    dynamoClient.destroy();
  }
}

runMain(USAGE, async (argv) => {
  const a = parseCommandLine(argv, {
    observations: { type: 'string', default: '5000000' },
    points: { type: 'string', default: '300000' },
    rate: { type: 'string', default: '50000' },
    minutes: { type: 'string', default: '2' },
    apps: { type: 'string', default: '500' },
    only: { type: 'string', default: 'inprocess,aggregator,writers,delay' },
    'cpu-prof': { type: 'string' },
  });
  if (a['cpu-prof']) {
    cpuProfileDir = path.resolve(a['cpu-prof']);
    fs.mkdirSync(cpuProfileDir, { recursive: true });
  }
  const observations = parseWhole('observations', a.observations!, 1000, 1_000_000_000);
  const points = parseWhole('points', a.points!, 1000, 100_000_000);
  const rate = parseWhole('rate', a.rate!, 10, 10_000_000);
  const minutes = parseWhole('minutes', a.minutes!, 1, 60);
  const apps = parseWhole('apps', a.apps!, 10, 100_000);
  const parts = new Set(a.only!.split(',').map((s) => s.trim()));
  for (const p of parts) if (!['inprocess', 'aggregator', 'writers', 'delay'].includes(p)) throw new Error(`--only: unknown part '${p}'\n\n${USAGE}`);

  const figures: Record<string, number> = {};
  if (parts.has('inprocess')) {
    progress('in-process ceiling: decode + validate + windowing of 1 000 000 observations, best of 3');
    figures.inprocess_ceiling_observations_per_s = benchInProcess(apps);
    progress(`in-process ceiling: ${figures.inprocess_ceiling_observations_per_s} observations/s`);
  }
  const run = async (prefix: string, fn: (cfg: SwitchyardConfig, env: string) => Promise<Record<string, number>>): Promise<void> => {
    const env = newEnv(prefix);
    const cfg = loadConfig({ ...process.env, SWITCHYARD_ENVS: env });
    try {
      Object.assign(figures, await fn(cfg, env));
    } finally {
      await dropEnv(cfg, env);
    }
  };
  if (parts.has('aggregator')) await run('bpa', (cfg, env) => benchAggregator(cfg, env, observations, apps));
  if (figures.aggregator_observations_per_s && figures.inprocess_ceiling_observations_per_s)
    figures.aggregator_vs_inprocess = Number((figures.aggregator_observations_per_s / figures.inprocess_ceiling_observations_per_s).toFixed(3));
  if (parts.has('writers')) await run('bpw', (cfg, env) => benchWriters(cfg, env, points, apps));
  if (parts.has('delay')) await run('bpe', (cfg, env) => benchDelay(cfg, env, rate, minutes, apps));
  console.log(JSON.stringify(figures));
  process.exit(0);
});
