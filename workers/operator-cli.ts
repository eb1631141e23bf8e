/**
 * `npm run ops -- <command>`: the operator CLI. It uses the same Temporal Updates as the console,
 * so every action is validated by the workflow, carries the operator's identity and reason, and
 * lands in the audit log.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { connectTemporal, createKafka } from '../config/clients.js';
import { loadConfig } from '../config/config.js';
import { policyFor } from '../config/migration-policy.js';
import { parseCommandLine, runMain, UsageError } from '../kit/cli.js';
import { listLiveInstances, readLatestControlState } from '../pipeline/clients/control-state-publisher.js';
import type { Heartbeat } from '../pipeline/kernel/control/control-state.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  STAGES,
  STATE_QUERY_NAME,
  UPDATE_NAMES,
  type MigrationState,
  type UpdateResult,
} from '../contract/index.js';
import { parseRange, repairStatus, runRepair, runVerify, verifyStatus } from './verify-commands.js';

/** Flags that take no value (so the word after them is a positional). */
const BOOLEAN_FLAGS = ['--override-promotion-order', '--demo', '--delete-extras', '--allow-partial', '--yes', '--no-wait'];

const USAGE = `usage: npm run ops -- <command> [options]

commands:
  status [env]                          stage, ramp, horizon, gates and timers of every environment
  start <env>                           start the migration workflow and enter dual write
  advance <env> --from <stage>          leave <stage> for the next one (gates must pass)
  rollback <env>                        ramp back to 0 (science, cutover) or back a stage
  pause <env> | resume <env>            stop / restart automatic ramping
  ramp <env> <percent>                  set the science or cutover ramp
  approve <env>                         approve decommissioning the old store
  fault <env> <rate>                    demo: make the new-store writer corrupt this share of points (0 = off)
  verify <env> [--from T] [--to T]      full diff of both stores over a range of minutes (default: the coverage
                                        horizon to the newest settled minute); follows it and prints the report
  verify status <run id | env>          a verify run's progress and report (an env: its newest run)
  repair <env> --from T --to T          rewrite the new store for those minutes from <env>.metrics, then verify
                                        them again; shows the plan and changes nothing without --yes
  repair status <run id | env>          a repair run's progress and report

options:
  --reason <text>     why (recorded in the audit log; required for every action)
  --as <identity>     operator identity (default $SWITCHYARD_OPERATOR or the OS user)
  --override-promotion-order   advance even though the previous environment has not got there
  --demo              start with demo-scale policy (minutes instead of days)
  --request-id <id>   idempotency key (default: a new one; repeat it to retry safely)

verify and repair options:
  --from, --to <T>    ISO 8601 (2026-12-04T10:00Z), epoch ms, or now / now-30m / now-2h / now-1d
  --slices <n>        parallel slices of the key space: token ranges / scan segments (verify; default 4)
  --rate <n>          most points read per second, both stores together (default 20000)
  --delete-extras     repair: also delete the extra items the --verify run listed in the range (those that
                      neither the log nor the old store holds)
  --verify <run id>   repair: the verify run that found those extra items (required with --delete-extras)
  --allow-partial     repair: rewrite the part of the range the topic still holds instead of refusing
  --yes               repair: carry it out (without it, only the plan is shown)
  --no-wait           start the run and return (follow it with verify status / repair status)`;

runMain(USAGE, async (argv) => {
  const [command, ...rest] = argv;
  if (!command) throw new UsageError('no command given');
  const positional = rest.filter((a, i) => !a.startsWith('--') && !(rest[i - 1]?.startsWith('--') && !BOOLEAN_FLAGS.includes(rest[i - 1]!)));
  const flags = parseCommandLine(
    rest.filter((a) => !positional.includes(a)),
    {
      reason: { type: 'string', default: '' },
      as: { type: 'string', default: process.env.SWITCHYARD_OPERATOR ?? os.userInfo().username },
      from: { type: 'string' },
      'override-promotion-order': { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      'request-id': { type: 'string' },
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
  const cfg = loadConfig();
  if ((command === 'verify' || command === 'repair') && positional[0] === 'status') {
    if (!positional[1]) throw new UsageError(`${command} status: name a run id or an environment (${cfg.environments.join(', ')})`);
    const connection = await connectTemporal(cfg);
    try {
      const client = new Client({ connection, namespace: cfg.temporal.namespace });
      process.exitCode = await (command === 'verify' ? verifyStatus : repairStatus)(client, positional[1], cfg.environments);
    } finally {
      await connection.close();
    }
    return;
  }
  const env = positional[0];
  const needEnv = (): string => {
    if (!env) throw new UsageError(`${command}: name the environment (${cfg.environments.join(', ')})`);
    if (!cfg.environments.includes(env)) throw new UsageError(`unknown environment '${env}' (${cfg.environments.join(', ')})`);
    return env;
  };
  const actor = { identity: flags.as!, reason: flags.reason!, requestId: flags['request-id'] ?? randomUUID() };
  // Every action lands in the audit log with its reason, so the workflow refuses actions without one.
  if (command !== 'status' && actor.reason.trim() === '') throw new UsageError(`${command}: --reason "<why>" is required (it is recorded in the audit log)`);

  let faultRate: number | undefined;
  if (command === 'fault') {
    faultRate = Number(positional[1]);
    if (positional[1] === undefined || positional[1].trim() === '' || !Number.isFinite(faultRate) || faultRate < 0 || faultRate > 1) {
      throw new UsageError(`fault: rate '${positional[1] ?? ''}' must be a number from 0 to 1`);
    }
  }

  const connection = await connectTemporal(cfg);
  const client = new Client({ connection, namespace: cfg.temporal.namespace });
  try {
    if (command === 'verify' || command === 'repair') {
      const e = needEnv();
      const numberFlag = (name: 'slices' | 'rate'): number | undefined => {
        const v = flags[name];
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} '${v}' must be a positive number`);
        return n;
      };
      const run = { taskQueue: cfg.temporal.taskQueue, wait: !flags['no-wait'] };
      const rate = numberFlag('rate');
      if (command === 'verify') {
        const slices = numberFlag('slices');
        const input = {
          ...actor,
          env: e,
          range: parseRange(flags.from, flags.to, false),
          ...(slices ? { slices } : {}),
          ...(rate ? { pointsPerSecond: rate } : {}),
        };
        process.exitCode = await runVerify(client, input, run);
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
        process.exitCode = await runRepair(client, input, { ...run, confirm: flags.yes! });
      }
      return;
    }
    if (command === 'status') {
      const envs = env ? [needEnv()] : cfg.environments;
      // The workflow's controlVersion is what it last published; the data plane may apply a newer
      // one (a fault-switch change) or still an older one, so status shows both.
      const kafka = createKafka(cfg);
      const instances = await listLiveInstances(kafka, { timeoutMs: 10_000 }).catch((err: Error) => err);
      const latest = new Map<string, number | Error>();
      for (const e of envs)
        latest.set(
          e,
          await readLatestControlState(kafka, e, 10_000).then(
            (c) => c?.version ?? 0,
            (err: Error) => err,
          ),
        );
      for (const e of envs) {
        try {
          const s = await client.workflow.getHandle(migrationWorkflowId(e)).query<MigrationState>(STATE_QUERY_NAME);
          console.log(formatState(s));
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) console.log(`${e}: not started (npm run ops -- start ${e})`);
          else console.log(`${e}: unavailable (${(err as Error).message})`);
        }
        console.log(formatApplied(e, latest.get(e)!, instances));
      }
      return;
    }
    const e = needEnv();
    const handle = client.workflow.getHandle(migrationWorkflowId(e));
    if (command === 'start') {
      try {
        await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
          workflowId: migrationWorkflowId(e),
          taskQueue: cfg.temporal.taskQueue,
          args: [{ env: e, policy: policyFor(e, cfg.environments, flags.demo ? 'demo' : 'production') }],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    const update = (name: string, arg: unknown): Promise<UpdateResult> =>
      handle.executeUpdate<UpdateResult, [unknown]>(name, { args: [arg], updateId: actor.requestId });
    let result: UpdateResult;
    switch (command) {
      case 'start':
        result = await update(UPDATE_NAMES.start, actor);
        break;
      case 'advance': {
        const from = flags.from;
        if (!from || !(STAGES as readonly string[]).includes(from)) throw new UsageError(`advance: --from <stage> is required (${STAGES.join(', ')})`);
        result = await update(UPDATE_NAMES.advance, { ...actor, from, overridePromotionOrder: flags['override-promotion-order'] });
        break;
      }
      case 'rollback':
        result = await update(UPDATE_NAMES.rollback, actor);
        break;
      case 'pause':
        result = await update(UPDATE_NAMES.pause, actor);
        break;
      case 'resume':
        result = await update(UPDATE_NAMES.resume, actor);
        break;
      case 'ramp': {
        const percent = Number(positional[1]);
        if (!Number.isFinite(percent)) throw new UsageError(`ramp: percent '${positional[1]}' is not a number`);
        result = await update(UPDATE_NAMES.set_ramp, { ...actor, percent });
        break;
      }
      case 'approve':
        result = await update(UPDATE_NAMES.approve_decommission, actor);
        break;
      case 'fault':
        // Through the workflow, so the change is published, acknowledged and audited like any other.
        result = await update(UPDATE_NAMES.set_fault, { ...actor, newWriterCorruptionRate: faultRate });
        break;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
    console.log(`${e}: ${result.message} (stage ${result.stage}, ramp ${result.ramp}%, control state v${result.controlVersion})`);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      console.error(`rejected: ${err.cause?.message ?? err.message}`);
      process.exitCode = 1;
      return;
    }
    if (err instanceof WorkflowNotFoundError) {
      console.error(`${env}: no migration running (npm run ops -- start ${env})`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await connection.close();
  }
});

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

/** One environment's state as a few readable lines. */
function formatState(s: MigrationState): string {
  const t = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());
  const lines = [
    `${s.env}: ${s.stage}${s.ramp ? ` ${s.ramp}%` : ''}${s.paused ? ' (paused)' : ''}${s.pendingApproval ? ' (awaiting decommission approval)' : ''}`,
    `  coverage horizon ${t(s.coverageHorizon)}; control state v${s.controlVersion}; TTL gate ${t(s.ttlGateAt)}`,
  ];
  if (s.rolledBack) lines.push(`  ROLLED BACK automatically at ${t(s.rolledBack.at)}: ${s.rolledBack.reason}`);
  for (const g of s.gates) lines.push(`  gate ${g.passed ? 'ok ' : 'NOT'} ${g.name}: ${g.detail}`);
  const last = s.evaluations[s.evaluations.length - 1];
  if (last)
    lines.push(`  last evaluation ${t(last.at)}: ${last.comparisons} comparisons, mismatch rate ${(last.mismatchRate * 100).toFixed(3)}%, ${last.verdict}`);
  return lines.join('\n');
}
