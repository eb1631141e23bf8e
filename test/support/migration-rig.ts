/**
 * A migration's moving parts on the real stack for one test environment: the pipeline, a query
 * service, the control worker on the test's own task queue, a Temporal client, and live
 * observations in real time. Shared by the tests that run migrations end to end.
 */
import { Client } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import { connectTemporal } from '../../config/clients.js';
import type { SwitchyardConfig } from '../../config/config.js';
import { sendObservations } from '../../tools/generator/observation-sender.js';
import { generateWorkload } from '../../tools/generator/workload.js';
import type { Observation } from '../../pipeline/kernel/model/observation.js';
import { envTopics } from '../../pipeline/kernel/topics.js';
import { launchPipeline, PipelineProcess, queryPort, queryProcess, type LaunchedPipeline } from './pipeline.js';

/** A Temporal client on the configured namespace, with the way to close its connection. */
export async function temporalClient(cfg: SwitchyardConfig): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await connectTemporal(cfg);
  return { client: new Client({ connection, namespace: cfg.temporal.namespace }), close: () => connection.close() };
}

/** The control worker for env, polling taskQueue (started; resolves once it polls). */
export async function startControlWorker(
  env: string,
  taskQueue: string,
  extraEnv: Record<string, string> = {},
  readyTimeoutMs = 60_000,
): Promise<PipelineProcess> {
  const worker = new PipelineProcess(`${env}-worker`, 'workers/control-worker.ts', [], {
    SWITCHYARD_ENVS: env,
    TEMPORAL_TASK_QUEUE: taskQueue,
    ...extraEnv,
  }).start();
  // Bundling the workflows takes most of the worker's start-up (long on a busy machine).
  await worker.waitForLog(/control worker polling/, readyTimeoutMs);
  return worker;
}

/** What launchMigrationRig started. */
export interface MigrationRig {
  taskQueue: string;
  pipeline: LaunchedPipeline;
  queryUrl: string;
  /** Every process started, to stop in after(). */
  procs: PipelineProcess[];
  client: Client;
  closeTemporal: () => Promise<void>;
}

/** Starts the pipeline (writers following the control state), a query service and the control worker for env. */
export async function launchMigrationRig(
  cfg: SwitchyardConfig,
  env: string,
  o: {
    retention: string;
    aggregatorLateness: string;
    /** Extra variables for the control worker (e.g. the notifier's). */
    workerEnv?: Record<string, string>;
    /** How long the worker may take to start polling (default 60 s). */
    workerReadyTimeoutMs?: number;
  },
): Promise<MigrationRig> {
  const taskQueue = `switchyard-test-${env}`;
  const pipeline = await launchPipeline(cfg, env, { writerMode: 'follow', writerRetention: o.retention, aggregatorLateness: o.aggregatorLateness });
  // Shadow reads may take 1 s (the service's default is 250 ms) before they count as new-store
  // errors: these tests inject faults judged on mismatches, and on the 2-core CI machine running
  // three browser suites side by side CI saw 30 % of 250 ms shadow reads time out, which rolled a
  // cutover back before the fault reached the new store.
  const query = queryProcess(`${env}-query`, env, ['--retention', o.retention, '--candidate-timeout', '1s']).start();
  const procs = [...pipeline.all, query];
  const queryUrl = `http://127.0.0.1:${await queryPort(query)}`;
  procs.push(await startControlWorker(env, taskQueue, o.workerEnv, o.workerReadyTimeoutMs));
  const { client, close } = await temporalClient(cfg);
  return { taskQueue, pipeline, queryUrl, procs, client, closeTemporal: close };
}

/**
 * Sends observations stamped with the current time, in batches of `count` spread over 2 s of
 * event time, at ratePerSec, until shouldStop() (checked between batches; like runReadTraffic's
 * option). `onBatch` sees each batch before it is sent. Rejects if a send fails.
 */
export async function runLiveLoad(
  producer: Producer,
  env: string,
  o: { apps: number; count: number; ratePerSec: number; seed: number; shouldStop: () => boolean; onBatch?: (batch: Observation[]) => void },
): Promise<void> {
  let seed = o.seed;
  while (!o.shouldStop()) {
    const batch = [...generateWorkload({ seed: seed++, apps: o.apps, metrics: ['router.service_ms'], count: o.count, startTime: Date.now(), spanMs: 2000 })];
    o.onBatch?.(batch);
    await sendObservations(producer, batch, { topic: envTopics(env).observations, ratePerSec: o.ratePerSec });
  }
}
