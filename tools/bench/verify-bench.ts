/**
 * `npm run bench:verify`: how fast a full verify compares the two stores, on the real local stack
 * (Temporal, Kafka, Cassandra, DynamoDB-compatible server) with the real control worker(s):
 *
 *   - verify_points_per_s: minutes compared per second (one point of each store per minute), over
 *     the steady state of a run: from the run's own counters (its progress query), between the
 *     first report past 10 % of the work and the last one before the end;
 *   - verify_points_read_per_s: points read per second, both stores counted (what the rate limit paces);
 *   - verify_eta_hours_at_seed_scale: how long a verify of the seed's scale would take at that
 *     speed: --seed-rate points written a second (default 30 000) over --seed-retention (7 d),
 *     with the same slices and workers; and verify_eta_hours_at_default_limit, at the verify's
 *     default rate limit (20 000 points read a second), whatever the hardware;
 *   - per slice count measured (--slices 1,4): verify_points_per_s_<n>_slices, so the scaling is shown.
 *
 * It creates its own environment (a control state in science mode with a coverage horizon, points
 * written to both stores, the migration workflow that keeps the audit history), runs the verifies
 * through the control worker(s), and deletes the environment afterwards. Progress on stderr.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCassandraClient, createDynamoClient, createKafka } from '../../config/clients.js';
import { loadConfig } from '../../config/config.js';
import { demoPolicy } from '../../config/migration-policy.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  VERIFY_PROGRESS_QUERY,
  VERIFY_WORKFLOW_TYPE,
  verifyWorkflowId,
  type VerifyInput,
  type VerifyReport,
} from '../../contract/index.js';
import { parseCommandLine, parseDuration, parseWhole, runMain, UsageError } from '../../kit/cli.js';
import { publishControlState } from '../../pipeline/clients/control-state-publisher.js';
import { ensureControlTopics } from '../../pipeline/kernel/control/control-topics.js';
import { initialControlState } from '../../pipeline/kernel/control/control-state.js';
import { MINUTE_MS, type MetricPoint } from '../../pipeline/kernel/model/metric-point.js';
import { createMetricStore } from '../../pipeline/kernel/stores/create-metric-store.js';
import { startControlWorker, temporalClient } from '../../test/support/migration-rig.js';
import { dropEnv, type PipelineProcess } from '../../test/support/pipeline.js';

const USAGE = `usage: npm run bench:verify -- [options]
  --series <n>            series in both stores (default 200)
  --minutes <n>           minutes of points per series (default 60)
  --slices <n[,n...]>     slice counts to measure, one verify run each (default 1,4)
  --workers <n>           control worker processes sharing the runs (default 1)
  --rate <n>              the verify's rate limit, points read a second (both stores; default
                          1000000: unthrottled, to measure what the stack can do)
  --seed-rate <n>         points written a second at the seed's scale (default 30000)
  --seed-retention <dur>  retention at the seed's scale (default 7d)
Needs the local stack (npm run stack -- up). Last line: one JSON object of the figures.`;

const t0 = Date.now();
const progress = (msg: string): void => console.error(`[bench:verify ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
const DEFAULT_LIMIT = 20_000;

interface Options {
  series: number;
  minutes: number;
  slices: number[];
  workers: number;
  rate: number;
  seedRate: number;
  seedRetentionMs: number;
}

function options(argv: string[]): Options {
  const v = parseCommandLine(argv, {
    series: { type: 'string', default: '200' },
    minutes: { type: 'string', default: '60' },
    slices: { type: 'string', default: '1,4' },
    workers: { type: 'string', default: '1' },
    rate: { type: 'string', default: '1000000' },
    'seed-rate': { type: 'string', default: '30000' },
    'seed-retention': { type: 'string', default: '7d' },
  });
  const slices = v.slices.split(',').map((s) => parseWhole('slices', s, 1, 64));
  if (slices.length === 0) throw new UsageError('--slices: at least one slice count');
  return {
    series: parseWhole('series', v.series, 1, 1_000_000),
    minutes: parseWhole('minutes', v.minutes, 1, 7 * 1440),
    slices,
    workers: parseWhole('workers', v.workers, 1, 16),
    rate: parseWhole('rate', v.rate, 1, 100_000_000),
    seedRate: parseWhole('seed-rate', v['seed-rate'], 1, 100_000_000),
    seedRetentionMs: parseDuration('seed-retention', v['seed-retention']),
  };
}

/** The steady-state rate of a counter over a run's progress samples (10 % to the last sample before the end). */
function steadyRate(samples: { at: number; progress: number; value: number }[]): number {
  const steady = samples.filter((s) => s.progress >= 0.1 && s.progress < 1);
  const [a, b] = steady.length >= 2 ? [steady[0]!, steady.at(-1)!] : [samples[0]!, samples.at(-1)!];
  return b.at > a.at ? ((b.value - a.value) * 1000) / (b.at - a.at) : 0;
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
    const batch: MetricPoint[] = [];
    const flush = async () => {
      await Promise.all(stores.map((s) => s.writePoints(batch)));
      written += batch.length;
      batch.length = 0;
    };
    let lastLine = Date.now();
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
        if (batch.length >= 500) await flush();
      }
      if (Date.now() - lastLine > 5000) {
        progress(`  ${written} of ${total} points written`);
        lastLine = Date.now();
      }
    }
    if (batch.length > 0) await flush();

    for (let w = 0; w < o.workers; w++) workers.push(await startControlWorker(env, taskQueue));
    const t = await temporalClient(cfg);
    closeTemporal = t.close;
    const client = t.client;
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      workflowId: migrationWorkflowId(env),
      taskQueue,
      args: [{ env, policy: { ...demoPolicy([env]), cohorts: [] } }],
    });
    progress(`${o.workers} control worker(s) polling; verifying with ${o.slices.join(', ')} slice(s), rate limit ${o.rate} points/s`);

    let best = { compared: 0, read: 0, slices: o.slices[0]! };
    for (const slices of o.slices) {
      const requestId = randomUUID();
      const input: VerifyInput = {
        env,
        identity: 'bench',
        reason: `verify benchmark, ${slices} slice(s)`,
        requestId,
        slices,
        pointsPerSecond: o.rate,
        range: { fromMinute: first, toMinute: first + (o.minutes - 1) * MINUTE_MS },
      };
      const handle = await client.workflow.start(VERIFY_WORKFLOW_TYPE, { workflowId: verifyWorkflowId(env, requestId), taskQueue, args: [input] });
      const samples: { at: number; progress: number; compared: number }[] = [];
      let report: VerifyReport | undefined;
      for (;;) {
        report = await handle.query<VerifyReport>(VERIFY_PROGRESS_QUERY);
        if (report.status === 'failed') throw new Error(`verify failed: ${report.error}`);
        if (report.status !== 'planning')
          samples.push({
            at: report.updatedAt,
            progress: report.progress,
            compared: report.counts.compared,
          });
        progress(
          `  ${slices} slice(s): ${report.status} ${Math.round(report.progress * 100)} %, ${report.counts.compared} minutes compared, ${report.pointsPerSecond}/s`,
        );
        if (report.finishedAt !== null) break;
        await sleep(1000);
      }
      report = (await handle.result()) as VerifyReport;
      if (report.counts.compared !== total || report.counts.matched !== total)
        throw new Error(
          `the verify compared ${report.counts.compared} and matched ${report.counts.matched} of ${total} points: ${JSON.stringify(report.counts)}`,
        );
      const dedup = samples.filter((s, i) => i === 0 || s.at !== samples[i - 1]!.at);
      const whole = (report.counts.compared * 1000) / Math.max(1, report.finishedAt! - report.startedAt);
      // A run too short for two reports inside its steady state is measured over the whole run.
      const steady = steadyRate(dedup.map((s) => ({ at: s.at, progress: s.progress, value: s.compared })));
      const compared = steady > 0 ? steady : whole;
      const read = (compared * (report.counts.oldPoints + report.counts.newPoints)) / Math.max(1, report.counts.compared);
      progress(`  ${slices} slice(s): ${Math.round(compared)} points compared/s in the steady state (${Math.round(whole)}/s over the whole run)`);
      figures[`verify_points_per_s_${slices}_slices`] = Math.round(compared);
      figures[`verify_run_s_${slices}_slices`] = Number(((report.finishedAt! - report.startedAt) / 1000).toFixed(1));
      if (compared > best.compared) best = { compared, read, slices };
    }
    const seedPoints = o.seedRate * (o.seedRetentionMs / 1000);
    const etaHours = seedPoints / best.compared / 3600;
    const retentionHours = o.seedRetentionMs / 3_600_000;
    progress(
      `at ${o.seedRate} points/s over ${retentionHours} h (${seedPoints.toExponential(2)} points per store): ${etaHours.toFixed(0)} h at ${Math.round(best.compared)}/s ` +
        `(${best.slices} slices, ${o.workers} worker(s))${etaHours > retentionHours ? ': LONGER than the retention' : ''}`,
    );
    console.log(
      JSON.stringify({
        verify_points_per_s: Math.round(best.compared),
        verify_points_read_per_s: Math.round(best.read),
        slices: best.slices,
        workers: o.workers,
        rate_limit_points_per_s: o.rate,
        points_per_run: total,
        ...figures,
        seed_points_per_s: o.seedRate,
        seed_retention_hours: retentionHours,
        seed_points: seedPoints,
        verify_eta_hours_at_seed_scale: Number(etaHours.toFixed(1)),
        verify_eta_hours_at_default_limit: Number(((2 * seedPoints) / DEFAULT_LIMIT / 3600).toFixed(1)),
        slices_needed_within_retention: Math.ceil((best.slices * etaHours) / retentionHours),
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
