/**
 * `npm start`: brings up the whole Switchyard demo on this machine and keeps it running until
 * Ctrl-C: the local stack, the pipeline of every environment, the query service, traffic, the
 * control-plane worker with a migration workflow per environment (demo policy), and the console.
 * `npm start -- --help` lists what runs and the options; the parts live in scripts/start/.
 *
 * Signals: Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal closed) stops every child and exits
 * 0. The package.json script is `exec node --import tsx scripts/start.ts`, so no shell and no tsx
 * CLI stand between npm and this process: with `sh -c` (dash) in between, the shell held a Ctrl-C
 * back until this process had stopped and then died of it (npm reported status 130 although
 * everything stopped cleanly), and the tsx CLI SIGKILLs its child when a second SIGINT is not
 * acknowledged within 30 ms.
 */
import path from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { connectTemporal } from '../config/clients.js';
import { ConfigError, formatHostPort, loadConfig, REPO_ROOT, type SwitchyardConfig } from '../config/config.js';
import { policyFor } from '../config/migration-policy.js';
import { UsageError } from '../kit/cli.js';
import { portIsFree, whoListens } from '../infra/stack/processes.js';
import { StackError, up } from '../infra/stack/stack.js';
import type { MigrationPolicy } from '../contract/index.js';
import { assertConsoleStartable, consoleBuildReason } from './start/console-build.js';
import { ensureDemoCredentials, type DemoCredentials } from './start/demo-credentials.js';
import {
  consoleBuildStep,
  consoleProcess,
  controlWorker,
  demoNotifyEnv,
  loadGenerator,
  notificationReceiver,
  queryService,
  readGenerator,
  setupStep,
  streamJobs,
} from './start/demo-processes.js';
import { durationArg } from '../kit/cli.js';
import { stopLeftovers } from './start/leftovers.js';
import { ensureMigration, type MigrationStatus } from './start/migrations.js';
import { parseStartOptions, START_USAGE, type StartOptions } from './start/start-options.js';
import { StartError } from './start/start-error.js';
import { formatSummary } from './start/summary.js';
import { Supervisor } from './start/supervisor.js';

const t0 = Date.now();
const progress = (m: string): void => console.log(`[start ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${m}`);

/** Set on SIGINT/SIGTERM/SIGHUP: from then on, failures of steps being cut short are not errors. */
let stopping = false;
let supervisor: Supervisor | undefined;
let temporalConnection: Connection | undefined;

/** Stops every child, closes the Temporal connection and exits with code. */
async function stopAndExit(code: number): Promise<never> {
  await supervisor?.stopAll();
  await temporalConnection?.close().catch(() => undefined);
  process.exit(code);
}

/**
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP: stop everything this start started, then exit 0. The
 * children lead process groups of their own, so a closed terminal's SIGHUP reaches only this
 * process: without the handler they would outlive it.
 */
function onSignal(signal: NodeJS.Signals): void {
  // The terminal's Ctrl-C reaches npm, tsx and this process; npm and tsx may pass it on once more.
  if (stopping) return;
  stopping = true;
  progress(`${signal}: stopping everything npm start started (the local stack keeps running)`);
  void stopAndExit(0);
}

/**
 * The demo policy of each environment (SWITCHYARD_POLICY_FILE overrides applied). The policy
 * travels in each migration workflow's input, so the worker needs no setting for it: creating
 * the workflows with it is what makes the migrations demo-scale.
 */
function demoPolicies(envs: string[]): Map<string, MigrationPolicy> {
  try {
    return new Map(envs.map((env) => [env, policyFor(env, envs, 'demo')]));
  } catch (err) {
    throw new StartError('SWITCHYARD_POLICY_FILE', (err as Error).message.replace(/^SWITCHYARD_POLICY_FILE: /, ''));
  }
}

/** Fails when a port npm start needs is taken, naming the variable that moves it and who holds it. */
async function assertPortFree(variable: string, port: number, otherStarts: number[]): Promise<void> {
  if (await portIsFree('127.0.0.1', port)) return;
  const holder = whoListens(port);
  const hint = otherStarts.length > 0 ? `another npm start is running (pid ${otherStarts.join(', ')}): stop it with Ctrl-C, or ` : '';
  throw new StartError(variable, `port ${port} is already in use${holder ? ` (by ${holder})` : ''}`, `To run anyway, ${hint}set ${variable} to a free port.`);
}

/** Starts every process and the migrations; resolves with the migrations' status once all are ready. */
async function startEverything(
  cfg: SwitchyardConfig,
  options: StartOptions,
  policies: Map<string, MigrationPolicy>,
  sup: Supervisor,
  client: Client,
  credentials: DemoCredentials | undefined,
): Promise<MigrationStatus[]> {
  const envs = cfg.environments;
  const retention = (env: string): number => policies.get(env)!.retentionMs;
  const maxRetention = Math.max(...envs.map(retention));
  const queryUrl = `http://127.0.0.1:${options.queryPort}`;

  // The console build is CPU-bound and the other processes mostly wait on I/O while starting, so
  // it runs alongside them; the console itself starts only after it.
  let build: Promise<void> = Promise.resolve();
  if (options.console) {
    const reason = consoleBuildReason(REPO_ROOT);
    if (reason) {
      progress(`building the console (${reason}); output in ${path.relative(REPO_ROOT, sup.logFileOf('console-build'))}`);
      const started = Date.now();
      build = sup.runToCompletion(consoleBuildStep(), 15 * 60_000).then(() => progress(`console built in ${((Date.now() - started) / 1000).toFixed(0)} s`));
      build.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
    } else progress('the console build is up to date');
  }

  progress(`creating topics and schemas for ${envs.join(', ')}`);
  await sup.runToCompletion(setupStep(maxRetention), 5 * 60_000);

  progress(
    `starting ${envs.length * 5 + 3} processes: per environment an aggregator, two writers, a load and a read generator; the query service; the notification receiver; the control worker`,
  );
  const query = sup.startAndWait(queryService(options.queryPort, maxRetention, envs));
  // The worker creates any missing migration workflow (demo policy); a workflow started from now on is new.
  const startedAfter = Date.now() - 1000;
  // Notifications go to a local receiver (and to the user's own routes), so the demo shows them end to end.
  const notifyEnv = demoNotifyEnv(options.receiverPort, options.console ? options.consolePort : undefined);
  const worker = sup.startAndWait(notificationReceiver(options.receiverPort)).then(() => sup.startAndWait(controlWorker(client, cfg, notifyEnv)));
  const jobs = envs.flatMap((env) => streamJobs(env, retention(env))).map((spec) => sup.startAndWait(spec));
  const loadgens = envs.map((env, i) => sup.startAndWait(loadGenerator(env, i + 1, options.apps, options.ratePerEnv)));
  const readgens = query.then(() =>
    Promise.all(envs.map((env, i) => sup.startAndWait(readGenerator(env, i + 1, options.apps, options.readRatePerEnv, queryUrl)))),
  );
  const migrations = worker.then(() =>
    Promise.all(
      envs.map(async (env) => {
        const status = await ensureMigration(client, {
          env,
          policy: policies.get(env)!,
          startedAfter,
          terminateCommand: (id) =>
            `${path.relative(REPO_ROOT, path.join(cfg.stack.toolsDir, 'python', 'bin', 'temporal'))} workflow terminate --address ${formatHostPort(cfg.temporal.address)} --workflow-id ${id} --reason "demo restart"`,
          queryTimeoutMs: options.readyTimeoutMs,
        });
        const what =
          status.action === 'created'
            ? `created in stage ${status.stage}`
            : status.action === 'running'
              ? `already running, stage ${status.stage}${status.ramp ? ` ${status.ramp}%` : ''}`
              : 'completed earlier';
        progress(`migration ${status.workflowId}: ${what}${status.action === 'created' ? ` (demo policy, retention ${durationArg(retention(env))})` : ''}`);
        return status;
      }),
    ),
  );
  const [statuses] = await Promise.all([migrations, query, worker, readgens, Promise.all(jobs), Promise.all(loadgens), build]);

  if (credentials) {
    // ─── the console: started last, by the single entry in demo-processes.ts ───
    progress(`starting the console on port ${options.consolePort}`);
    await sup.startAndWait(
      consoleProcess({ port: options.consolePort, queryUrl, sessionSecret: credentials.sessionSecret, usersFile: credentials.usersFile, env: notifyEnv }),
    );
  }
  return statuses;
}

async function main(argv: string[]): Promise<void> {
  const options = parseStartOptions(argv);
  if (options.help) {
    console.log(START_USAGE);
    process.exit(0);
  }
  const cfg = loadConfig();
  const policies = demoPolicies(cfg.environments);
  // Checked before anything slow, so a checkout without the console fails at once.
  if (options.console) assertConsoleStartable(REPO_ROOT);
  const logDir = options.logDir ?? path.join(cfg.stack.logDir, 'demo');
  const runDir = path.join(cfg.stack.runDir, 'start');
  const sup = new Supervisor({ logDir, runDir, readyTimeoutMs: options.readyTimeoutMs, stopGraceMs: options.stopGraceMs, progress });
  supervisor = sup;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const leftovers = await stopLeftovers(runDir, options.stopGraceMs);
  if (leftovers.stopped.length > 0)
    progress(`stopped ${leftovers.stopped.length} processes left running by an earlier npm start that did not stop cleanly: ${leftovers.stopped.join(', ')}`);
  await assertPortFree('SWITCHYARD_QUERY_PORT', options.queryPort, leftovers.otherStarts);
  if (options.console) await assertPortFree('SWITCHYARD_CONSOLE_PORT', options.consolePort, leftovers.otherStarts);
  await assertPortFree('SWITCHYARD_NOTIFY_RECEIVER_PORT', options.receiverPort, leftovers.otherStarts);

  progress('bringing up the local stack (the first run downloads the servers: a few minutes)');
  await up(cfg, [], progress);
  temporalConnection = await connectTemporal(cfg);
  const client = new Client({ connection: temporalConnection, namespace: cfg.temporal.namespace });

  let credentials: DemoCredentials | undefined;
  if (options.console) {
    credentials = ensureDemoCredentials(path.join(cfg.stack.dir, 'console'));
    progress(
      `${credentials.createdUsers ? 'made new' : 'reusing the'} demo sign-ins for the console (${path.relative(REPO_ROOT, credentials.credentialsFile)})`,
    );
  }

  const migrations = await Promise.race([startEverything(cfg, options, policies, sup, client, credentials), sup.failure]);
  sup.markRunning();
  const elapsed = ((Date.now() - t0) / 1000).toFixed(1);
  progress(`everything is up in ${elapsed} s`);
  console.log(
    formatSummary({
      consoleUrl: options.console ? `http://127.0.0.1:${options.consolePort}` : undefined,
      credentials,
      migrations,
      policy: policies.get(cfg.environments[0]!)!,
      temporalUiUrl: null,
      queryUrl: `http://127.0.0.1:${options.queryPort}`,
      receiverUrl: `http://127.0.0.1:${options.receiverPort}`,
      logDir,
      processNames: sup.pids().map((p) => p.name),
    }),
  );
  // Keep running: the supervisor restarts what dies; a signal stops everything and exits.
  setInterval(() => undefined, 2 ** 30);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (stopping) return; // a step cut short by Ctrl-C; the signal handler finishes and exits 0
  if (err instanceof UsageError) {
    console.error(`npm start: ${err.message}\n(npm start -- --help lists the options)`);
    process.exit(2);
  }
  const known = err instanceof ConfigError || err instanceof StackError || err instanceof StartError;
  console.error(`\nstart failed: ${known ? (err as Error).message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  stopping = true;
  void stopAndExit(1);
});
