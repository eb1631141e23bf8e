/**
 * The verify and repair commands of the operator CLI: start a run, follow its progress, and show
 * a run's report (`npm run ops -- verify|repair ...`). A run is a workflow of its own; the CLI
 * asks the console to start it (as the API token's owner), then polls its progress through the
 * console until it ends (unless --no-wait).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DIFF_CLASSES,
  formatDuration,
  formatMinute,
  formatMinuteRange,
  MINUTE_MS,
  type MinuteRange,
  type RepairInput,
  type RepairReport,
  type VerifyInput,
  type VerifyReport,
} from '../contract/index.js';
import { UsageError } from '../kit/cli.js';
import { callConsole, ConsoleApiError, type ConsoleApi } from './console-api.js';

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

/** A run as the console's operator API answers it. */
interface RunAnswer<R> {
  id: string;
  status: string;
  report: R;
}

/** An env's newest runs of a kind (newest first), from the console. */
async function listRuns(api: ConsoleApi, kind: 'verify' | 'repair', env: string): Promise<{ workflowId: string; startTime: string; status: string }[]> {
  return (
    await callConsole<{ runs: { workflowId: string; startTime: string; status: string }[] }>(
      api,
      'GET',
      `/api/ops/runs?kind=${kind}&env=${encodeURIComponent(env)}`,
    )
  ).runs;
}

/** Polls a run's progress through the console, printing a line when it changes, until it ends; returns the final report. */
async function follow<R>(api: ConsoleApi, kind: 'verify' | 'repair', id: string, line: (r: R) => string): Promise<R> {
  let last = '';
  for (;;) {
    let answer: RunAnswer<R>;
    try {
      answer = await callConsole<RunAnswer<R>>(api, 'GET', `/api/ops/runs?kind=${kind}&id=${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof ConsoleApiError && err.status !== 503) throw err;
      await sleep(1000);
      continue;
    }
    const text = line(answer.report);
    if (text !== last) console.error(text);
    last = text;
    if (answer.status !== 'RUNNING') return answer.report;
    await sleep(2000);
  }
}

const verifyLine = (r: VerifyReport): string =>
  `verify ${r.status} ${Math.round(r.progress * 100)}%: ${r.counts.compared} minutes compared, ${DIFF_CLASSES.map((k) => `${k} ${r.counts[k]}`).join(', ')}, ${r.pointsPerSecond} minutes compared/s, ETA ${duration(r.etaMs)}`;
const repairLine = (r: RepairReport): string =>
  `repair ${r.status}${r.plan ? `: ${r.readSoFar} of ${r.plan.messages} messages read (${Math.round((r.progress ?? 0) * 100)}%)` : ''}${r.replay ? `, ${r.replay.written} points written` : ''}${r.verify ? `, re-verify ${r.verify.status}` : ''}`;

export interface RunOptions {
  wait: boolean;
}

/** `verify <env>`: starts a run through the console; with wait, follows it and prints its report. Exit code 1 when it is not clean. */
export async function runVerify(api: ConsoleApi, input: Omit<VerifyInput, 'identity'>, o: RunOptions): Promise<number> {
  const { env, ...body } = input;
  const started = await callConsole<{ workflowId: string; alreadyStarted: boolean; actor: string }>(
    api,
    'POST',
    `/api/ops/envs/${encodeURIComponent(env)}/verify`,
    body,
  );
  const id = started.workflowId;
  console.log(`${started.alreadyStarted ? 'already started' : 'started'} ${id} as ${started.actor} (npm run ops -- verify status ${id})`);
  if (!o.wait) return 0;
  const r = await follow<VerifyReport>(api, 'verify', id, verifyLine);
  console.log(formatVerifyReport(r));
  return r.status === 'clean' ? 0 : 1;
}

/** `repair <env>`: plans the repair through the console and shows it; with confirm, runs it (and follows it with wait). */
export async function runRepair(api: ConsoleApi, input: Omit<RepairInput, 'identity'>, o: RunOptions & { confirm: boolean }): Promise<number> {
  const { env, ...body } = input;
  const path = `/api/ops/envs/${encodeURIComponent(env)}/repair`;
  const planned = await callConsole<{ plan: RepairReport }>(api, 'POST', path, { ...body, confirm: false });
  console.log(formatRepairReport(planned.plan));
  if (!o.confirm) {
    console.log('nothing changed: run again with --yes to carry out this repair');
    return 0;
  }
  const started = await callConsole<{ workflowId: string; alreadyStarted: boolean; actor: string }>(api, 'POST', path, { ...body, confirm: true });
  const id = started.workflowId;
  console.log(`${started.alreadyStarted ? 'already started' : 'started'} ${id} as ${started.actor} (npm run ops -- repair status ${id})`);
  if (!o.wait) return 0;
  const r = await follow<RepairReport>(api, 'repair', id, repairLine);
  console.log(formatRepairReport(r));
  return r.status === 'repaired' ? 0 : 1;
}

/**
 * `verify status <id|env>`, `repair status <id|env>`: a run's report, or the newest run of an env
 * of that kind and the runs before it.
 */
export async function runStatus(api: ConsoleApi, kind: 'verify' | 'repair', idOrEnv: string, envs: string[]): Promise<number> {
  let id = idOrEnv;
  if (envs.includes(idOrEnv)) {
    const runs = await listRuns(api, kind, idOrEnv);
    if (runs.length === 0) {
      console.log(`${idOrEnv}: no ${kind} run yet${kind === 'verify' ? ` (npm run ops -- verify ${idOrEnv} --reason "...")` : ''}`);
      return 0;
    }
    id = runs[0]!.workflowId;
    for (const r of runs.slice(1)) console.log(`earlier: ${r.workflowId} ${r.status.toLowerCase()} (started ${r.startTime})`);
  }
  try {
    const path = `/api/ops/runs?kind=${kind}&id=${encodeURIComponent(id)}`;
    console.log(
      kind === 'verify'
        ? formatVerifyReport((await callConsole<RunAnswer<VerifyReport>>(api, 'GET', path)).report, 5)
        : formatRepairReport((await callConsole<RunAnswer<RepairReport>>(api, 'GET', path)).report),
    );
  } catch (err) {
    if (err instanceof ConsoleApiError && err.status === 404) throw new UsageError(`no ${kind} run '${id}' (name a run id or an environment)`);
    throw err;
  }
  return 0;
}
