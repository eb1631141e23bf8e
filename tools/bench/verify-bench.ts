/**
 * `npm run bench:verify`: how fast a full verify compares the two stores, on the real local stack
 * (Temporal, Kafka, Cassandra, DynamoDB-compatible server) with the real control worker(s):
 *
 *   - verify_points_per_s: minutes compared per second (one point of each store per minute), over
 *     the comparing window of a run: from the first verify chunk's start to the last one's end, in
 *     the workflow's history (planning and recording the run left out);
 *     verify_points_per_s_<w>_workers: the best run with w control workers (--workers 1,2), each run
 *     with each slice count of --slices;
 *   - verify_cpu_cores_<w>_workers_<process>: the cores each process used over that window (the
 *     stores, the worker(s), Kafka, Temporal), so a figure says what limited it; worker_rss_mb: the
 *     largest resident memory of a worker during the runs; worker_cpu_us_per_point: the workers'
 *     CPU per minute compared, and one_worker_core_points_per_s what one worker with its own core
 *     would compare (stores not the limit); cpu_us_per_point_<process> the same for each process,
 *     dynalite_core_points_per_s / cassandra_core_points_per_s what one core of that store allows
 *     and machine_bound_points_per_s what this machine's cores allow with every process on them
 *     (the stores' CPU includes whatever else uses them meanwhile: other work makes these low);
 *   - verify_eta_hours_at_seed_scale: how long a verify of the seed's scale would take at the
 *     speed measured here: --seed-rate points written a second (default 30 000) over
 *     --seed-retention (7 d); verify_eta_hours_at_default_limit at the verify's default rate limit
 *     (20 000 points read a second); workers_needed_within_ttl_wait: workers of one core each (and
 *     stores that keep up) to compare the seed's points within the TTL wait (the retention);
 *   - load_avg_1m_start / _end: the machine's load around the runs (the stores share its cores).
 *
 * It creates its own environment (a control state in science mode with a coverage horizon, points
 * written to both stores, the migration workflow that keeps the audit history), runs the verifies
 * through the control worker(s), and deletes the environment afterwards. Progress on stderr.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { WorkflowHandle } from '@temporalio/client';
import { createCassandraClient, createDynamoClient, createKafka } from '../../config/clients.js';
import { loadConfig } from '../../config/config.js';
import { demoPolicy } from '../../config/migration-policy.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  VERIFY_WORKFLOW_TYPE,
  verifyWorkflowId,
  type VerifyInput,
  type VerifyReport,
  MINUTE_MS,
} from '../../contract/index.js';
import { verifyProgressQuery } from '../../contract/verify-messages.js';
import { parseCommandLine, parseDuration, parseWhole, runMain, UsageError } from '../../kit/cli.js';
import { ensureControlTopics, initialControlState } from '../../control/index.js';
import { publishControlState } from '../../control/publisher.js';
import type { MetricPoint } from '../../pipeline/kernel/model/metric-point.js';
import { createMetricStore } from '../../pipeline/kernel/stores/create-metric-store.js';
import { startControlWorker, temporalClient } from '../../test/support/migration-rig.js';
import { dropEnv, type PipelineProcess } from '../../test/support/pipeline.js';
import { coresUsed, describeCores, findPids, snapshot, STACK_PROCESSES, type CpuSnapshot } from './cpu-usage.js';

const USAGE = `usage: npm run bench:verify -- [options]
  --series <n>            series in both stores (default 100)
  --minutes <n>           minutes of points per series (default 1440: a day)
  --workers <n[,n...]>    control worker counts to measure (default 1,2)
  --slices <n[,n...]>     slice counts to measure with each worker count, one verify run each
                          (default 2,4)
  --rate <n>              the verify's rate limit, points read a second (both stores; default
                          1000000: unthrottled, to measure what the stack can do)
  --seed-rate <n>         points written a second at the seed's scale (default 30000)
  --seed-retention <dur>  retention at the seed's scale, and so its TTL wait (default 7d)
Needs the local stack (npm run stack -- up). Last line: one JSON object of the figures.`;

const t0 = Date.now();
const progress = (msg: string): void => console.error(`[bench:verify ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const DEFAULT_LIMIT = 20_000;

interface Options {
  series: number;
  minutes: number;
  slices: number[];
  workers: number[];
  rate: number;
  seedRate: number;
  seedRetentionMs: number;
}

function counts(flag: string, raw: string, max: number): number[] {
  const out = raw.split(',').map((s) => parseWhole(flag, s, 1, max));
  if (out.length === 0) throw new UsageError(`--${flag}: at least one count`);
  return [...new Set(out)].sort((a, b) => a - b);
}

function options(argv: string[]): Options {
  const v = parseCommandLine(argv, {
    series: { type: 'string', default: '100' },
    minutes: { type: 'string', default: '1440' },
    slices: { type: 'string', default: '2,4' },
    workers: { type: 'string', default: '1,2' },
    rate: { type: 'string', default: '1000000' },
    'seed-rate': { type: 'string', default: '30000' },
    'seed-retention': { type: 'string', default: '7d' },
  });
  return {
    series: parseWhole('series', v.series, 1, 1_000_000),
    minutes: parseWhole('minutes', v.minutes, 1, 7 * 1440),
    slices: counts('slices', v.slices, 64),
    workers: counts('workers', v.workers, 8),
    rate: parseWhole('rate', v.rate, 1, 100_000_000),
    seedRate: parseWhole('seed-rate', v['seed-rate'], 1, 100_000_000),
    seedRetentionMs: parseDuration('seed-retention', v['seed-retention']),
  };
}

/** When a run compared: from the first verify chunk's start to the last one's end (its workflow history). */
async function comparingWindow(handle: WorkflowHandle): Promise<{ from: number; to: number }> {
  const history = await handle.fetchHistory();
  const slices = new Set<string>();
  let from = Infinity;
  let to = -Infinity;
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifySlice') slices.add(id);
    const started = e.activityTaskStartedEventAttributes;
    if (started && slices.has(String(started.scheduledEventId))) from = Math.min(from, tsToMs(e.eventTime));
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed && slices.has(String(completed.scheduledEventId))) to = Math.max(to, tsToMs(e.eventTime));
  }
  if (!(to > from)) throw new Error(`no verifySlice activity ran in ${handle.workflowId}`);
  return { from, to };
}

/** Resident memory of a process, MB (0 when it is gone). */
function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** The CPU snapshots around a window: the last taken at or before its start, the first at or after its end. */
function around(snaps: CpuSnapshot[], from: number, to: number): [CpuSnapshot, CpuSnapshot] {
  const before = snaps.filter((s) => s.at <= from).at(-1) ?? snaps[0]!;
  const after = snaps.find((s) => s.at >= to) ?? snaps.at(-1)!;
  return [before, after];
}

interface Measured {
  workers: number;
  slices: number;
  compared: number;
  read: number;
  runS: number;
  cores: Record<string, number>;
}

runMain(USAGE, async (argv) => {
  if (argv.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const o = options(argv);
  const env = `bv${randomUUID().slice(0, 6)}`;
  const cfg = loadConfig({ ...process.env, SWITCHYARD_ENVS: env });
  const taskQueue = `switchyard-bench-${env}`;
  const kafka = createKafka(cfg, { clientId: 'bench-verify' });
  const dynamo = createDynamoClient(cfg);
  const cassandra = createCassandraClient(cfg);
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const workers: PipelineProcess[] = [];
  let closeTemporal: (() => Promise<void>) | undefined;
  const figures: Record<string, number> = {};
  try {
    await Promise.all([admin.connect(), producer.connect(), cassandra.connect()]);
    await ensureControlTopics(admin);
    const now = Date.now();
    const thisMinute = now - (now % MINUTE_MS);
    const first = thisMinute - (o.minutes + 3) * MINUTE_MS;
    const retentionMs = Math.max(2 * 86_400_000, (o.minutes + 60) * MINUTE_MS);
    await publishControlState(producer, {
      ...initialControlState(env, retentionMs),
      version: 1,
      newWriter: true,
      sciencePercent: 100,
      coverageHorizon: first,
      updatedAt: new Date().toISOString(),
      updatedBy: 'bench:verify',
      reason: 'verify benchmark',
    });
    const stores = (['cassandra', 'dynamodb'] as const).map((kind) =>
      createMetricStore(kind, { env, retentionMs, cassandraClient: cassandra, dynamoClient: dynamo, closeClient: false }),
    );
    const total = o.series * o.minutes;
    progress(`${env}: writing ${total} points (${o.series} series x ${o.minutes} minutes) to both stores`);
    for (const s of stores) await s.ensureSchema();
    let written = 0;
    let lastLine = Date.now();
    const inFlight = new Set<Promise<void>>();
    const flush = (batch: MetricPoint[]): void => {
      const p = Promise.all(stores.map((s) => s.writePoints(batch))).then((results) => {
        for (const r of results) if (r.rejected.length > 0) throw new Error(`${r.rejected.length} points rejected: ${r.rejected[0]!.reason}`);
        written += batch.length;
        if (Date.now() - lastLine > 5000) {
          progress(`  ${written} of ${total} points written`);
          lastLine = Date.now();
        }
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    };
    let batch: MetricPoint[] = [];
    for (let i = 0; i < o.series; i++) {
      const app = `app-${String(i >> 2).padStart(5, '0')}`;
      const metric = `metric.${i & 3}`;
      for (let m = 0; m < o.minutes; m++) {
        const base = 10 + (i % 17) + (m % 7);
        batch.push({
          app,
          metric,
          minute: first + m * MINUTE_MS,
          count: 6,
          min: base / 2,
          max: base * 3,
          sum: base * 6,
          median: base,
          p95: base * 2,
          p99: base * 2.5,
        });
        if (batch.length >= 500) {
          flush(batch);
          batch = [];
          if (inFlight.size >= 4) await Promise.race(inFlight);
        }
      }
    }
    if (batch.length > 0) flush(batch);
    await Promise.all(inFlight);

    const t = await temporalClient(cfg);
    closeTemporal = t.close;
    const client = t.client;
    workers.push(await startControlWorker(env, taskQueue));
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      workflowId: migrationWorkflowId(env),
      taskQueue,
      args: [{ env, policy: { ...demoPolicy([env]), cohorts: [] } }],
    });
    figures.load_avg_1m_start = Number(os.loadavg()[0]!.toFixed(2));
    progress(
      `verifying with ${o.workers.join(', ')} worker(s) x ${o.slices.join(', ')} slice(s), rate limit ${o.rate} points/s (load ${os.loadavg()[0]!.toFixed(1)})`,
    );

    const runs: Measured[] = [];
    let rssMax = 0;
    for (const w of o.workers) {
      while (workers.length < w) workers.push(await startControlWorker(env, taskQueue));
      const pids = findPids(STACK_PROCESSES, Object.fromEntries(workers.slice(0, w).map((p, i) => [`worker${i}`, p.child?.pid])));
      for (const slices of o.slices) {
        const requestId = randomUUID();
        const input: VerifyInput = {
          env,
          identity: 'bench',
          reason: `verify benchmark, ${w} worker(s), ${slices} slice(s)`,
          requestId,
          slices,
          pointsPerSecond: o.rate,
          range: { fromMinute: first, toMinute: first + (o.minutes - 1) * MINUTE_MS },
        };
        const handle = await client.workflow.start(VERIFY_WORKFLOW_TYPE, { workflowId: verifyWorkflowId(env, requestId), taskQueue, args: [input] });
        const snaps: CpuSnapshot[] = [snapshot(pids)];
        let report: VerifyReport | undefined;
        let lastReport = 0;
        for (;;) {
          await sleep(250);
          snaps.push(snapshot(pids));
          for (const p of workers.slice(0, w)) rssMax = Math.max(rssMax, rssMb(p.child?.pid));
          const done = await handle.describe().then((d) => d.status.name !== 'RUNNING');
          if (done || Date.now() - lastReport > 2000) {
            report = await handle.query(verifyProgressQuery);
            lastReport = Date.now();
            progress(
              `  ${w} worker(s), ${slices} slice(s): ${report.status} ${Math.round(report.progress * 100)} %, ${report.counts.compared} minutes compared`,
            );
          }
          if (done) break;
        }
        snaps.push(snapshot(pids));
        report = (await handle.result()) as VerifyReport;
        if (report.counts.compared !== total || report.counts.matched !== total)
          throw new Error(
            `the verify compared ${report.counts.compared} and matched ${report.counts.matched} of ${total} points: ${JSON.stringify(report.counts)}`,
          );
        const win = await comparingWindow(handle);
        const seconds = (win.to - win.from) / 1000;
        const cores = coresUsed(...around(snaps, win.from, win.to));
        const workerCores = Object.entries(cores)
          .filter(([name]) => name.startsWith('worker'))
          .reduce((n, [, c]) => n + c, 0);
        const shown: Record<string, number> = Object.fromEntries(Object.entries(cores).filter(([name]) => !name.startsWith('worker')));
        shown.worker = Number(workerCores.toFixed(2));
        const m: Measured = {
          workers: w,
          slices,
          compared: report.counts.compared / seconds,
          read: (report.counts.oldPoints + report.counts.newPoints) / seconds,
          runS: (report.finishedAt! - report.startedAt) / 1000,
          cores: shown,
        };
        runs.push(m);
        figures[`verify_points_per_s_${w}w_${slices}s`] = Math.round(m.compared);
        figures[`verify_run_s_${w}w_${slices}s`] = Number(m.runS.toFixed(1));
        progress(
          `  ${w} worker(s), ${slices} slice(s): ${Math.round(m.compared)} points compared/s over ${seconds.toFixed(1)} s of comparing ` +
            `(${m.runS.toFixed(1)} s the whole run); cores: ${describeCores(shown)}`,
        );
      }
    }
    figures.load_avg_1m_end = Number(os.loadavg()[0]!.toFixed(2));
    const best = (w: number): Measured => runs.filter((r) => r.workers === w).reduce((a, b) => (b.compared > a.compared ? b : a));
    const top = runs.reduce((a, b) => (b.compared > a.compared ? b : a));
    const perWorker: Record<string, number> = {};
    for (const w of o.workers) {
      const b = best(w);
      perWorker[`verify_points_per_s_${w}_workers`] = Math.round(b.compared);
      perWorker[`verify_slices_${w}_workers`] = b.slices;
      for (const [name, c] of Object.entries(b.cores)) perWorker[`verify_cpu_cores_${w}_workers_${name}`] = c;
    }
    // CPU per minute compared of each process (in the fewest-workers' best run): what one worker with
    // a core of its own would compare, the stores keeping up; what one core of each store allows
    // (dynalite is one Node process: one core at most); what the machine's cores allow all together.
    const base = best(o.workers[0]!);
    const usPerPoint = Object.fromEntries(Object.entries(base.cores).map(([name, c]) => [name, (c * 1e6) / base.compared]));
    const workerUsPerPoint = usPerPoint.worker ?? 0;
    const oneCore = workerUsPerPoint > 0 ? 1e6 / workerUsPerPoint : 0;
    const bound = (us: number | undefined): number => (us !== undefined && us > 0 ? Math.round(1e6 / us) : 0);
    const allUs = Object.values(usPerPoint).reduce((a, b) => a + b, 0);
    const costs: Record<string, number> = {};
    for (const [name, us] of Object.entries(usPerPoint)) costs[`cpu_us_per_point_${name}`] = Number(us.toFixed(1));
    costs.dynalite_core_points_per_s = bound(usPerPoint.dynalite);
    costs.cassandra_core_points_per_s = bound(usPerPoint.cassandra);
    costs.machine_cores = os.cpus().length;
    costs.machine_bound_points_per_s = allUs > 0 ? Math.round((os.cpus().length * 1e6) / allUs) : 0;
    const seedPoints = o.seedRate * (o.seedRetentionMs / 1000);
    const etaHours = seedPoints / top.compared / 3600;
    const retentionHours = o.seedRetentionMs / 3_600_000;
    const workersNeeded = oneCore > 0 ? Math.ceil(seedPoints / (oneCore * (o.seedRetentionMs / 1000))) : 0;
    progress(
      `at ${o.seedRate} points/s over ${retentionHours} h (${seedPoints.toExponential(2)} points per store): ${etaHours.toFixed(0)} h at ${Math.round(top.compared)}/s ` +
        `(${top.workers} worker(s), ${top.slices} slices)${etaHours > retentionHours ? ': LONGER than the retention' : ''}; one worker core compares ` +
        `${Math.round(oneCore)}/s (${workerUsPerPoint.toFixed(1)} us a point): ${workersNeeded} worker(s) within the TTL wait`,
    );
    console.log(
      JSON.stringify({
        verify_points_per_s: Math.round(top.compared),
        verify_points_read_per_s: Math.round(top.read),
        workers: top.workers,
        slices: top.slices,
        ...perWorker,
        worker_cpu_us_per_point: Number(workerUsPerPoint.toFixed(1)),
        one_worker_core_points_per_s: Math.round(oneCore),
        ...costs,
        worker_rss_mb: rssMax,
        rate_limit_points_per_s: o.rate,
        series: o.series,
        minutes_per_series: o.minutes,
        points_per_run: total,
        ...figures,
        seed_points_per_s: o.seedRate,
        seed_retention_hours: retentionHours,
        seed_points: seedPoints,
        verify_eta_hours_at_seed_scale: Number(etaHours.toFixed(1)),
        verify_eta_hours_at_default_limit: Number(((2 * seedPoints) / DEFAULT_LIMIT / 3600).toFixed(1)),
        workers_needed_within_ttl_wait: workersNeeded,
      }),
    );
  } finally {
    progress(`cleaning up ${env}`);
    await client0Terminate(env, closeTemporal, cfg).catch(() => undefined);
    await Promise.allSettled(workers.map((w) => w.stop('SIGKILL')));
    await Promise.allSettled([producer.disconnect(), admin.disconnect(), cassandra.shutdown()]);
    dynamo.destroy();
    await dropEnv(cfg, env).catch((err: unknown) => progress(`could not delete ${env}: ${String(err)}`));
  }
  process.exit(0);
});

/** Ends the bench environment's migration workflow (its audit history goes with the environment). */
async function client0Terminate(env: string, close: (() => Promise<void>) | undefined, cfg: ReturnType<typeof loadConfig>): Promise<void> {
  if (close === undefined) return;
  const { client, close: closeOwn } = await temporalClient(cfg);
  try {
    await client.workflow
      .getHandle(migrationWorkflowId(env))
      .terminate('benchmark over')
      .catch(() => undefined);
  } finally {
    await closeOwn();
    await close();
  }
}
