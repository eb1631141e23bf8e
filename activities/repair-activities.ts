/**
 * The repair-planning family: planRepair, what a repair run will rewrite (fixed when it starts,
 * shown in its confirmation): the part of the range the metrics topic still holds and its
 * offsets, and, when asked, the extra items a finished verify run found there. It reads only;
 * replay-activities.ts does the writing.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  VerifyFailureType,
  type MinuteRange,
  type PointKey,
  type RepairInput,
  type RepairPlan,
  type VerifyActivities,
  type VerifyReport,
} from '../contract/index.js';
import type { Logger } from '../kit/logger.js';
import { rangeOffsets, type TopicCoverage } from '../pipeline/verify/range-replay.js';
import { MINUTE_MS } from '../contract/index.js';
import { verifyProgressQuery } from '../contract/verify-messages.js';
import { envTopics } from '../pipeline/kernel/topics.js';
import type { ActivityDeps } from './activity-deps.js';
import { failure, rangeProblem, verifyContext } from './verify-context.js';

/** The part of a repair's range that is rewritten, and the part the topic no longer holds. */
interface CoveredPart {
  range: MinuteRange | null;
  uncovered: MinuteRange | null;
}

/**
 * The requested range cut at the oldest minute the metrics topic still holds. Without
 * allowPartial an uncovered part refuses the repair (NotCovered), as does a range with nothing
 * covered; with it the uncovered part is logged and left out.
 */
function coveredPart(env: string, input: RepairInput, probe: TopicCoverage, log: Logger): CoveredPart {
  const oldestCovered = probe.oldestCoveredMinute;
  let range: MinuteRange | null = { ...input.range };
  let uncovered: MinuteRange | null = null;
  if (oldestCovered !== null && input.range.fromMinute < oldestCovered) {
    uncovered = { fromMinute: input.range.fromMinute, toMinute: Math.min(input.range.toMinute, oldestCovered - MINUTE_MS) };
    range = oldestCovered <= input.range.toMinute ? { fromMinute: oldestCovered, toMinute: input.range.toMinute } : null;
    const kept = probe.retentionMs === null ? '' : ` (retention.ms ${Math.round(probe.retentionMs / 3_600_000)} h, and its log start)`;
    const what =
      `${env}.metrics${kept} holds points only from ${new Date(oldestCovered).toISOString()}: minutes before it ` +
      `(${(uncovered.toMinute - uncovered.fromMinute) / MINUTE_MS + 1} of the range) are no longer in the log and cannot be repaired from it`;
    if (!input.allowPartial || range === null)
      throw failure(VerifyFailureType.notCovered, `${what}${range === null ? '' : '; ask for the covered part (allow partial) to repair the rest'}`);
    log.warn({ uncovered }, what);
  }
  return { range, uncovered };
}

/** The extra items a repair deletes, as listed by the verify run that found them. */
interface ExtrasToDelete {
  extrasFound: number;
  extrasFoundBy: string | null;
  extraItems: PointKey[];
}

/**
 * The extra items the finished verify run input.verifyWorkflowId reported inside both its range
 * and this repair's (none unless input.deleteExtras). Refuses (ExtrasNotFound) without such a
 * run, for another environment's, an unfinished one, or one that listed nothing in the range.
 */
async function extrasToDelete(temporal: Client, env: string, input: RepairInput, range: MinuteRange | null): Promise<ExtrasToDelete> {
  let extrasFound = 0;
  let extrasFoundBy: string | null = null;
  let extraItems: PointKey[] = [];
  if (input.deleteExtras) {
    if (!input.verifyWorkflowId)
      throw failure(VerifyFailureType.extrasNotFound, 'deleting extra items needs the verify run that found them (verifyWorkflowId)');
    let report: VerifyReport;
    try {
      report = await temporal.workflow.getHandle(input.verifyWorkflowId).query(verifyProgressQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw failure(VerifyFailureType.extrasNotFound, `no verify run ${input.verifyWorkflowId}`);
      throw err;
    }
    if (report.env !== env) throw failure(VerifyFailureType.extrasNotFound, `verify run ${input.verifyWorkflowId} is of ${report.env}, not ${env}`);
    if (report.finishedAt === null || report.plan === null)
      throw failure(VerifyFailureType.extrasNotFound, `verify run ${input.verifyWorkflowId} has not finished`);
    extrasFound = report.counts.extra + report.counts.expired_returned;
    // Only what that run reported, inside both its range and this repair's.
    const within = range ?? input.range;
    extraItems = (report.extraItems ?? []).filter(
      (k) => k.minute >= Math.max(within.fromMinute, report.plan!.range.fromMinute) && k.minute <= Math.min(within.toMinute, report.plan!.range.toMinute),
    );
    if (extraItems.length === 0)
      throw failure(
        VerifyFailureType.extrasNotFound,
        `verify run ${input.verifyWorkflowId} found no extra items inside this range (it checked ${new Date(report.plan.range.fromMinute).toISOString()} to ${new Date(report.plan.range.toMinute).toISOString()}): nothing to delete`,
      );
    extrasFoundBy = input.verifyWorkflowId;
  }
  return { extrasFound, extrasFoundBy, extraItems };
}

/** Builds the repair-planning family on ready clients. */
export function createRepairActivities(deps: ActivityDeps) {
  const { kafka, temporal } = deps;
  const { logFor, run, checkEnv, controlOf, now } = verifyContext(deps);

  return {
    async planRepair(input: RepairInput & { workflowId: string }): Promise<RepairPlan> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'repair-plan');
      return run(async () => {
        const problem = rangeProblem(input.range) ?? (input.range === undefined ? 'range is required: which minutes to rewrite' : null);
        if (problem !== null) throw failure(VerifyFailureType.invalidInput, problem);
        const control = await controlOf(env);
        const t = now();
        const topic = envTopics(env).metrics;
        const admin = kafka.admin();
        await admin.connect();
        try {
          const probe = await rangeOffsets(admin, topic, input.range, t);
          const oldestLive = Math.ceil((t - control.retentionMs) / MINUTE_MS) * MINUTE_MS;
          const { range, uncovered } = coveredPart(env, input, probe, log);
          if (range !== null && range.toMinute < oldestLive) {
            throw failure(
              VerifyFailureType.invalidInput,
              `every minute of the range is past the ${env} retention: nothing to repair (expired points are not written)`,
            );
          }
          const { extrasFound, extrasFoundBy, extraItems } = await extrasToDelete(temporal, env, input, range);
          const spans = range === null ? [] : (await rangeOffsets(admin, topic, range, t)).partitions;
          const messages = spans.reduce((n, p) => n + Number(BigInt(p.end) - BigInt(p.start)), 0);
          const plan: RepairPlan = {
            env,
            requested: input.range,
            range,
            uncovered,
            topic,
            oldestCoveredMinute: probe.oldestCoveredMinute,
            partitions: spans,
            messages,
            deleteExtras: input.deleteExtras === true,
            extrasFoundBy,
            extrasFound,
            extraItems,
          };
          log.info({ range, uncovered, messages, extraItems: extraItems.length }, 'repair planned');
          return plan;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      });
    },
  } satisfies Pick<VerifyActivities, 'planRepair'>;
}
