/**
 * The verify workflow: a full diff of an environment's two stores over a range of minutes (one
 * run per request, id verifyWorkflowId(env, requestId)). It plans the run (range, horizon,
 * tolerance, series per slice), records its start in the audit history, compares every slice in
 * parallel in chunks (each chunk an activity that heartbeats its position, so a killed worker's
 * chunk resumes where it was), keeps the running report for the progress query, and records the
 * outcome. The report is the result.
 */
import { ApplicationFailure, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  countDifferences,
  emptyVerifyCounts,
  ENV_NAME_PATTERN,
  VERIFY_EXTRA_ITEMS_LIMIT,
  VerifyFailureType,
  type DiffClass,
  type DiffSample,
  type MinuteRange,
  type RepairInput,
  type VerifyActivities,
  type VerifyCounts,
  type VerifyInput,
  type VerifyReport,
  type VerifySliceResult,
  type VerifySlicePosition,
} from '../contract/index.js';
import { verifyProgressQuery } from '../contract/verify-messages.js';
import { actorProblem } from './migration-input.js';

/** Defaults of a run. */
export const VERIFY_DEFAULTS = { slices: 4, pointsPerSecond: 20_000, sampleLimit: 20, chunkSeries: 500, chunkMs: 15_000 } as const;

const planning = proxyActivities<VerifyActivities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [VerifyFailureType.invalidInput],
  },
});
// A chunk runs up to chunkMs plus the series in flight; a silent worker is noticed within 30 s.
const comparing = proxyActivities<VerifyActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: [VerifyFailureType.invalidInput] },
});
/** Records a run's start and outcome in the migration's audit history (shared with the repair workflow). */
export const recording = proxyActivities<VerifyActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [VerifyFailureType.invalidInput],
  },
});

/** Why a verify request is unusable, or null. */
export function verifyInputProblem(input: VerifyInput): string | null {
  if (input === null || typeof input !== 'object') return 'the input must be { env, identity, reason, requestId, range?, slices?, pointsPerSecond? }';
  if (typeof input.env !== 'string' || !ENV_NAME_PATTERN.test(input.env)) return `env ${JSON.stringify(input.env)} is not an environment name`;
  const actor = actorProblem(input);
  if (actor !== null) return actor;
  if (input.slices !== undefined && (!Number.isInteger(input.slices) || input.slices < 1 || input.slices > 64))
    return 'slices must be a whole number from 1 to 64';
  if (input.pointsPerSecond !== undefined && (typeof input.pointsPerSecond !== 'number' || !(input.pointsPerSecond > 0)))
    return 'pointsPerSecond must be a positive number';
  if (input.sampleLimit !== undefined && (!Number.isInteger(input.sampleLimit) || input.sampleLimit < 0 || input.sampleLimit > 200))
    return 'sampleLimit must be a whole number from 0 to 200';
  return null;
}

function emptySamples(): Record<DiffClass, DiffSample[]> {
  return { missing: [], extra: [], value_drift: [], expired_returned: [] };
}

/** The figures an audit entry keeps of a report. */
export function reportSummary(r: VerifyReport): Record<string, unknown> {
  return {
    status: r.status,
    compared: r.counts.compared,
    mismatches: countDifferences(r.counts),
    counts: r.counts,
    series: r.counts.series,
    unsettledMinutesLeftOut: r.plan?.unsettledMinutesLeftOut ?? 0,
    durationMs: (r.finishedAt ?? r.updatedAt) - r.startedAt,
    pointsPerSecond: r.pointsPerSecond,
    ...(r.error ? { error: r.error } : {}),
  };
}

/** The fields a verify or repair report starts with: the run, its env and actor, nothing planned yet. */
export function runStart(workflowId: string, input: VerifyInput | RepairInput) {
  return { workflowId, env: input.env, status: 'planning' as const, actor: input.identity, reason: input.reason, plan: null };
}

/**
 * The recorder of one run's start and outcome: each event goes into the env's audit history under
 * the run's actor, with the range the run planned (or, before it planned, the one it was asked for).
 */
export function runRecorder(operation: 'verify' | 'repair', input: VerifyInput | RepairInput, workflowId: string, range: () => MinuteRange | null) {
  return (event: 'started' | 'finished' | 'failed', summary: Record<string, unknown>) =>
    recording.recordOperation({
      env: input.env,
      operation,
      event,
      workflowId,
      range: range(),
      summary,
      identity: input.identity,
      reason: input.reason,
      requestId: `${workflowId}:${event}`,
    });
}

/**
 * Records a request refused before it was planned (its input unusable) in the env's audit history,
 * when the request names an environment and an actor to record it under; a failure to record is
 * not the operator's problem here (the refusal is what they see).
 */
export async function recordRefusal(operation: 'verify' | 'repair', input: VerifyInput | RepairInput, workflowId: string, error: string): Promise<void> {
  if (input === null || typeof input !== 'object' || typeof input.env !== 'string' || !ENV_NAME_PATTERN.test(input.env) || actorProblem(input) !== null) return;
  const range = rangeOrNull(input.range);
  await recording
    .recordOperation({
      env: input.env,
      operation,
      event: 'failed',
      workflowId,
      range,
      summary: { refused: true, error },
      identity: input.identity,
      reason: input.reason,
      requestId: `${workflowId}:failed`,
    })
    .catch(() => undefined);
}

function rangeOrNull(r: unknown): MinuteRange | null {
  if (r === null || typeof r !== 'object') return null;
  const { fromMinute, toMinute } = r as Partial<MinuteRange>;
  return typeof fromMinute === 'number' && typeof toMinute === 'number' ? { fromMinute, toMinute } : null;
}

export async function verifyWorkflow(input: VerifyInput): Promise<VerifyReport> {
  const workflowId = workflowInfo().workflowId;
  const problem = verifyInputProblem(input);
  if (problem !== null) {
    await recordRefusal('verify', input, workflowId, `invalid verify request: ${problem}`);
    throw ApplicationFailure.create({ type: VerifyFailureType.invalidInput, message: `invalid verify request: ${problem}`, nonRetryable: true });
  }
  const slices = input.slices ?? VERIFY_DEFAULTS.slices;
  const rate = input.pointsPerSecond ?? VERIFY_DEFAULTS.pointsPerSecond;
  const sampleLimit = input.sampleLimit ?? VERIFY_DEFAULTS.sampleLimit;
  const startedAt = Date.now();
  const report: VerifyReport = {
    ...runStart(workflowId, input),
    counts: emptyVerifyCounts(),
    samples: emptySamples(),
    seriesDoneBySlice: Array.from({ length: slices }, () => 0),
    progressBySlice: Array.from({ length: slices }, () => 0),
    extraItems: [],
    extraItemsTruncated: false,
    startedAt,
    updatedAt: startedAt,
    finishedAt: null,
    pointsPerSecond: 0,
    etaMs: null,
    progress: 0,
    error: null,
  };
  setHandler(verifyProgressQuery, () => report);
  const record = runRecorder('verify', input, workflowId, () => report.plan?.range ?? input.range ?? null);

  try {
    const plan = await planning.planVerify({ workflowId, env: input.env, range: input.range, slices });
    report.plan = plan;
    report.status = 'running';
    await record('started', {
      plan: { range: plan.range, requested: plan.requested, horizon: plan.horizon, slices, pointsPerSecond: rate },
    });
    await Promise.all(
      Array.from({ length: slices }, async (_, slice) => {
        let position: VerifySlicePosition | null = null;
        for (;;) {
          const r: VerifySliceResult = await comparing.verifySlice({
            workflowId,
            plan,
            slice,
            position,
            maxSeries: VERIFY_DEFAULTS.chunkSeries,
            maxMs: VERIFY_DEFAULTS.chunkMs,
            pointsPerSecond: rate / slices,
            sampleLimit,
          });
          for (const k of Object.keys(report.counts) as (keyof VerifyCounts)[]) report.counts[k] += r.counts[k];
          for (const s of r.samples) if (report.samples[s.kind].length < sampleLimit) report.samples[s.kind].push(s);
          for (const e of r.extraItems) {
            if (report.extraItems.length < VERIFY_EXTRA_ITEMS_LIMIT) report.extraItems.push(e);
            else report.extraItemsTruncated = true;
          }
          if (report.extraItems.length < report.counts.extra + report.counts.expired_returned) report.extraItemsTruncated = true;
          report.seriesDoneBySlice[slice]! += r.visited;
          report.progressBySlice[slice] = r.progress;
          position = r.position;
          const now = Date.now();
          const elapsedMs = Math.max(1, now - startedAt);
          report.updatedAt = now;
          report.pointsPerSecond = Math.round((report.counts.compared * 1000) / elapsedMs);
          report.progress = Math.min(1, report.progressBySlice.reduce((a, b) => a + b, 0) / slices);
          report.etaMs = report.progress <= 0 ? null : Math.round((elapsedMs * (1 - report.progress)) / report.progress);
          if (r.done) return;
        }
      }),
    );
    report.finishedAt = Date.now();
    report.status = countDifferences(report.counts) === 0 ? 'clean' : 'mismatched';
    report.progress = 1;
    report.etaMs = 0;
    await record('finished', reportSummary(report));
    return report;
  } catch (err) {
    report.status = 'failed';
    report.finishedAt = Date.now();
    report.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    // A run refused before it started (a bad range, nothing settled) is recorded with the reason;
    // without a migration there is no audit history to record into, and that is the refusal.
    await record('failed', report.plan === null ? { refused: true, error: report.error } : reportSummary(report)).catch(() => undefined);
    throw err;
  }
}
