/**
 * The repair workflow: rewrites an environment's new store for a range of minutes from its
 * metrics topic, then verifies the range again (a child verify run) and records both in the
 * audit history. The plan (what the topic still covers, the offsets of the range's times, the
 * verify run behind any deleted extra items) is fixed first and shown by the progress query;
 * a range the topic no longer covers is refused unless the covered part is asked for.
 */
import { ApplicationFailure, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  countDifferences,
  VERIFY_WORKFLOW_TYPE,
  VerifyFailureType,
  verifyWorkflowId,
  type RepairInput,
  type RepairReport,
  type ReplayChunkResult,
  type ReplayPosition,
  type ReplayResult,
  type VerifyActivities,
  type VerifyInput,
  type VerifyReport,
} from '../contract/index.js';
import { repairProgressQuery } from '../contract/verify-messages.js';
import { recordRefusal, reportSummary, runRecorder, runStart, verifyInputProblem } from './verify-workflow.js';

function emptyReplayResult(): ReplayResult {
  return { read: 0, written: 0, outOfRange: 0, invalid: 0, rejected: 0, expired: 0, deleted: 0, keptExtras: 0 };
}

const planning = proxyActivities<VerifyActivities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [VerifyFailureType.invalidInput, VerifyFailureType.notCovered, VerifyFailureType.extrasNotFound],
  },
});
// A replay runs in chunks of REPLAY_CHUNK_MS (plus the batch in flight and the consumer's join); a
// silent worker is noticed within 30 s and the retry resumes from the offsets it heartbeated.
const replaying = proxyActivities<VerifyActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [VerifyFailureType.invalidInput] },
});

/** Why a repair request is unusable, or null. */
export function repairInputProblem(input: RepairInput): string | null {
  const base = verifyInputProblem(input as unknown as VerifyInput);
  if (base !== null) return base;
  if (input.range === undefined || input.range === null || typeof input.range !== 'object')
    return 'range is required: { fromMinute, toMinute }, the minutes to rewrite';
  if (input.deleteExtras === true && (typeof input.verifyWorkflowId !== 'string' || input.verifyWorkflowId === '')) {
    return 'deleting extra items needs verifyWorkflowId, the verify run that found them';
  }
  return null;
}

/** A replay chunk runs about this long, so the report's progress moves between chunks. */
export const REPLAY_CHUNK_MS = 20_000;

export async function repairWorkflow(input: RepairInput): Promise<RepairReport> {
  const info = workflowInfo();
  const workflowId = info.workflowId;
  const problem = repairInputProblem(input);
  if (problem !== null) {
    if (input?.planOnly !== true) await recordRefusal('repair', input, workflowId, `invalid repair request: ${problem}`);
    throw ApplicationFailure.create({ type: VerifyFailureType.invalidInput, message: `invalid repair request: ${problem}`, nonRetryable: true });
  }
  const report: RepairReport = {
    ...runStart(workflowId, input),
    replay: null,
    readSoFar: 0,
    progress: 0,
    verifyWorkflowId: null,
    verify: null,
    startedAt: Date.now(),
    finishedAt: null,
    error: null,
  };
  setHandler(repairProgressQuery, () => report);
  const record = runRecorder('repair', input, workflowId, () => report.plan?.range ?? input.range);

  try {
    const plan = await planning.planRepair({ ...input, workflowId });
    report.plan = plan;
    if (input.planOnly === true) {
      report.status = 'planned';
      report.finishedAt = Date.now();
      return report;
    }
    report.status = 'replaying';
    await record('started', {
      requested: plan.requested,
      uncovered: plan.uncovered,
      topic: plan.topic,
      messages: plan.messages,
      deleteExtras: plan.deleteExtras,
      extrasFoundBy: plan.extrasFoundBy,
      extrasFound: plan.extrasFound,
      extrasListed: plan.extraItems.length,
    });
    const replay = emptyReplayResult();
    report.replay = replay;
    let positions: ReplayPosition[] | null = null;
    const seenExtras = new Set<string>();
    for (;;) {
      const chunk: ReplayChunkResult = await replaying.replayIntoNewStore({ workflowId, plan, positions, maxMs: REPLAY_CHUNK_MS });
      for (const k of Object.keys(replay) as (keyof ReplayResult)[]) replay[k] += chunk.counts[k];
      for (const k of chunk.seenExtras) seenExtras.add(k);
      positions = chunk.positions;
      report.readSoFar = replay.read;
      report.progress = plan.messages === 0 ? 1 : Math.min(1, replay.read / plan.messages);
      if (chunk.done) break;
    }
    report.progress = 1;
    if (plan.deleteExtras) {
      const d = await planning.deleteExtraItems({ workflowId, plan, seenInLog: [...seenExtras] });
      replay.deleted = d.deleted;
      replay.keptExtras = d.kept;
    }
    if (plan.range !== null) {
      report.status = 'verifying';
      const childId = verifyWorkflowId(input.env, `${input.requestId}-reverify`);
      report.verifyWorkflowId = childId;
      const verify: VerifyReport = await executeChild(VERIFY_WORKFLOW_TYPE, {
        workflowId: childId,
        args: [
          {
            env: input.env,
            range: plan.range,
            identity: input.identity,
            reason: `re-verify after repair ${workflowId}: ${input.reason}`,
            requestId: `${input.requestId}-reverify`,
            ...(input.pointsPerSecond !== undefined ? { pointsPerSecond: input.pointsPerSecond } : {}),
          } satisfies VerifyInput,
        ],
      });
      report.verify = verify;
    }
    report.finishedAt = Date.now();
    report.status = report.verify === null || countDifferences(report.verify.counts) === 0 ? 'repaired' : 'still_mismatched';
    await record('finished', {
      status: report.status,
      replay: report.replay,
      uncovered: plan.uncovered,
      verifyWorkflowId: report.verifyWorkflowId,
      verify: report.verify === null ? null : reportSummary(report.verify),
      durationMs: report.finishedAt - report.startedAt,
    });
    return report;
  } catch (err) {
    report.status = 'failed';
    report.finishedAt = Date.now();
    report.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    // A plan-only request records nothing; a refused one (a range not covered, extras no verify
    // found, a bad range) is recorded with the reason, as is a run that failed under way.
    if (input.planOnly !== true)
      await record(
        'failed',
        report.plan === null
          ? { refused: true, error: report.error }
          : { error: report.error, replay: report.replay, verifyWorkflowId: report.verifyWorkflowId },
      ).catch(() => undefined);
    throw err;
  }
}
