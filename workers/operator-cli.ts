/**
 * `npm run ops -- <command>`: the operator CLI. It goes through the console's server (its operator
 * API, /api/ops/), like the console's own forms: the console checks the API token and the role,
 * sets the identity (the token's owner) and sends the same Temporal Updates, so every action is
 * validated by the workflow, carries its reason and lands in the audit log under its real actor.
 * The CLI never writes to Temporal itself; `status` also reads the control topic's versions.
 *
 * Two commands are local and need no token: `audit verify` checks the audit log's hash chain in
 * DynamoDB with the integrity key (an auditor's check that does not trust the console), and
 * `keys` lists and rotates that key (config/integrity-keys.ts). Both need the key file.
 */
import { randomUUID } from 'node:crypto';
import { describeChain } from '../audit/audit-chain.js';
import { verifyAuditChain } from '../audit/audit-log.js';
import { createDynamoClient, createKafka } from '../config/clients.js';
import { loadConfig, type SwitchyardConfig } from '../config/config.js';
import { integrityKeyFile, IntegrityKeyError, listIntegrityKeys, loadIntegrityKeys, retireIntegrityKey, rotateIntegrityKey } from '../config/integrity-keys.js';
import { parseCommandLine, runMain, UsageError } from '../kit/cli.js';
import { withTimeout } from '../kit/async.js';
import type { Heartbeat } from '../control/index.js';
import { listLiveInstances, readLatestControlState } from '../control/publisher.js';
import {
  COHORT_NAME_PATTERN,
  describeWriterLag,
  formatDurationWords,
  formatPercent,
  formatSampledRate,
  formatUtc,
  gateDetailWords,
  humanizeTimes,
  nextStep,
  nextStepLine,
  refusalWords,
  STAGES,
  type CohortState,
  type MigrationLookupView,
  type MigrationStateView,
  type UpdateResult,
} from '../contract/index.js';
import type { Admin } from 'kafkajs';
import { measureGroupLag } from '../pipeline/kernel/observability/writer-lag.js';
import { envTopics, writerGroup } from '../pipeline/kernel/topics.js';
import { callConsole, ConsoleApiError, consoleApiFromEnv } from './console-api.js';
import { parseRange, runRepair, runStatus, runVerify } from './verify-commands.js';

/** Flags that take no value (so the word after them is a positional). */
const BOOLEAN_FLAGS = ['--override-promotion-order', '--demo', '--delete-extras', '--allow-partial', '--yes', '--no-wait'];

const USAGE = `usage: npm run ops -- <command> [options]

Every command goes through the console (SWITCHYARD_CONSOLE_URL, default http://127.0.0.1:$SWITCHYARD_CONSOLE_PORT
or :3000) with your personal API token, made on the console's API tokens page (/tokens) and passed in
SWITCHYARD_TOKEN or the file SWITCHYARD_TOKEN_FILE (default ~/.config/switchyard/token), never as a flag.
You act as the token's owner, with their role: the audit log names you.

commands:
  status [env]                          stage, ramp, horizon, gates and timers of every environment
  start <env>                           start the migration workflow and enter dual write
  advance <env> --from <stage>          leave <stage> for the next one (gates must pass); with cohorts, in science:
                                        move the next cohort (or --cohort's) to cutover
  rollback <env>                        ramp back to 0 (science, cutover) or back a stage
  pause <env> | resume <env>            stop / restart automatic ramping
  ramp <env> <percent>                  set the science or cutover ramp (with cohorts: of --cohort)
  approve <env>                         approve decommissioning the old store (an approver's token)
  fault <env> <rate>                    demo: make the new-store writer corrupt this share of points (0 = off)
  verify <env> [--from T] [--to T]      full diff of both stores over a range of minutes (default: the coverage
                                        horizon to the newest settled minute); follows it and prints the report
  verify status <run id | env>          a verify run's progress and report (an env: its newest run)
  repair <env> --from T --to T          rewrite the new store for those minutes from <env>.metrics, then verify
                                        them again; shows the plan and changes nothing without --yes
  repair status <run id | env>          a repair run's progress and report

local commands (no token; on a machine with the integrity key file, SWITCHYARD_INTEGRITY_KEY_FILE):
  audit verify [env]                    check the audit log's hash chain of every environment (or one): reports
                                        the first entry changed, deleted or inserted outside Switchyard; exit 1 if
                                        a chain is broken, 3 if it could not be checked
  keys list | keys rotate               the integrity keys; rotate makes a new current key (old ones keep checking)
  keys retire <id>                      drop an old key: tokens and sessions under it stop working, audit
                                        entries hashed with it are reported as unverifiable

options:
  --reason <text>     why (recorded in the audit log; required for every action)
  --override-promotion-order   start or advance even though the previous environment has not got there
                      (recorded in the audit log as an override, with your --reason)
  --demo              start with demo-scale policy (minutes instead of days)
  --request-id <id>   idempotency key (default: a new one; repeat it to retry safely)
  --cohort <name>     advance, rollback, pause, resume, ramp, fault: act on one cohort of a migration that moves
                      its apps in cohorts (without it: the whole environment; ramp needs it then)

verify and repair options:
  --from, --to <T>    ISO 8601 (2026-12-04T10:00Z), epoch ms, or now / now-30m / now-2h / now-1d
  --slices <n>        parallel slices of the key space: each a token range and a scan segment (verify; default 4)
  --rate <n>          most points read per second, both stores together (default 20000)
  --delete-extras     repair: also delete the extra items the --verify run listed in the range (those that
                      neither the log nor the old store holds)
  --verify <run id>   repair: the verify run that found those extra items (required with --delete-extras)
  --allow-partial     repair: rewrite the part of the range the topic still holds instead of refusing
  --yes               repair: carry it out (without it, only the plan is shown)
  --no-wait           start the run and return (follow it with verify status / repair status)`;

/** What the console answers for a migration's state. */
type Lookup = MigrationLookupView;

runMain(USAGE, async (argv) => {
  // Who acts is the token's owner, decided by the console: no flag may claim otherwise, and no
  // secret goes on a command line.
  for (const a of argv) {
    if (a === '--as' || a.startsWith('--as='))
      throw new UsageError('--as is gone: you act as the owner of your API token (SWITCHYARD_TOKEN), and the audit log names them');
    if (a === '--token' || a.startsWith('--token='))
      throw new UsageError('--token is not accepted (a flag lands in shell history): put the token in SWITCHYARD_TOKEN or in the token file');
  }
  const [command, ...rest] = argv;
  if (!command) throw new UsageError('no command given');
  const positional = rest.filter((a, i) => !a.startsWith('--') && !(rest[i - 1]?.startsWith('--') && !BOOLEAN_FLAGS.includes(rest[i - 1]!)));
  const flags = parseCommandLine(
    rest.filter((a) => !positional.includes(a)),
    {
      reason: { type: 'string', default: '' },
      from: { type: 'string' },
      'override-promotion-order': { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      'request-id': { type: 'string' },
      cohort: { type: 'string' },
      to: { type: 'string' },
      slices: { type: 'string' },
      rate: { type: 'string' },
      'delete-extras': { type: 'boolean', default: false },
      verify: { type: 'string' },
      'allow-partial': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
    },
  );
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'tools' });
  if (command === 'audit' || command === 'keys') {
    try {
      process.exitCode = await localCommand(cfg, command, positional);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      // Nothing checked (no key file, the table unreachable): not the same as a broken chain (1).
      console.error(err instanceof IntegrityKeyError ? err.message : `cannot check: ${(err as Error).message}`);
      process.exitCode = 3;
    }
    return;
  }
  const api = consoleApiFromEnv();
  try {
    if ((command === 'verify' || command === 'repair') && positional[0] === 'status') {
      if (!positional[1]) throw new UsageError(`${command} status: name a run id or an environment (${cfg.environments.join(', ')})`);
      process.exitCode = await runStatus(api, command, positional[1], cfg.environments);
      return;
    }
    const env = positional[0];
    const needEnv = (): string => {
      if (!env) throw new UsageError(`${command}: name the environment (${cfg.environments.join(', ')})`);
      if (!cfg.environments.includes(env)) throw new UsageError(`unknown environment '${env}' (${cfg.environments.join(', ')})`);
      return env;
    };
    const actor = { reason: flags.reason!, requestId: flags['request-id'] ?? randomUUID() };
    const cohort = flags.cohort;
    if (cohort !== undefined && !['advance', 'rollback', 'pause', 'resume', 'ramp', 'fault'].includes(command))
      throw new UsageError(`${command}: --cohort is for advance, rollback, pause, resume, ramp and fault`);
    if (cohort !== undefined && !COHORT_NAME_PATTERN.test(cohort)) throw new UsageError(`--cohort '${cohort}' is not a cohort name`);
    const inCohort = cohort === undefined ? {} : { cohort };
    // Every action lands in the audit log with its reason, so the workflow refuses actions without one.
    if (command !== 'status' && actor.reason.trim() === '') throw new UsageError(`${command}: --reason "<why>" is required (it is recorded in the audit log)`);

    if (command === 'status') {
      const envs = env ? [needEnv()] : cfg.environments;
      const answer = await callConsole<{ envs: { env: string; migration: Lookup }[] }>(
        api,
        'GET',
        `/api/ops/status${env ? `?env=${encodeURIComponent(env)}` : ''}`,
      );
      // The workflow's controlVersion is what it last published; the data plane may apply a newer
      // one (a fault-switch change) or still an older one, so status shows both (read from the topic).
      // Quiet: kafkajs would print its own ERROR lines (a broker connection closing, with stack
      // traces) between the environments; a failed read is said in the report instead.
      const kafka = createKafka(cfg, { quiet: true });
      const instances = await listLiveInstances(kafka, { timeoutMs: 10_000 }).catch((err: Error) => err);
      const admin = kafka.admin();
      await admin.connect().catch(() => undefined);
      try {
        for (const e of envs) {
          const latest = await readLatestControlState(kafka, e, 10_000).then(
            (c) => c?.version ?? 0,
            (err: Error) => err,
          );
          const m: Lookup = answer.envs.find((x) => x.env === e)?.migration ?? { kind: 'unreachable', message: 'no answer' };
          if (m.kind === 'running') console.log(formatState(m.state));
          else if (m.kind === 'none') console.log(`${e}: not started (npm run ops -- start ${e})`);
          else if (m.kind === 'closed') console.log(`${e}: ${m.status.toLowerCase()}`);
          else console.log(`${e}: unavailable (${m.message})`);
          console.log(`  next: ${nextStepLine(nextStep(m, Date.now()))}`);
          console.log(formatApplied(e, latest, instances));
          console.log(await formatWriters(admin, e, m.kind === 'running' ? m.state : undefined));
        }
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      return;
    }
    if (command === 'verify' || command === 'repair') {
      const e = needEnv();
      const numberFlag = (name: 'slices' | 'rate'): number | undefined => {
        const v = flags[name];
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} '${v}' must be a positive number`);
        return n;
      };
      const run = { wait: !flags['no-wait'] };
      const rate = numberFlag('rate');
      if (command === 'verify') {
        const slices = numberFlag('slices');
        const range = parseRange(flags.from, flags.to, false);
        const input = { ...actor, env: e, ...(range ? { range } : {}), ...(slices ? { slices } : {}), ...(rate ? { pointsPerSecond: rate } : {}) };
        process.exitCode = await runVerify(api, input, run);
      } else {
        if (flags['delete-extras'] && !flags.verify)
          throw new UsageError('repair: --delete-extras needs --verify <run id>, the verify run that found the extra items');
        const input = {
          ...actor,
          env: e,
          range: parseRange(flags.from, flags.to, true)!,
          deleteExtras: flags['delete-extras'],
          allowPartial: flags['allow-partial'],
          ...(flags.verify ? { verifyWorkflowId: flags.verify } : {}),
          ...(rate ? { pointsPerSecond: rate } : {}),
        };
        process.exitCode = await runRepair(api, input, { ...run, confirm: flags.yes! });
      }
      return;
    }
    const e = needEnv();
    let body: Record<string, unknown>;
    switch (command) {
      case 'start':
        body = { ...actor, demo: flags.demo, overridePromotionOrder: flags['override-promotion-order'] };
        break;
      case 'advance': {
        const from = flags.from;
        if (!from || !(STAGES as readonly string[]).includes(from)) throw new UsageError(`advance: --from <stage> is required (${STAGES.join(', ')})`);
        body = { ...actor, from, overridePromotionOrder: flags['override-promotion-order'], ...inCohort };
        break;
      }
      case 'rollback':
      case 'pause':
      case 'resume':
        body = { ...actor, ...inCohort };
        break;
      case 'approve':
        body = actor;
        break;
      case 'ramp': {
        const percent = positional[1] === undefined || positional[1].trim() === '' ? NaN : Number(positional[1]);
        if (!Number.isInteger(percent) || percent < 0 || percent > 100)
          throw new UsageError(`ramp: percent '${positional[1] ?? ''}' must be a whole number from 0 to 100`);
        body = { ...actor, percent, ...inCohort };
        break;
      }
      case 'fault': {
        const rate = Number(positional[1]);
        if (positional[1] === undefined || positional[1].trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
          throw new UsageError(`fault: rate '${positional[1] ?? ''}' must be a number from 0 to 1`);
        }
        body = { ...actor, rate, ...inCohort };
        break;
      }
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
    const answer = await callConsole<{ actor: string; result: UpdateResult }>(api, 'POST', `/api/ops/envs/${encodeURIComponent(e)}/${command}`, body);
    const r = answer.result;
    console.log(
      `${e}: ${humanizeTimes(r.message)} (stage ${r.stage}, ramp ${r.ramp}%${r.cohort ? `, cohort ${r.cohort}` : ''}, control state v${r.controlVersion}; as ${answer.actor})`,
    );
  } catch (err) {
    if (err instanceof ConsoleApiError) {
      // 409: the workflow refused the request (its reason); 401/403: the token or the role; others: say what the console said.
      const message = refusalWords(err.message, 'cli');
      console.error(err.status === 409 ? message : `refused (${err.status || 'no answer'}): ${message}`);
      process.exitCode = err.status === 0 || err.status >= 500 ? 3 : 1;
      return;
    }
    throw err;
  }
});

/** `audit verify [env]` and `keys ...`: run here with the integrity key file, not through the console. */
async function localCommand(cfg: SwitchyardConfig, command: 'audit' | 'keys', args: string[]): Promise<number> {
  const file = integrityKeyFile(cfg);
  const [sub, arg] = args;
  if (command === 'keys') {
    if (sub === 'list' || sub === undefined) {
      for (const k of listIntegrityKeys(file)) console.log(`${k.id}${k.current ? ' (current)' : ''}  made ${k.createdAt}`);
      console.log(`key file: ${file}`);
    } else if (sub === 'rotate') {
      console.log(`new current key ${rotateIntegrityKey(file)} in ${file}; the older keys still check what they made (keys retire <id> drops one)`);
    } else if (sub === 'retire') {
      if (!arg) throw new UsageError('keys retire: name the key (keys list shows them)');
      retireIntegrityKey(file, arg);
      console.log(`retired key ${arg}: tokens and sessions under it no longer work; audit entries it hashed no longer check`);
    } else throw new UsageError(`keys: '${sub}' is not list, rotate or retire`);
    return 0;
  }
  if (sub !== 'verify') throw new UsageError(`audit: '${sub ?? ''}' is not a command (audit verify [env])`);
  if (arg !== undefined && !cfg.environments.includes(arg)) throw new UsageError(`unknown environment '${arg}' (${cfg.environments.join(', ')})`);
  const keys = loadIntegrityKeys(file);
  const dynamo = createDynamoClient(cfg);
  try {
    let broken = 0;
    for (const env of arg ? [arg] : cfg.environments) {
      const report = await verifyAuditChain(dynamo, env, keys);
      if (report.broken) broken++;
      console.log(describeChain(report));
    }
    return broken > 0 ? 1 : 0;
  } finally {
    dynamo.destroy();
  }
}

/** Which control-state version the env's topic holds and which versions its live instances apply. */
function formatApplied(env: string, latest: number | Error, instances: Heartbeat[] | Error): string {
  const topic = latest instanceof Error ? `newest on the control topic unknown (${latest.message})` : `newest on the control topic v${latest}`;
  if (instances instanceof Error) return `  ${topic}; instances unknown (${instances.message})`;
  const mine = instances.filter((h) => h.env === env);
  if (mine.length === 0) return `  ${topic}; no live data-plane instance`;
  const byVersion = new Map<number, string[]>();
  for (const h of mine) byVersion.set(h.appliedVersion, [...(byVersion.get(h.appliedVersion) ?? []), h.instanceId]);
  const parts = [...byVersion.entries()].sort((a, b) => b[0] - a[0]).map(([v, ids]) => `v${v} on ${ids.length} (${ids.join(', ')})`);
  return `  ${topic}; live instances apply ${parts.join('; ')}`;
}

/**
 * How far behind each store's writers are now, measured from the metrics topic (time and
 * points), and whether the workflow holds automatic ramping for it.
 */
async function formatWriters(admin: Admin, env: string, s: MigrationStateView | undefined): Promise<string> {
  const topic = envTopics(env).metrics;
  // Bounded: status answers within seconds even when Kafka is slow; a lag it could not measure says "unknown".
  const lag = async (sink: 'cassandra' | 'dynamodb') =>
    withTimeout(measureGroupLag(admin, topic, writerGroup(env, sink)), 5_000, `the ${sink} writer's lag`).catch(() => null);
  const [oldLag, newLag] = await Promise.all([lag('cassandra'), lag('dynamodb')]);
  const hold = s?.writerHold ? `; automatic ramping holds since ${formatUtc(s.writerHold.since)}${s.writerHold.outage ? ' (an outage: notified)' : ''}` : '';
  return `  writers: ${describeWriterLag('old', oldLag)}; ${describeWriterLag('new', newLag)}${hold}`;
}

/** One environment's state as a few readable lines, in the console's units (UTC times, percents with their sample). */
function formatState(s: MigrationStateView): string {
  const lines = [
    `${s.env}: ${s.stage}${s.ramp ? ` ${s.ramp}%` : ''}${s.paused ? ' (paused)' : ''}${s.pendingApproval ? ' (awaiting decommission approval)' : ''}`,
    `  coverage horizon ${formatUtc(s.coverageHorizon)}; control state v${s.controlVersion}${s.ttlGateAt !== null ? `; TTL gate ${formatUtc(s.ttlGateAt)}` : ''}`,
  ];
  if (s.rolledBack) lines.push(`  ROLLED BACK automatically at ${formatUtc(s.rolledBack.at)}: ${humanizeTimes(s.rolledBack.reason)}`);
  for (const c of s.cohorts ?? []) lines.push(formatCohort(c));
  for (const g of s.gates) lines.push(`  gate ${g.name} ${g.passed ? 'met' : 'not met'}: ${gateDetailWords(g)}`);
  const last = s.evaluations[s.evaluations.length - 1];
  if (last) {
    const need = s.policy?.minSamplesForRollback ?? 1;
    const judged = last.comparisons < need ? '' : last.mismatchRate > (s.policy?.maxMismatchRate ?? 1) ? ', above the gate' : ', within the gate';
    const window = s.policy ? ` over ${formatDurationWords(s.policy.evaluationWindowMs)}` : '';
    lines.push(
      `  last evaluation ${formatUtc(last.at)} at ${last.stage} ${last.ramp}%: mismatch rate ${formatSampledRate(last.mismatches, last.comparisons, need)}${window}${judged}`,
    );
  }
  if (s.faultRate) lines.push(`  fault switch on: the new-store writer corrupts ${formatPercent(s.faultRate)} of points`);
  return lines.join('\n');
}

/** One cohort's line of `status`: where it is, its latest figures, and what happens next. */
function formatCohort(c: CohortState): string {
  const where =
    c.stage === 'cutover' ? `cutover ${c.ramp}% (served by the new store)` : c.ramp === 0 ? 'science 0% (not begun)' : `science ${c.ramp}% (compared)`;
  const holds = c.rolledBack ? ` ROLLED BACK at ${formatUtc(c.rolledBack.at)}: ${humanizeTimes(c.rolledBack.reason)}` : c.paused ? ' (paused)' : '';
  const e = c.evaluation;
  const figures = e ? `; mismatch rate ${formatSampledRate(e.mismatches, e.comparisons)}` : '';
  return `  cohort ${c.name}: ${where}${holds}${figures}; next: ${c.next ? humanizeTimes(c.next) : 'the next evaluation'}`;
}
