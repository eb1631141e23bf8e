/**
 * The processes of the demo: what `npm start` runs, with which flags, how each one's readiness is
 * checked and in which tier it stops. Every process is `node --import tsx <entry point>` (or the
 * Next.js binary) run directly, not through npm, so the signals `npm start` sends reach it.
 */
import type { Client } from '@temporalio/client';
import type { SwitchyardConfig } from '../../config/config.js';
import { NEXT_BIN } from './console-build.js';
import { SINKS } from '../../contract/index.js';
import { durationArg } from '../../kit/cli.js';
import { httpOkReady, jobHealthReady, outputReady, queryServiceReady, temporalWorkerReady } from './readiness.js';
import type { OneOffSpec, ProcessSpec } from './supervisor.js';

/** Stop tiers: traffic (and the console) stop first, so nothing queries a service that is going away. */
const TRAFFIC_TIER = 0;
const SERVICE_TIER = 1;

/**
 * Length of one round of a traffic generator. The generators keep per-run statistics in memory
 * (the read generator every latency, for its percentiles), so they run in bounded rounds, each
 * started again at once; the same seed keeps each app's latency profile across rounds.
 */
const TRAFFIC_ROUND = '1h';

/** A TypeScript entry point of this repository, run by node with tsx. */
function tsEntry(script: string, args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', script, ...args] };
}

/** Topics of every environment and both stores' schemas (idempotent). */
export function setupStep(retentionMs: number): OneOffSpec {
  return { name: 'setup', ...tsEntry('pipeline/jobs/cli/setup.ts', ['--retention', durationArg(retentionMs)]) };
}

/**
 * An environment's stream jobs: the aggregator and both writers. The writers follow the control
 * state (`--mode follow`): the Cassandra writer writes while oldWriter is on, the DynamoDB writer
 * while newWriter is on, as the migration workflow publishes. Metrics ports are picked by the OS
 * (0) and read back from the job's log, so nothing clashes with other processes on the machine.
 */
export function streamJobs(env: string, retentionMs: number): ProcessSpec[] {
  const common = { probe: jobHealthReady(), lifecycle: 'service', stopTier: SERVICE_TIER } as const;
  return [
    { name: `aggregator-${env}`, ...tsEntry('pipeline/jobs/cli/aggregator.ts', ['--env', env, '--metrics-port', '0']), ...common },
    ...SINKS.map((sink) => ({
      name: `writer-${sink}-${env}`,
      ...tsEntry('pipeline/jobs/cli/writer.ts', [
        '--env',
        env,
        '--sink',
        sink,
        '--mode',
        'follow',
        '--retention',
        durationArg(retentionMs),
        '--metrics-port',
        '0',
      ]),
      ...common,
    })),
  ];
}

/**
 * How long the demo's shadow reads may take. The service's default (250 ms) is for a store on its
 * own hosts; the demo runs the whole fleet, the stores and the console on one machine, where the
 * DynamoDB-compatible server's p99 reaches 240 ms (measured on 2 cores), and every shadow read past
 * the limit counts as a new-store error: at 250 ms a user's own clicks in the console rolled
 * cutover back on timeouts alone. A timeout never delays a served read.
 */
export const DEMO_CANDIDATE_TIMEOUT = '1s';

/** One query service for every environment in SWITCHYARD_ENVS. */
export function queryService(port: number, retentionMs: number, environments: string[]): ProcessSpec {
  return {
    name: 'query',
    ...tsEntry('pipeline/jobs/cli/query-service.ts', [
      '--port',
      String(port),
      '--retention',
      durationArg(retentionMs),
      '--candidate-timeout',
      DEMO_CANDIDATE_TIMEOUT,
    ]),
    probe: queryServiceReady(`http://127.0.0.1:${port}`, environments),
    lifecycle: 'service',
    stopTier: SERVICE_TIER,
  };
}

/**
 * The local webhook receiver the demo's notifications go to (tools/notification-receiver.ts);
 * the console lists what it received.
 */
export function notificationReceiver(port: number): ProcessSpec {
  return {
    name: 'notify-receiver',
    ...tsEntry('tools/notification-receiver.ts', ['--port', String(port)]),
    probe: httpOkReady(`http://127.0.0.1:${port}/health`),
    lifecycle: 'service',
    stopTier: SERVICE_TIER,
  };
}

/**
 * The notifier's settings for the demo's worker and console: the user's own routes
 * (SWITCHYARD_NOTIFY_ROUTES, if any) plus the local receiver in both formats, and the receiver's
 * address for the console.
 */
export function demoNotifyEnv(
  receiverPort: number,
  consolePort: number | undefined,
  env: Record<string, string | undefined> = process.env,
): Record<string, string> {
  let own: unknown[] = [];
  try {
    const parsed: unknown = JSON.parse(env.SWITCHYARD_NOTIFY_ROUTES ?? '[]');
    if (Array.isArray(parsed)) own = parsed;
  } catch {
    // left as it is: the worker reports the malformed variable when it starts
    return {};
  }
  const receiver = `http://127.0.0.1:${receiverPort}`;
  return {
    SWITCHYARD_NOTIFY_ROUTES: JSON.stringify([
      ...own,
      { env: '*', url: `${receiver}/hooks/json`, format: 'json' },
      { env: '*', url: `${receiver}/hooks/slack`, format: 'slack' },
    ]),
    SWITCHYARD_NOTIFY_RECEIVER_URL: receiver,
    ...(consolePort !== undefined && !env.SWITCHYARD_CONSOLE_URL ? { SWITCHYARD_CONSOLE_URL: `http://127.0.0.1:${consolePort}` } : {}),
  };
}

/** The control plane's Temporal worker (workflows and activities of every environment). */
export function controlWorker(client: Client, cfg: SwitchyardConfig, env: Record<string, string> = {}): ProcessSpec {
  return {
    name: 'worker',
    // The worker creates a missing migration workflow per env with the demo policy (npm start's
    // own launcher only reads Temporal: the worker and the console are the clients that write).
    ...tsEntry('workers/control-worker.ts', ['--create-migrations', 'demo']),
    env,
    probe: temporalWorkerReady(client, cfg.temporal.namespace, cfg.temporal.taskQueue),
    lifecycle: 'service',
    stopTier: SERVICE_TIER,
  };
}

/** An environment's load generator: real-time event times at a modest steady rate. */
export function loadGenerator(env: string, seed: number, apps: number, ratePerSec: number): ProcessSpec {
  return {
    name: `loadgen-${env}`,
    ...tsEntry('tools/loadgen.ts', ['--env', env, '--apps', String(apps), '--rate', String(ratePerSec), '--duration', TRAFFIC_ROUND, '--seed', String(seed)]),
    probe: outputReady(/loadgen: (\d+)\/\d+ observations/, (m) => `${m[1]} observations sent`),
    lifecycle: 'rounds',
    stopTier: TRAFFIC_TIER,
  };
}

/** An environment's read traffic against the query service, like dashboards'. */
export function readGenerator(env: string, seed: number, apps: number, ratePerSec: number, queryUrl: string): ProcessSpec {
  return {
    name: `readgen-${env}`,
    ...tsEntry('tools/readgen.ts', [
      '--env',
      env,
      '--url',
      queryUrl,
      '--apps',
      String(apps),
      '--rate',
      String(ratePerSec),
      '--duration',
      TRAFFIC_ROUND,
      '--concurrency',
      '4',
      '--seed',
      String(seed),
    ]),
    probe: outputReady(/readgen: (\d+) queries/, (m) => `${m[1]} queries sent`),
    lifecycle: 'rounds',
    stopTier: TRAFFIC_TIER,
  };
}

/**
 * `next build web --webpack`, run before the console starts when the build is missing or stale
 * (webpack because the console imports the project's NodeNext modules; see web/next.config.ts).
 */
export function consoleBuildStep(): OneOffSpec {
  return { name: 'console-build', command: process.execPath, args: [NEXT_BIN, 'build', 'web', '--webpack'], env: { NEXT_TELEMETRY_DISABLED: '1' } };
}

/** What the console process is given. */
export interface ConsoleSettings {
  port: number;
  /** Base URL of the query service, e.g. http://127.0.0.1:8080. */
  queryUrl: string;
  sessionSecret: string;
  usersFile: string;
  /** Extra variables (the notifier's, for the test button and the receiver's messages). */
  env?: Record<string, string>;
}

/**
 * ─── THE CONSOLE ───────────────────────────────────────────────────────────────────────────────
 * The one entry for the Next.js console (web/), started last. It runs
 *   node node_modules/next/dist/bin/next start web --port <SWITCHYARD_CONSOLE_PORT> --hostname 127.0.0.1
 * with SWITCHYARD_QUERY_URL, SWITCHYARD_SESSION_SECRET, SWITCHYARD_USERS_FILE and
 * SWITCHYARD_POLICY_SCALE=demo (so a migration created from the console is demo-scale too) set,
 * besides every configuration variable npm start itself has (TEMPORAL_*, SWITCHYARD_ENVS, ...).
 * It listens on loopback only: the demo's passwords are printed on the terminal. It is ready when
 * GET /login answers 200: the console checks its settings and users file as it starts and exits
 * if they are wrong, and /api/health answers only signed-in users.
 */
export function consoleProcess(s: ConsoleSettings): ProcessSpec {
  return {
    name: 'console',
    command: process.execPath,
    args: [NEXT_BIN, 'start', 'web', '--port', String(s.port), '--hostname', '127.0.0.1'],
    env: {
      SWITCHYARD_QUERY_URL: s.queryUrl,
      SWITCHYARD_SESSION_SECRET: s.sessionSecret,
      SWITCHYARD_USERS_FILE: s.usersFile,
      SWITCHYARD_POLICY_SCALE: 'demo',
      NEXT_TELEMETRY_DISABLED: '1',
      ...s.env,
    },
    probe: httpOkReady(`http://127.0.0.1:${s.port}/login`),
    lifecycle: 'service',
    stopTier: TRAFFIC_TIER,
  };
}
