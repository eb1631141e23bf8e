/**
 * `npm run bench -- [--e2e]`: throughput of the pipeline's hot paths.
 *   - codec: encode + decode of binary observation batches (100 a message), in memory;
 *   - windows: aggregation into one-minute windows (per-partition state), in memory, and the
 *     heap it holds per open observation;
 *   - with --e2e, on the running local stack: observations produced at full speed into a fresh
 *     environment, through one aggregator process, until its consumer lag is zero.
 * Last line: one JSON object with the figures.
 */
import { spawn } from 'node:child_process';
import { createKafka } from '../config/clients.js';
import { loadConfig, REPO_ROOT } from '../config/config.js';
import { PartitionWindows } from '../pipeline/aggregator/partition-windows.js';
import { decodeObservations, encodeObservationBatch } from '../pipeline/codec/observation-codec.js';
import { sendObservations } from '../pipeline/generator/observation-sender.js';
import { DEFAULT_METRICS, generateWorkload } from '../pipeline/generator/workload.js';
import type { Observation } from '../pipeline/model/observation.js';
import { measureLag } from '../pipeline/observability/consumer-lag.js';
import { aggregatorGroup, ensureTopics, envTopics } from '../pipeline/topics.js';

const e2e = process.argv.includes('--e2e');
const now = Date.now();
const workload = (count: number): Observation[] => [...generateWorkload({ seed: 1, apps: 500, metrics: DEFAULT_METRICS, count, startTime: now - 30 * 60_000, spanMs: 20 * 60_000 })];

function benchCodec(observations: Observation[]): number {
  const byApp = new Map<string, Observation[]>();
  for (const o of observations) byApp.set(o.app, [...(byApp.get(o.app) ?? []), o]);
  const batches: Observation[][] = [];
  for (const list of byApp.values()) for (let i = 0; i < list.length; i += 100) batches.push(list.slice(i, i + 100));
  const t0 = performance.now();
  let n = 0;
  for (let round = 0; round < 3; round++) {
    for (const b of batches) {
      const d = decodeObservations(encodeObservationBatch(b), { now });
      if (d.ok) n += d.observations.length;
    }
  }
  return Math.round(n / ((performance.now() - t0) / 1000));
}

function benchWindows(observations: Observation[]): { obsPerSec: number; bytesPerOpenObservation: number } {
  // Without closing: measure what open windows cost, then the throughput with closing.
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const open = new PartitionWindows({ allowedLatenessMs: 3_600_000 });
  for (let i = 0; i < observations.length; i += 100) open.addMessage(BigInt(i), observations.slice(i, i + 100));
  global.gc?.();
  const bytes = (process.memoryUsage().heapUsed - heap0) / observations.length;
  const w = new PartitionWindows({ allowedLatenessMs: 10_000 });
  const t0 = performance.now();
  let points = 0;
  for (let i = 0; i < observations.length; i += 100) points += w.addMessage(BigInt(i), observations.slice(i, i + 100)).closed.length;
  points += w.advanceIdle(Date.now()).length;
  const secs = (performance.now() - t0) / 1000;
  if (points === 0) throw new Error('no points closed');
  return { obsPerSec: Math.round(observations.length / secs), bytesPerOpenObservation: Math.round(bytes) };
}

async function benchEndToEnd(count: number): Promise<{ producedPerSec: number; aggregatedPerSec: number }> {
  const env = `bench${Date.now().toString(36)}`;
  const cfg = loadConfig({ ...process.env, SWITCHYARD_ENVS: env });
  const kafka = createKafka(cfg, { clientId: 'bench' });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, env, 6);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sent = await sendObservations(producer, generateWorkload({ seed: 2, apps: 500, metrics: DEFAULT_METRICS, count, startTime: now - 30 * 60_000, spanMs: 20 * 60_000 }), {
    topic: envTopics(env).observations,
    ratePerSec: 0,
    flushEvery: 5000,
  });
  const producedPerSec = Math.round(sent.observations / (sent.elapsedMs / 1000));
  const agg = spawn(process.execPath, ['--import', 'tsx', 'pipeline/cli/aggregator.ts', '--env', env, '--lateness', '60s', '--idle', '2s'], {
    cwd: REPO_ROOT,
    env: { ...process.env, SWITCHYARD_ENVS: env, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const a0 = Date.now();
  let lag = Infinity;
  while (lag > 0 && Date.now() - a0 < 180_000) {
    await new Promise((r) => setTimeout(r, 500));
    lag = (await measureLag(admin, aggregatorGroup(env), envTopics(env).observations)).reduce((s, p) => s + p.lag, 0);
  }
  // Offsets are committed once windows are published: the lag reaches zero after the idle close
  // (2 s, subtracted; includes the process start-up, so this is a lower bound).
  if (lag > 0) throw new Error(`the aggregator still lags by ${lag} after 180 s`);
  const aggregatedPerSec = Math.round(count / ((Date.now() - a0 - 2000) / 1000));
  agg.kill('SIGTERM');
  await producer.disconnect();
  await admin.deleteTopics({ topics: Object.values(envTopics(env)) }).catch(() => undefined);
  await admin.disconnect();
  return { producedPerSec, aggregatedPerSec };
}

const observations = workload(400_000);
const codecObsPerSec = benchCodec(observations);
console.error(`codec: ${codecObsPerSec} observations/s (encode + decode + validate)`);
const windows = benchWindows(observations);
console.error(`windows: ${windows.obsPerSec} observations/s, ${windows.bytesPerOpenObservation} bytes per open observation`);
const figures: Record<string, number> = { codecObsPerSec, windowObsPerSec: windows.obsPerSec, bytesPerOpenObservation: windows.bytesPerOpenObservation };
if (e2e) {
  const r = await benchEndToEnd(300_000);
  console.error(`end to end: produced ${r.producedPerSec}/s; one aggregator process ${r.aggregatedPerSec} observations/s`);
  Object.assign(figures, { e2eProducedObsPerSec: r.producedPerSec, e2eAggregatorObsPerSec: r.aggregatedPerSec });
}
console.log(JSON.stringify(figures));
