/**
 * `npm run bench:query`: one query-service process under HTTP load, on data preloaded into both
 * stores, on the real local stack. Two kinds of load, in one run:
 *
 *   - saturated (closed loop, autocannon, --connections at once): qps_saturated, the capacity with
 *     science off (every read from Cassandra alone), and qps_science_on_saturated;
 *     served_p50_ms_science_off_saturated / _p99_ and _science_on_ (science at 100 %: every read
 *     also shadow-read from the new store and compared, off the served path);
 *     science_p99_overhead_ratio_saturated = on / off;
 *   - a fixed offered rate (open loop: queries sent on a fixed schedule, whatever the answers'
 *     latency, with up to --open-concurrency in flight; tools/generator/read-traffic.ts), at each
 *     --levels percent of the science-off capacity just measured (default 25 and 50): served
 *     p50 / p99 with science off (served_p99_ms_science_off_at_25pct), science at 100 %
 *     (_science_on_), and with the new store serving alone (_new_store_, the old store gone, as
 *     after decommission): the seed's headline, the same reads' latency from each store, is
 *     served_p99_ms_old_store_at_<n>pct (= science off) against served_p99_ms_new_store_at_<n>pct;
 *     science_p99_overhead_ratio_at_<n>pct = science on / off;
 *   - rounds alternate (off / on, and off / on / new store at a fixed rate), so a drift of the
 *     machine hits all; the cores each process used in each kind of round (cpu_cores_*) say what
 *     limited a figure;
 *   - control_ack_p50_ms / _p99_ms: control-state changes published while the service is under
 *     load, each until every live data-plane instance of the environment (the loaded service,
 *     two more query services, an aggregator and a writer per store: 6) has applied it.
 *
 * The query mix is a dashboard's: most queries ask for the last hour of one app and metric, some
 * for the last 15 minutes or 6 hours. Creates its own environment and deletes it afterwards.
 * Last line: one JSON object of the figures.
 */
import autocannon from 'autocannon';
import os from 'node:os';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import path from 'node:path';
import { createCassandraClient, createDynamoClient, createKafka } from '../../config/clients.js';
import { loadConfig } from '../../config/config.js';
import { parseCommandLine, parseDuration, parseWhole, runMain } from '../../kit/cli.js';
import { initialControlState, type ControlState } from '../../control/index.js';
import { publishAndAwait } from '../../control/publisher.js';
import { runReadTraffic } from '../generator/read-traffic.js';
import { appId } from '../generator/workload.js';
import { MINUTE_MS } from '../../contract/index.js';
import type { MetricPoint } from '../../pipeline/kernel/model/metric-point.js';
import { createMetricStore } from '../../pipeline/kernel/stores/create-metric-store.js';
import type { MetricStore } from '../../pipeline/kernel/stores/metric-store.js';
import { dropEnv, launchPipeline, queryPort, queryProcess, type PipelineProcess } from '../../test/support/pipeline.js';
import { coresUsed, describeCores, findPids, snapshot, STACK_PROCESSES } from './cpu-usage.js';

const USAGE = `usage: npm run bench:query -- [options]
  --apps <n>           apps preloaded (default 200)
  --hours <n>          hours of minutes preloaded per app and metric (default 3)
  --connections <n>    concurrent HTTP connections of the load (default 16)
  --round <duration>   length of each measured round (default 10s)
  --rounds <n>         pairs of rounds, science off then on (default 3); at a fixed rate, as many
                       rounds of each kind (science off, on, new store alone)
  --levels <p[,p...]>  fixed offered rates, in percent of the science-off capacity measured by the
                       saturated rounds (default 25,50)
  --open-concurrency <n>  most queries in flight at a fixed rate (default 256)
  --acks <n>           control-state changes timed under load (default 30)
  --cpu-prof <dir>     write CPU profiles of the loaded query service to <dir> (node's --cpu-prof;
                       read the largest with npm run bench:profile -- <file>)
Needs the local stack (npm run stack -- up). Last line: one JSON object of the figures.`;

const METRICS = ['router.service_ms', 'router.connect_ms'];
const RETENTION_MS = 7 * 86_400_000;
const t0 = Date.now();
const progress = (msg: string): void => console.error(`[bench:query ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Minute points like the aggregator's: each from 5-60 log-normal latencies around the series' own median. */
function* seriesPoints(apps: number, fromMinute: number, minutes: number): Generator<MetricPoint> {
  const rng = xoroshiro128plus(7);
  const u = (): number => uniformFloat64(rng);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  for (let a = 1; a <= apps; a++) {
    for (const metric of METRICS) {
      const mu = Math.log(5) + u() * Math.log(50);
      for (let i = 0; i < minutes; i++) {
        const n = 5 + Math.floor(u() * 56);
        const values = Array.from({ length: n }, () => Math.round(Math.exp(mu + 0.6 * normal()) * 1000) / 1000).sort((x, y) => x - y);
        const rank = (p: number): number => values[Math.max(0, Math.ceil(p * n) - 1)]!;
        yield {
          app: appId(a),
          metric,
          minute: fromMinute + i * MINUTE_MS,
          count: n,
          min: values[0]!,
          max: values[n - 1]!,
          sum: values.reduce((s, v) => s + v, 0),
          median: rank(0.5),
          p95: rank(0.95),
          p99: rank(0.99),
        };
      }
    }
  }
}

async function preload(stores: MetricStore[], points: Iterable<MetricPoint>, total: number): Promise<void> {
  let done = 0;
  let batch: MetricPoint[] = [];
  let last = Date.now();
  const inFlight = new Set<Promise<void>>();
  const flush = (b: MetricPoint[]): void => {
    const p = Promise.all(stores.map((s) => s.writePoints(b))).then((results) => {
      for (const r of results) if (r.rejected.length > 0) throw new Error(`preload: ${r.rejected.length} points rejected: ${r.rejected[0]!.reason}`);
      done += b.length;
      if (Date.now() - last > 5000) {
        last = Date.now();
        progress(`preloaded ${done} of ${total} points into both stores`);
      }
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
  };
  for (const point of points) {
    batch.push(point);
    if (batch.length === 200) {
      flush(batch);
      batch = [];
      if (inFlight.size >= 8) await Promise.race(inFlight);
    }
  }
  if (batch.length > 0) flush(batch);
  await Promise.all(inFlight);
}

interface Round {
  science: boolean;
  /** Cores each process used during the round. */
  cores: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

/** Mean cores per process over rounds, as flat fields: <prefix>_<process>. */
function meanCores(prefix: string, rounds: readonly Round[]): Record<string, number> {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.cores)))];
  return Object.fromEntries(names.map((n) => [`${prefix}_${n}`, Number(mean(rounds.map((r) => r.cores[n] ?? 0)).toFixed(2))]));
}

runMain(USAGE, async (argv) => {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const a = parseCommandLine(argv, {
    apps: { type: 'string', default: '200' },
    hours: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    round: { type: 'string', default: '10s' },
    rounds: { type: 'string', default: '3' },
    levels: { type: 'string', default: '25,50' },
    'open-concurrency': { type: 'string', default: '256' },
    acks: { type: 'string', default: '30' },
    'cpu-prof': { type: 'string' },
  });
  const cpuProfileDir = a['cpu-prof'] ? path.resolve(a['cpu-prof']) : undefined;
  const apps = parseWhole('apps', a.apps!, 1, 100_000);
  const hours = parseWhole('hours', a.hours!, 1, 168);
  const connections = parseWhole('connections', a.connections!, 1, 10_000);
  const roundMs = parseDuration('round', a.round!);
  const rounds = parseWhole('rounds', a.rounds!, 1, 100);
  const acks = parseWhole('acks', a.acks!, 1, 10_000);
  const levels = a.levels!.split(',').map((x) => parseWhole('levels', x, 1, 100));
  const openConcurrency = parseWhole('open-concurrency', a['open-concurrency']!, 1, 100_000);

  const env = `bq${Date.now().toString(36)}`;
  const cfg = loadConfig({ ...process.env, SWITCHYARD_ENVS: env });
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'bench-query' });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const cassandraClient = createCassandraClient(cfg);
  const dynamoClient = createDynamoClient(cfg);
  const stores = [
    createMetricStore('cassandra', { env, retentionMs: RETENTION_MS, cassandraClient, closeClient: false }),
    createMetricStore('dynamodb', { env, retentionMs: RETENTION_MS, dynamoClient, closeClient: false }),
  ];
  try {
    await producer.connect();
    for (const s of stores) await s.ensureSchema();
    const minutes = hours * 60;
    const fromMinute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - minutes * MINUTE_MS;
    const total = apps * METRICS.length * minutes;
    progress(`${env}: preloading ${total} points (${apps} apps x ${METRICS.length} metrics x ${minutes} minutes) into Cassandra and DynamoDB`);
    const p0 = Date.now();
    await preload(stores, seriesPoints(apps, fromMinute, minutes), total);
    progress(`preloaded ${total} points in ${((Date.now() - p0) / 1000).toFixed(0)} s`);

    // The instances that listen to the control state: the loaded service and five more.
    const pipeline = await launchPipeline(cfg, env, { aggregators: 1, writersPerSink: 1, writerMode: 'follow' });
    procs.push(...pipeline.all);
    const queries = Array.from({ length: 3 }, (_, i) => {
      const q = queryProcess(`${env}-query-${i}`, env, ['--retention', '7d']);
      if (i === 0 && cpuProfileDir) q.nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`];
      return q.start();
    });
    procs.push(...queries);
    const [url] = await Promise.all(queries.map(async (q) => `http://127.0.0.1:${await queryPort(q)}`));

    // Dual write with the horizon at the first preloaded minute: every query is covered, so science compares it.
    let state: ControlState = {
      ...initialControlState(env, RETENTION_MS),
      newWriter: true,
      coverageHorizon: fromMinute,
      updatedBy: 'bench',
      reason: 'bench: dual write',
      updatedAt: new Date().toISOString(),
    };
    const publish = async (patch: Partial<ControlState>, reason: string): Promise<number> => {
      state = { ...state, ...patch, version: state.version + 1, updatedAt: new Date().toISOString(), reason };
      const r = await publishAndAwait({ kafka, producer }, state, { timeoutMs: 30_000 });
      return r.elapsedMs;
    };
    await publish({}, 'bench: dual write');

    const rng = xoroshiro128plus(11);
    const u = (): number => uniformFloat64(rng);
    const path = (): string => {
      const x = u();
      const range = x < 0.7 ? 3_600_000 : x < 0.9 ? 15 * MINUTE_MS : 6 * 3_600_000;
      const to = Date.now();
      return `/v1/envs/${env}/apps/${appId(1 + Math.floor(u() * apps))}/metrics/${METRICS[u() < 0.7 ? 0 : 1]}?from=${to - range}&to=${to}&stats=median,p99`;
    };
    const load = (durationMs: number): { stop: () => void; done: Promise<autocannon.Result> } => {
      let inst: autocannon.Instance | undefined;
      const done = new Promise<autocannon.Result>((resolve, reject) => {
        inst = autocannon(
          { url: url!, connections, duration: durationMs / 1000, requests: [{ setupRequest: (req) => ({ ...req, path: path() }) }] },
          (err, res) => (err ? reject(err) : resolve(res)),
        );
      });
      return { stop: () => inst?.stop(), done };
    };
    const toRound = (science: boolean, r: autocannon.Result, cores: Record<string, number>): Round => ({
      science,
      cores,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      requests: r.requests.total,
      errors: r.errors + r.non2xx,
    });
    // Who used the two cores: the loaded service, the load generator (this process), the stores.
    const pids = findPids(STACK_PROCESSES, { query: queries[0]!.child?.pid, load: process.pid });

    progress(`warming up ${url} for 5 s`);
    await load(5000).done;
    const measured: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const science of [false, true]) {
        await publish({ sciencePercent: science ? 100 : 0 }, `bench: science ${science ? 'on' : 'off'}`);
        const before = snapshot(pids);
        const res = await load(roundMs).done;
        const r = toRound(science, res, coresUsed(before, snapshot(pids)));
        measured.push(r);
        progress(
          `round ${measured.length}/${2 * rounds}: science ${science ? 'on ' : 'off'} ${r.rps.toFixed(0)} queries/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.errors ? `, ${r.errors} errors` : ''}; cores: ${describeCores(r.cores)}`,
        );
      }
    }
    const failed = measured.reduce((n, r) => n + r.errors, 0);
    if (failed > 0) throw new Error(`${failed} queries failed during the measured rounds`);
    const off = measured.filter((r) => !r.science);
    const on = measured.filter((r) => r.science);
    const capacity = mean(off.map((r) => r.rps));

    // At fixed offered rates (open loop), a share of that capacity: science off, on, and the new
    // store serving alone (the old store gone), in alternating rounds.
    const KINDS = {
      science_off: { sciencePercent: 0, oldStoreAvailable: true },
      science_on: { sciencePercent: 100, oldStoreAvailable: true },
      new_store: { sciencePercent: 0, oldStoreAvailable: false },
    } as const;
    const open: Record<string, number> = {};
    for (const level of levels) {
      const rate = Math.max(1, Math.round((capacity * level) / 100));
      const byKind: Record<string, Round[]> = { science_off: [], science_on: [], new_store: [] };
      for (let i = 0; i < rounds; i++) {
        for (const [kind, patch] of Object.entries(KINDS)) {
          await publish(patch, `bench: ${kind} at ${rate} queries/s`);
          const before = snapshot(pids);
          const r = await runReadTraffic({
            baseUrl: url!,
            env,
            apps,
            metrics: METRICS,
            ratePerSec: rate,
            durationMs: roundMs,
            seed: 100 * level + i,
            concurrency: openConcurrency,
            ranges: [
              [3_600_000, 7],
              [15 * MINUTE_MS, 2],
              [6 * 3_600_000, 1],
            ],
          });
          const round: Round = {
            science: kind === 'science_on',
            cores: coresUsed(before, snapshot(pids)),
            rps: r.queries / r.seconds,
            p50: r.p50Ms,
            p99: r.p99Ms,
            requests: r.queries,
            errors: r.errors,
          };
          byKind[kind]!.push(round);
          progress(
            `${level} % (${rate} queries/s offered), ${kind.replace('_', ' ')}: ${round.rps.toFixed(0)} queries/s, p50 ${round.p50.toFixed(2)} ms, ` +
              `p99 ${round.p99.toFixed(2)} ms${round.errors ? `, ${round.errors} errors` : ''}; cores: ${describeCores(round.cores)}`,
          );
          if (round.errors > 0) progress(`  failed: ${JSON.stringify(r.errorsByStatus)} (a query unanswered in 10 s counts as failed, not in the latencies)`);
        }
      }
      const at = `at_${level}pct`;
      open[`offered_qps_${at}`] = rate;
      for (const [kind, rs] of Object.entries(byKind)) {
        open[`qps_${kind}_${at}`] = Math.round(mean(rs.map((r) => r.rps)));
        open[`served_p50_ms_${kind}_${at}`] = Number(mean(rs.map((r) => r.p50)).toFixed(2));
        open[`served_p99_ms_${kind}_${at}`] = Number(mean(rs.map((r) => r.p99)).toFixed(2));
        open[`failed_${kind}_${at}`] = rs.reduce((n, r) => n + r.errors, 0);
      }
      open[`science_p99_overhead_ratio_${at}`] = Number((open[`served_p99_ms_science_on_${at}`]! / open[`served_p99_ms_science_off_${at}`]!).toFixed(3));
      // The seed's headline: the same reads served by each store (the old store's are the science-off rounds').
      open[`served_p50_ms_old_store_${at}`] = open[`served_p50_ms_science_off_${at}`]!;
      open[`served_p99_ms_old_store_${at}`] = open[`served_p99_ms_science_off_${at}`]!;
      for (const [kind, rs] of Object.entries(byKind)) Object.assign(open, meanCores(`cpu_cores_${kind}_${at}`, rs));
    }

    // Control-state changes under load (science off), each until all six instances applied it.
    await publish({ sciencePercent: 0, oldStoreAvailable: true }, 'bench: science off');
    const running = load(3_600_000);
    const ackMs: number[] = [];
    for (let i = 0; i < acks; i++) ackMs.push(await publish({ cutoverPercent: 0 }, `bench: ack ${i + 1}`));
    running.stop();
    await running.done;
    progress(`${acks} control-state changes under load: p50 ${percentile(ackMs, 50)} ms, p99 ${percentile(ackMs, 99)} ms`);

    const offP99 = mean(off.map((r) => r.p99));
    const onP99 = mean(on.map((r) => r.p99));
    console.log(
      JSON.stringify({
        qps_saturated: Math.round(capacity),
        qps_science_on_saturated: Math.round(mean(on.map((r) => r.rps))),
        served_p50_ms_science_off_saturated: Number(mean(off.map((r) => r.p50)).toFixed(2)),
        served_p99_ms_science_off_saturated: Number(offP99.toFixed(2)),
        served_p50_ms_science_on_saturated: Number(mean(on.map((r) => r.p50)).toFixed(2)),
        served_p99_ms_science_on_saturated: Number(onP99.toFixed(2)),
        science_p99_overhead_ratio_saturated: Number((onP99 / offP99).toFixed(3)),
        ...open,
        control_ack_p50_ms: percentile(ackMs, 50),
        control_ack_p99_ms: percentile(ackMs, 99),
        control_changes: ackMs.length,
        data_plane_instances: procs.length,
        connections,
        open_concurrency: openConcurrency,
        preloaded_points: total,
        load_avg_1m: Number(os.loadavg()[0]!.toFixed(2)),
        ...meanCores('cpu_cores_science_off_saturated', off),
        ...meanCores('cpu_cores_science_on_saturated', on),
      }),
    );
  } finally {
    progress(`cleaning up ${env}`);
    // SIGTERM when profiling: node writes the profile as it exits.
    await Promise.all(procs.map((p) => p.stop(cpuProfileDir ? 'SIGTERM' : 'SIGKILL')));
    await producer.disconnect().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    await cassandraClient.shutdown().catch(() => undefined);
    dynamoClient.destroy();
    await dropEnv(cfg, env);
  }
  process.exit(0);
});
