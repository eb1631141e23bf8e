/**
 * The verify workflow: a full diff of an environment's two stores over a range of minutes (one
 * run per request, id verifyWorkflowId(env, requestId)). It plans the run (range, horizon,
 * tolerance, series per slice), records its start in the audit history, compares every slice in
 * parallel in chunks (each chunk an activity that heartbeats its position, so a killed worker's
 * chunk resumes where it was), keeps the running report for the progress query, and records the
 * outcome. The report is the result.
 */
import { ApplicationFailure, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  DIFF_CLASSES,
  ENV_NAME_PATTERN,
  VERIFY_PROGRESS_QUERY,
  VerifyFailureType,
  type DiffClass,
  type DiffSample,
  type VerifyActivities,
  type VerifyCounts,
  type VerifyInput,
  type VerifyReport,
  type VerifySliceResult,
} from '../contract/index.js';
import { actorProblem } from './migration-input.js';

/** The running report of a verify run. */
export const verifyProgressQuery = defineQuery<VerifyReport>(VERIFY_PROGRESS_QUERY);

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
const recording = proxyActivities<VerifyActivities>({
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

function emptyCounts(): VerifyCounts {
  return { series: 0, oldPoints: 0, newPoints: 0, compared: 0, matched: 0, missing: 0, extra: 0, value_drift: 0, expired_returned: 0, unsettled: 0 };
}

function emptySamples(): Record<DiffClass, DiffSample[]> {
  return { missing: [], extra: [], value_drift: [], expired_returned: [] };
}

/** Differences of every class. */
export function differences(c: VerifyCounts): number {
  return DIFF_CLASSES.reduce((n, k) => n + c[k], 0);
}

/** The figures an audit entry keeps of a report. */
export function reportSummary(r: VerifyReport): Record<string, unknown> {
  return {
    status: r.status,
    compared: r.counts.compared,
    mismatches: differences(r.counts),
    counts: r.counts,
    series: r.plan?.seriesTotal ?? null,
    unsettledMinutesLeftOut: r.plan?.unsettledMinutesLeftOut ?? 0,
    durationMs: (r.finishedAt ?? r.updatedAt) - r.startedAt,
    pointsPerSecond: r.pointsPerSecond,
    ...(r.error ? { error: r.error } : {}),
  };
}

export async function verifyWorkflow(input: VerifyInput): Promise<VerifyReport> {
  const problem = verifyInputProblem(input);
  if (problem !== null)
    throw ApplicationFailure.create({ type: VerifyFailureType.invalidInput, message: `invalid verify request: ${problem}`, nonRetryable: true });
  const workflowId = workflowInfo().workflowId;
  const slices = input.slices ?? VERIFY_DEFAULTS.slices;
  const rate = input.pointsPerSecond ?? VERIFY_DEFAULTS.pointsPerSecond;
  const sampleLimit = input.sampleLimit ?? VERIFY_DEFAULTS.sampleLimit;
  const startedAt = Date.now();
  const report: VerifyReport = {
    workflowId,
    env: input.env,
    status: 'planning',
    actor: input.identity,
    reason: input.reason,
    plan: null,
    counts: emptyCounts(),
    samples: emptySamples(),
    seriesDoneBySlice: Array.from({ length: slices }, () => 0),
    startedAt,
    updatedAt: startedAt,
    finishedAt: null,
    pointsPerSecond: 0,
    etaMs: null,
    progress: 0,
    error: null,
  };
  setHandler(verifyProgressQuery, () => report);
  const record = (event: 'started' | 'finished' | 'failed', summary: Record<string, unknown>) =>
    recording.recordOperation({
      env: input.env,
      operation: 'verify',
      event,
      workflowId,
      range: report.plan?.range ?? input.range ?? null,
      summary,
      identity: input.identity,
      reason: input.reason,
      requestId: `${workflowId}:${event}`,
    });

  try {
    const plan = await planning.planVerify({ workflowId, env: input.env, range: input.range, slices });
    report.plan = plan;
    report.status = 'running';
    await record('started', {
      plan: { range: plan.range, requested: plan.requested, horizon: plan.horizon, series: plan.seriesTotal, slices, pointsPerSecond: rate },
    });
    await Promise.all(
      Array.from({ length: slices }, async (_, slice) => {
        let after: string | null = null;
        for (;;) {
          const r: VerifySliceResult = await comparing.verifySlice({
            workflowId,
            plan,
            slice,
            after,
            maxSeries: VERIFY_DEFAULTS.chunkSeries,
            maxMs: VERIFY_DEFAULTS.chunkMs,
            pointsPerSecond: rate / slices,
            sampleLimit,
          });
          for (const k of Object.keys(report.counts) as (keyof VerifyCounts)[]) report.counts[k] += r.counts[k];
          for (const s of r.samples) if (report.samples[s.kind].length < sampleLimit) report.samples[s.kind].push(s);
          report.seriesDoneBySlice[slice]! += r.visited;
          after = r.after;
          const now = Date.now();
          const done = report.seriesDoneBySlice.reduce((a, b) => a + b, 0);
          const elapsedMs = Math.max(1, now - startedAt);
          report.updatedAt = now;
          report.pointsPerSecond = Math.round((report.counts.compared * 1000) / elapsedMs);
          report.progress = plan.seriesTotal === 0 ? 1 : Math.min(1, done / plan.seriesTotal);
          report.etaMs = done === 0 ? null : Math.round((elapsedMs * Math.max(0, plan.seriesTotal - done)) / done);
          if (r.done) return;
        }
      }),
    );
    report.finishedAt = Date.now();
    report.status = differences(report.counts) === 0 ? 'clean' : 'mismatched';
    report.progress = 1;
    report.etaMs = 0;
    await record('finished', reportSummary(report));
    return report;
  } catch (err) {
    report.status = 'failed';
    report.finishedAt = Date.now();
    report.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    // A run refused before it started (no migration, a bad range) has nothing to record.
    if (report.plan !== null) await record('failed', reportSummary(report)).catch(() => undefined);
    throw err;
  }
}
