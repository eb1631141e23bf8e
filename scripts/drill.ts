/**
 * `npm run drill -- restarts --env <env>`: the restart drill, run against `npm start`'s demo. With
 * the environment at science 100 % or cutover 100 % and the demo's traffic flowing, it kills the
 * environment's DynamoDB writer, Cassandra writer and aggregator, each with SIGKILL (a crash, an
 * OOM kill) and SIGTERM (a rolling deploy), at the worst second: just before the aggregator
 * publishes the minute that closed. `npm start` restarts each of them. Meanwhile a read probe
 * compares the query API with the old store, and afterwards the drill reads what the migration
 * recorded. It reports, as its last line, one JSON object:
 *
 *   false_rollbacks                 automatic rollbacks during the drill (must be 0)
 *   reads_missing_old_store_minute  probe reads that lacked a minute the old store had (must be 0)
 *   mismatches_recorded             mismatching comparisons recorded during the drill (must be 0)
 *   unjudged_comparisons            comparisons with a minute left unjudged (a writer was behind)
 *   crash_to_caught_up_s_p50/_p99   SIGKILL until both stores hold the minute published after it
 *   term_to_caught_up_s_p50/_p99    the same after SIGTERM
 *
 * It refuses an environment that is not at 100 % (or was rolled back), touches only the
 * processes `npm start` runs for that environment, and leaves every one of them running again
 * (it waits for each restart before the next kill). Exit 0 when the three must-be-zero figures are
 * 0, 1 when one is not, 2 on a usage error or an environment it will not drill.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { connectTemporal, createCassandraClient, createDynamoClient, createKafka } from '../config/clients.js';
import { loadConfig } from '../config/config.js';
import { migrationWorkflowId, MINUTE_MS, Stage, type MigrationState } from '../contract/index.js';
import { stateQuery } from '../contract/migration-messages.js';
import { parseCommandLine, parseDuration, parseEnv, parseWhole, runMain, UsageError } from '../kit/cli.js';
import { readAudit } from '../audit/audit-log.js';
import { readScienceSummary } from '../pipeline/kernel/science/science-stats-reader.js';
import { KafkaWriterProgress } from '../pipeline/kernel/observability/writer-progress.js';
import { minuteOf } from '../pipeline/kernel/model/metric-point.js';
import { createMetricStore } from '../pipeline/kernel/stores/create-metric-store.js';
import { aggregatorGroup, envTopics, writerGroup } from '../pipeline/kernel/topics.js';
import { runningStart } from './start/leftovers.js';
import { startReadProbe } from './drill/read-probe.js';

const TARGETS = ['writer-dynamodb', 'writer-cassandra', 'aggregator'] as const;
const SIGNALS = ['SIGKILL', 'SIGTERM'] as const;

const USAGE = `usage: npm run drill -- restarts --env <env> [options]
  Kills the environment's writers and aggregator (as npm start runs them) at the worst second,
  with SIGKILL and SIGTERM, while the environment is at science 100 % or cutover 100 %, and reports
  what users and the migration saw. Needs npm start running.
  --env <name>               the environment (one of SWITCHYARD_ENVS)
  --rounds <n>               kills of each target with each signal (default 1: 6 kills)
  --targets <a,b>            ${TARGETS.join(', ')} (default all)
  --signals <a,b>            ${SIGNALS.join(', ')} (default both)
  --at-second <s>            second of the minute to kill at (default 8: the aggregator publishes the
                             minute that closed at about second 10, its allowed lateness)
  --lateness <duration>      the aggregator's allowed lateness (default 10s, npm start's)
  --apps <n>                 series the read probe cycles through (default 20)
  --query-url <url>          the query service (default http://127.0.0.1:$SWITCHYARD_QUERY_PORT or 8080)
  --recovery-timeout <d>     longest wait for a restart and catch-up before the drill gives up (default 3m)
  --hold-wait <d>            wait after the last kill before reading the science stats: the query
                             service's --settle, how long a comparison may be held (default 65s)
Last line: one JSON object of the figures.`;

const t0 = Date.now();
const progress = (m: string): void => console.error(`[drill ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}`);

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const round1 = (n: number | null): number | null => (n === null ? null : Math.round(n * 10) / 10);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

runMain(USAGE, async (argv) => {
  const [kind, ...rest] = argv;
  if (kind !== 'restarts') throw new UsageError(`unknown drill '${kind ?? ''}': the drill is 'restarts'`);
  const a = parseCommandLine(rest, {
    env: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    targets: { type: 'string', default: TARGETS.join(',') },
    signals: { type: 'string', default: SIGNALS.join(',') },
    'at-second': { type: 'string', default: '8' },
    lateness: { type: 'string', default: '10s' },
    apps: { type: 'string', default: '20' },
    'query-url': { type: 'string' },
    'recovery-timeout': { type: 'string', default: '3m' },
    'hold-wait': { type: 'string', default: '65s' },
  });
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'tools' });
  const env = parseEnv(a.env, cfg.environments);
  const rounds = parseWhole('rounds', a.rounds!, 1, 100);
  const atSecond = parseWhole('at-second', a['at-second']!, 0, 59);
  const latenessMs = parseDuration('lateness', a.lateness!);
  const apps = parseWhole('apps', a.apps!, 1, 10_000);
  const recoveryMs = parseDuration('recovery-timeout', a['recovery-timeout']!);
  const holdWaitMs = parseDuration('hold-wait', a['hold-wait']!);
  const targets = a.targets!.split(',').map((t) => t.trim());
  for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) throw new UsageError(`--targets: '${t}' is not one of ${TARGETS.join(', ')}`);
  const signals = a.signals!.split(',').map((t) => t.trim());
  for (const s of signals) if (!(SIGNALS as readonly string[]).includes(s)) throw new UsageError(`--signals: '${s}' is not one of ${SIGNALS.join(', ')}`);
  const queryUrl = (a['query-url'] ?? `http://127.0.0.1:${process.env.SWITCHYARD_QUERY_PORT ?? '8080'}`).replace(/\/$/, '');
  const runDir = path.join(cfg.stack.runDir, 'start');

  // What the drill may touch: npm start's processes of this environment.
  const start = runningStart(runDir);
  if (!start) {
    console.error(`no running npm start found (in ${runDir}): the drill kills the processes npm start runs, and npm start restarts them`);
    return 2;
  }
  const names = new Map(targets.map((t) => [t, `${t}-${env}`]));
  for (const name of names.values())
    if (!start.children.some((c) => c.name === name)) {
      console.error(`npm start (pid ${start.supervisorPid}) runs no process named ${name}`);
      return 2;
    }

  const connection = await connectTemporal(cfg);
  const temporal = new Client({ connection, namespace: cfg.temporal.namespace });
  const handle = temporal.workflow.getHandle(migrationWorkflowId(env));
  const state = async (): Promise<MigrationState> => handle.query(stateQuery);
  const before = await state();
  // With cohorts the environment's ramp is the least exposed cohort's: 100 % means every cohort.
  const fullyRamped = (before.stage === Stage.science || before.stage === Stage.cutover) && before.ramp === 100;
  const rolledBack = before.rolledBack !== null || (before.cohorts ?? []).some((c) => c.rolledBack !== null);
  if (!fullyRamped || rolledBack) {
    console.error(
      `${env} is at ${before.stage}${before.ramp ? ` ${before.ramp}%` : ''}${rolledBack ? ', rolled back' : ''}: the restart drill runs only at science 100 % or cutover 100 % (every cohort), not rolled back`,
    );
    await connection.close();
    return 2;
  }
  progress(`${env} at ${before.stage} ${before.ramp}%: ${rounds * targets.length * signals.length} kills of ${targets.join(', ')} with ${signals.join(', ')}`);

  const kafka = createKafka(cfg, { clientId: `switchyard-drill-${env}` });
  const admin = kafka.admin();
  await admin.connect();
  const writerProgress = new KafkaWriterProgress({
    admin,
    topic: (e) => envTopics(e).metrics,
    groups: (e) => ({ old: writerGroup(e, 'cassandra'), new: writerGroup(e, 'dynamodb') }),
    aggregator: (e) => ({ group: aggregatorGroup(e), topic: envTopics(e).observations }),
    intervalMs: 200,
  });
  const cassandraClient = createCassandraClient(cfg);
  const dynamo = createDynamoClient(cfg);
  const oldStore = createMetricStore('cassandra', { env, retentionMs: 7 * 86_400_000, cassandraClient, closeClient: false });
  const nowMinute = minuteOf(Date.now());
  const page = await oldStore.listSeriesWithin({ index: 0, count: 1 }, { fromMinute: nowMinute - 5 * MINUTE_MS, toMinute: nowMinute }, null, apps);
  const series = page.series.slice(0, apps).map((s) => s.series);
  if (series.length === 0) {
    console.error(`the old store of ${env} holds no series yet: is npm start's traffic running?`);
    return 2;
  }
  const startedAt = Date.now();
  const probe = startReadProbe({ queryUrl, env, oldStore, series });
  const crash: number[] = [];
  const term: number[] = [];
  const problems: string[] = [];

  const pidOf = (name: string): number | undefined => {
    const c = runningStart(runDir)?.children.find((x) => x.name === name);
    return c && pidAlive(c.pid) ? c.pid : undefined;
  };
  const kills: { target: string; signal: string }[] = [];
  for (let r = 0; r < rounds; r++) for (const target of targets) for (const signal of signals) kills.push({ target, signal });

  try {
    for (const [i, k] of kills.entries()) {
      const name = names.get(k.target)!;
      // The worst second: just before the minute that closed is published.
      const wait = (((atSecond * 1000 - (Date.now() % MINUTE_MS)) % MINUTE_MS) + MINUTE_MS) % MINUTE_MS;
      await sleep(wait);
      const pid = pidOf(name);
      if (pid === undefined) {
        problems.push(`${name} was not running before kill ${i + 1}`);
        continue;
      }
      const killedAt = Date.now();
      // The first minute the aggregator publishes after the kill: m + 60 s + lateness > killedAt.
      const target = minuteOf(killedAt - MINUTE_MS - latenessMs) + MINUTE_MS;
      process.kill(pid, k.signal as NodeJS.Signals);
      let restartedAt: number | undefined;
      let caughtUpAt: number | undefined;
      const deadline = killedAt + recoveryMs;
      while (Date.now() < deadline && (restartedAt === undefined || caughtUpAt === undefined)) {
        writerProgress.watch(env);
        const now = Date.now();
        if (restartedAt === undefined) {
          const p = pidOf(name);
          if (p !== undefined && p !== pid) restartedAt = now;
        }
        const oldEdge = writerProgress.freshEdge(env, 'old');
        const newEdge = writerProgress.freshEdge(env, 'new');
        if (caughtUpAt === undefined && restartedAt !== undefined && oldEdge !== null && newEdge !== null && oldEdge >= target && newEdge >= target)
          caughtUpAt = now;
        await sleep(200);
      }
      if (restartedAt === undefined || caughtUpAt === undefined) {
        problems.push(`${name} (${k.signal}): ${restartedAt === undefined ? 'not restarted' : 'not caught up'} within ${recoveryMs / 1000} s`);
        progress(`kill ${i + 1}/${kills.length}: ${name} ${k.signal}: ${problems.at(-1)}`);
        continue;
      }
      const s = (caughtUpAt - killedAt) / 1000;
      (k.signal === 'SIGKILL' ? crash : term).push(s);
      progress(
        `kill ${i + 1}/${kills.length}: ${name} (pid ${pid}) ${k.signal} at :${String(new Date(killedAt).getUTCSeconds()).padStart(2, '0')}; back after ${((restartedAt - killedAt) / 1000).toFixed(1)} s; minute ${new Date(target).toISOString().slice(11, 16)} in both stores after ${s.toFixed(1)} s`,
      );
    }
    // Comparisons may be held up to the query service's hold time before they are recorded.
    progress(`kills done; waiting ${holdWaitMs / 1000} s for held comparisons to be recorded`);
    await sleep(holdWaitMs);
  } finally {
    const seen = await probe.stop();
    const after = await state().catch(() => undefined);
    const audit = await readAudit(dynamo, { env, fromSeq: before.auditSeq + 1, limit: 1000 }).catch(() => []);
    const science = await readScienceSummary(dynamo, env, Date.now() - startedAt);
    const rollbacks = audit.filter((e) => e.action === 'automatic_rollback');
    const figures = {
      env,
      stage: before.stage,
      ramp: before.ramp,
      kills: crash.length + term.length,
      false_rollbacks: rollbacks.length,
      reads_missing_old_store_minute: seen.missing,
      probes: seen.probes,
      probe_failures: seen.failed,
      mismatches_recorded: science.counters.mismatches,
      comparisons: science.counters.comparisons,
      unjudged_comparisons: science.counters.unjudged,
      fresh_end_splits: science.counters.freshSplits,
      writer_lag_holds: audit.filter((e) => e.action === 'writer_lag_hold').length,
      crash_to_caught_up_s_p50: round1(percentile(crash, 50)),
      crash_to_caught_up_s_p99: round1(percentile(crash, 99)),
      term_to_caught_up_s_p50: round1(percentile(term, 50)),
      term_to_caught_up_s_p99: round1(percentile(term, 99)),
      stage_after: after ? `${after.stage} ${after.ramp}%` : 'unknown',
      problems,
    };
    for (const r of rollbacks) progress(`automatic rollback at ${new Date(r.at).toISOString()}: ${r.reason}`);
    for (const m of seen.misses.slice(0, 5))
      progress(`a read lacked ${m.minutes.map((x) => new Date(x).toISOString().slice(11, 16)).join(', ')} of ${m.app} (served by ${m.servedBy}: ${m.parts})`);
    await writerProgress.close();
    await admin.disconnect().catch(() => undefined);
    await oldStore.close();
    await cassandraClient.shutdown().catch(() => undefined);
    dynamo.destroy();
    await connection.close();
    console.log(JSON.stringify(figures));
    const failed = figures.false_rollbacks > 0 || figures.reads_missing_old_store_minute > 0 || figures.mismatches_recorded > 0 || problems.length > 0;
    process.exitCode = failed ? 1 : 0;
  }
  return process.exitCode ?? 0;
});
