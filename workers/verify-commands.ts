/**
 * The verify and repair commands of the operator CLI: start a run, follow its progress, and show
 * a run's report (`npm run ops -- verify|repair ...`). A run is a workflow of its own; the CLI
 * starts it, then (with --wait, the default on a terminal) polls its progress query until it ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  DIFF_CLASSES,
  formatDuration,
  formatMinute,
  formatMinuteRange,
  REPAIR_PROGRESS_QUERY,
  REPAIR_WORKFLOW_TYPE,
  repairWorkflowId,
  VERIFY_PROGRESS_QUERY,
  VERIFY_WORKFLOW_TYPE,
  verifyWorkflowId,
  type MinuteRange,
  type RepairInput,
  type RepairReport,
  type VerifyInput,
  type VerifyReport,
} from '../contract/index.js';
import { UsageError } from '../kit/cli.js';
import { innermost, listRuns } from '../kit/workflow-runs.js';

const MINUTE_MS = 60_000;

/** A time given on the command line (ISO 8601, epoch ms, or `now`, `now-2h`, `now-30m`), as the minute it falls in. */
export function parseMinute(flag: string, text: string, now = Date.now()): number {
  const rel = /^now(?:-(\d+)([smhd]))?$/.exec(text.trim());
  let ms: number;
  if (rel) {
    const unit = { s: 1000, m: MINUTE_MS, h: 3_600_000, d: 86_400_000 }[(rel[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
    ms = now - Number(rel[1] ?? 0) * unit;
  } else if (/^\d{10,16}$/.test(text.trim())) ms = Number(text);
  else ms = Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`${flag} '${text}' is not a time (ISO 8601 like 2026-12-04T10:00Z, epoch ms, or now-2h)`);
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** The range of --from/--to (either may be absent for verify, where the default applies). */
export function parseRange(from: string | undefined, to: string | undefined, required: boolean, now = Date.now()): MinuteRange | undefined {
  if (from === undefined && to === undefined) {
    if (required) throw new UsageError('--from <time> and --to <time> are required: the minutes to rewrite');
    return undefined;
  }
  const fromMinute = from === undefined ? 0 : parseMinute('--from', from, now);
  const toMinute = to === undefined ? parseMinute('--to', 'now', now) : parseMinute('--to', to, now);
  if (fromMinute > toMinute) throw new UsageError(`--from (${new Date(fromMinute).toISOString()}) is after --to (${new Date(toMinute).toISOString()})`);
  return { fromMinute, toMinute };
}

const iso = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '-' : formatMinute(ms));
const range = (r: MinuteRange | null | undefined): string => (r ? formatMinuteRange(r) : '-');
const duration = (ms: number | null): string => (ms === null ? '-' : formatDuration(ms));

/** A verify report as a few readable lines. */
export function formatVerifyReport(r: VerifyReport, samples = 3): string {
  const c = r.counts;
  const lines = [
    `${r.workflowId}: ${r.status.toUpperCase()}  ${Math.round(r.progress * 100)}%  (${r.env}, by ${r.actor}: ${r.reason})`,
    `  range ${range(r.plan?.range)}${r.plan?.unsettledMinutesLeftOut ? `; ${r.plan.unsettledMinutesLeftOut} unsettled minutes of the request left out` : ''}`,
    `  series ${r.seriesDoneBySlice.reduce((a, b) => a + b, 0)} compared in ${r.plan?.slices ?? '?'} slices; ` +
      `points read old ${c.oldPoints} / new ${c.newPoints}; minutes compared ${c.compared}, matched ${c.matched}`,
    `  ${DIFF_CLASSES.map((k) => `${k} ${c[k]}`).join(', ')}; unsettled (not judged) ${c.unsettled}`,
    `  ${r.pointsPerSecond} minutes compared/s; ${r.finishedAt === null ? `ETA ${duration(r.etaMs)}` : `took ${duration(r.finishedAt - r.startedAt)}`}`,
  ];
  if (r.error) lines.push(`  error: ${r.error}`);
  for (const k of DIFF_CLASSES) {
    for (const s of r.samples[k].slice(0, samples)) {
      lines.push(
        `  ${k} ${s.app} ${s.metric} ${iso(s.minute)}: old ${JSON.stringify(s.old ?? null)} new ${JSON.stringify(s.new ?? null)}${s.fields ? ` (${s.fields.join(', ')})` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

/** A repair plan or report as readable lines. */
export function formatRepairReport(r: RepairReport): string {
  const p = r.plan;
  const lines = [`${r.workflowId}: ${r.status.toUpperCase()}  (${r.env}, by ${r.actor}: ${r.reason})`];
  if (p) {
    lines.push(`  rewrites ${range(p.range)} of the new store from ${p.topic}: ${p.messages} messages in ${p.partitions.length} partitions`);
    if (p.uncovered)
      lines.push(
        `  CANNOT repair ${range(p.uncovered)}: the topic no longer holds those minutes (by its log start and retention; oldest covered ${iso(p.oldestCoveredMinute)})`,
      );
    if (p.deleteExtras)
      lines.push(
        `  deletes the ${p.extraItems.length} extra items ${p.extrasFoundBy} listed in the range (of ${p.extrasFound} it found), unless the log or the old store holds them`,
      );
  }
  if (r.replay) {
    const x = r.replay;
    lines.push(
      `  replay: read ${x.read}, written ${x.written}, outside the range ${x.outOfRange}, invalid ${x.invalid}, refused ${x.rejected}, expired ${x.expired}, deleted ${x.deleted}, extras kept ${x.keptExtras}`,
    );
  }
  if (r.verify) lines.push(formatVerifyReport(r.verify).replace(/^/gm, '  '));
  else if (r.verifyWorkflowId) lines.push(`  re-verify ${r.verifyWorkflowId} running`);
  if (r.error) lines.push(`  error: ${r.error}`);
  return lines.join('\n');
}

/** Polls a run's progress query, printing a line when it changes, until it ends; returns the final report. */
async function follow<R extends { status: string; finishedAt: number | null }>(client: Client, id: string, query: string, line: (r: R) => string): Promise<R> {
  const handle = client.workflow.getHandle(id);
  let last = '';
  for (;;) {
    let r: R;
    try {
      r = await handle.query<R>(query);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw err;
      await sleep(1000);
      continue;
    }
    const text = line(r);
    if (text !== last) console.error(text);
    last = text;
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') {
      try {
        return (await handle.result()) as R;
      } catch (err) {
        if (err instanceof WorkflowFailedError) return await handle.query<R>(query);
        throw err;
      }
    }
    await sleep(2000);
  }
}

const verifyLine = (r: VerifyReport): string =>
  `verify ${r.status} ${Math.round(r.progress * 100)}%: ${r.counts.compared} minutes compared, ${DIFF_CLASSES.map((k) => `${k} ${r.counts[k]}`).join(', ')}, ${r.pointsPerSecond} minutes compared/s, ETA ${duration(r.etaMs)}`;
const repairLine = (r: RepairReport): string =>
  `repair ${r.status}${r.plan ? `: ${r.readSoFar} of ${r.plan.messages} messages read (${Math.round((r.progress ?? 0) * 100)}%)` : ''}${r.replay ? `, ${r.replay.written} points written` : ''}${r.verify ? `, re-verify ${r.verify.status}` : ''}`;

export interface RunOptions {
  taskQueue: string;
  wait: boolean;
}

/** `verify <env>`: starts a run; with wait, follows it and prints its report. Exit code 1 when it is not clean. */
export async function runVerify(client: Client, input: VerifyInput, o: RunOptions): Promise<number> {
  const id = verifyWorkflowId(input.env, input.requestId);
  await client.workflow.start(VERIFY_WORKFLOW_TYPE, { workflowId: id, taskQueue: o.taskQueue, args: [input] });
  console.log(`started ${id} (npm run ops -- verify status ${id})`);
  if (!o.wait) return 0;
  const r = await follow<VerifyReport>(client, id, VERIFY_PROGRESS_QUERY, verifyLine);
  console.log(formatVerifyReport(r));
  return r.status === 'clean' ? 0 : 1;
}

/** `verify status <id|env>`: a run's report, or the newest run of an env and the runs before it. */
export async function verifyStatus(client: Client, idOrEnv: string, envs: string[]): Promise<number> {
  let id = idOrEnv;
  if (envs.includes(idOrEnv)) {
    const runs = await listRuns(client, VERIFY_WORKFLOW_TYPE, verifyWorkflowId, idOrEnv, envs, 10);
    if (runs.length === 0) {
      console.log(`${idOrEnv}: no verify run yet (npm run ops -- verify ${idOrEnv} --reason "...")`);
      return 0;
    }
    id = runs[0]!.workflowId;
    for (const r of runs.slice(1)) console.log(`earlier: ${r.workflowId} ${r.status.toLowerCase()} (started ${new Date(r.startTime).toISOString()})`);
  }
  try {
    console.log(formatVerifyReport(await client.workflow.getHandle(id).query<VerifyReport>(VERIFY_PROGRESS_QUERY), 5));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no verify run '${id}' (name a run id or an environment)`);
    throw err;
  }
  return 0;
}

/** `repair <env>`: plans the repair and shows it; with confirm, runs it (and follows it with wait). */
export async function runRepair(client: Client, input: RepairInput, o: RunOptions & { confirm: boolean }): Promise<number> {
  const planId = repairWorkflowId(input.env, `${input.requestId}-plan`);
  const planned = await client.workflow
    .execute(REPAIR_WORKFLOW_TYPE, { workflowId: planId, taskQueue: o.taskQueue, args: [{ ...input, planOnly: true }] })
    .catch(async (err: unknown) => {
      if (err instanceof WorkflowFailedError) throw new Error(`the repair was refused: ${innermost(err)}`);
      throw err;
    });
  const plan = planned as RepairReport;
  console.log(formatRepairReport(plan));
  if (!o.confirm) {
    console.log('nothing changed: run again with --yes to carry out this repair');
    return 0;
  }
  const id = repairWorkflowId(input.env, input.requestId);
  await client.workflow.start(REPAIR_WORKFLOW_TYPE, { workflowId: id, taskQueue: o.taskQueue, args: [input] });
  console.log(`started ${id} (npm run ops -- repair status ${id})`);
  if (!o.wait) return 0;
  const r = await follow<RepairReport>(client, id, REPAIR_PROGRESS_QUERY, repairLine);
  console.log(formatRepairReport(r));
  return r.status === 'repaired' ? 0 : 1;
}

/** `repair status <id|env>`. */
export async function repairStatus(client: Client, idOrEnv: string, envs: string[]): Promise<number> {
  let id = idOrEnv;
  if (envs.includes(idOrEnv)) {
    const runs = (await listRuns(client, REPAIR_WORKFLOW_TYPE, repairWorkflowId, idOrEnv, envs, 20)).filter((r) => !r.workflowId.endsWith('-plan'));
    if (runs.length === 0) {
      console.log(`${idOrEnv}: no repair run yet`);
      return 0;
    }
    id = runs[0]!.workflowId;
  }
  try {
    console.log(formatRepairReport(await client.workflow.getHandle(id).query<RepairReport>(REPAIR_PROGRESS_QUERY)));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no repair run '${id}' (name a run id or an environment)`);
    throw err;
  }
  return 0;
}
