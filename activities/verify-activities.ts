/**
 * The activities of verify and repair (contract/verify.ts): they plan a run from the environment's
 * control state and the metrics topic, compare the two stores slice by slice, replay the topic
 * into the new store, and record each run's start and end in the audit history through the
 * migration workflow. Long activities heartbeat their position, and a retried attempt resumes from
 * the last one, so a worker killed mid-run neither skips nor re-counts anything.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  emptyVerifyCounts,
  ENV_NAME_PATTERN,
  migrationWorkflowId,
  VERIFY_EXTRA_ITEMS_LIMIT,
  VerifyFailureType,
  type MinuteRange,
  type OperationRecord,
  type PointKey,
  type ReplayChunkInput,
  type ReplayChunkResult,
  type RepairInput,
  type RepairPlan,
  type ReplayResult,
  type VerifyActivities,
  type VerifyPlan,
  type VerifyReport,
  type VerifySliceInput,
  type VerifySliceResult,
  MINUTE_MS,
} from '../contract/index.js';
import { recordOperationUpdate } from '../contract/migration-messages.js';
import { verifyProgressQuery } from '../contract/verify-messages.js';
import { createLogger, type Logger } from '../kit/logger.js';
import { readLatestControlState } from '../control/publisher.js';
import { deleteListedExtras, emptyReplay, rangeOffsets, replayRange, watchKey, type PartitionSpan } from '../pipeline/verify/range-replay.js';
import { sliceProgress, startPosition, verifyChunk, type ChunkPosition, type StorePair } from '../pipeline/verify/range-verify.js';
import { createMetricStore } from '../pipeline/kernel/stores/create-metric-store.js';
import { envTopics } from '../pipeline/kernel/topics.js';
import { toActivityFailure } from './activity-failures.js';
import type { ActivityDeps } from './migration-activities.js';

/** How often a verify chunk heartbeats its last position while the engine is between reports. */
const HEARTBEAT_EVERY_MS = 5_000;

/** One-sided minutes this close to their close are not judged by a verify (the writers may not have written them). */
export const VERIFY_SETTLE_MS = 60_000;

function failure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

function isMinute(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v % MINUTE_MS === 0;
}

/** Why a range is unusable, or null. */
export function rangeProblem(range: MinuteRange | undefined): string | null {
  if (range === undefined) return null;
  if (range === null || typeof range !== 'object') return 'range must be { fromMinute, toMinute }';
  if (!isMinute(range.fromMinute) || !isMinute(range.toMinute)) return 'fromMinute and toMinute must be whole minutes (epoch ms, multiples of 60000)';
  if (range.fromMinute > range.toMinute)
    return `the range ends (${new Date(range.toMinute).toISOString()}) before it begins (${new Date(range.fromMinute).toISOString()})`;
  return null;
}

/** The newest minute whose end is settleMs or more before now. */
export function newestSettledMinute(now: number, settleMs: number): number {
  return Math.floor((now - settleMs) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
}

/** The verify and repair activities, on the same ready clients as the migration's. */
export function createVerifyActivities(deps: ActivityDeps) {
  const { kafka, dynamo, temporal } = deps;
  const baseLog = deps.logger ?? createLogger('verify-activities');
  const readTimeoutMs = deps.controlReadTimeoutMs ?? 15_000;
  const now = deps.now ?? Date.now;

  const logFor = (env: string, action: string): Logger => baseLog.child({ env, action });

  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toActivityFailure(err);
    }
  };

  const checkEnv = (env: unknown): string => {
    if (typeof env !== 'string' || !ENV_NAME_PATTERN.test(env))
      throw failure(VerifyFailureType.invalidInput, `env ${JSON.stringify(env)} is not an environment name`);
    return env;
  };

  const storesFor = (env: string, retentionMs: number, log: Logger): StorePair => {
    const shared = { env, retentionMs, logger: log, closeClient: false, now };
    return {
      old: createMetricStore('cassandra', { ...shared, cassandraClient: deps.cassandra }),
      new: createMetricStore('dynamodb', { ...shared, dynamoClient: dynamo }),
    };
  };

  /** The control state an operation reads its horizon, retention and tolerance from. */
  const controlOf = async (env: string) => {
    const control = await readLatestControlState(kafka, env, readTimeoutMs);
    if (control === undefined) throw failure(VerifyFailureType.invalidInput, `no control state for ${env}: has its migration started?`);
    return control;
  };

  const activities = {
    async planVerify(input: { workflowId: string; env: string; range?: MinuteRange; slices: number }): Promise<VerifyPlan> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'verify-plan');
      return run(async () => {
        const problem = rangeProblem(input.range);
        if (problem !== null) throw failure(VerifyFailureType.invalidInput, problem);
        const control = await controlOf(env);
        const t = now();
        const horizon = control.coverageHorizon;
        if (horizon === null)
          throw failure(
            VerifyFailureType.invalidInput,
            `${env} has no coverage horizon yet: the new store holds no complete minute to verify (start dual writes first)`,
          );
        const settled = newestSettledMinute(t, VERIFY_SETTLE_MS);
        const requested = input.range ?? null;
        // From the horizon by default, past retention included: the old store holds nothing there,
        // and an item the new store still returns past its expiry must be found (expired_returned).
        // The science gate counts a verify that starts no later than max(horizon, its end - retention).
        const from = Math.max(horizon, requested?.fromMinute ?? horizon);
        const to = Math.min(settled, requested?.toMinute ?? settled);
        if (requested !== null && requested.toMinute < horizon) {
          throw failure(
            VerifyFailureType.invalidInput,
            `the range ends before the coverage horizon ${new Date(horizon).toISOString()}: the new store holds only minutes from the horizon on`,
          );
        }
        if (from > to)
          throw failure(
            VerifyFailureType.invalidInput,
            `nothing settled to verify yet: the newest settled minute is ${new Date(settled).toISOString()}, the range starts at ${new Date(from).toISOString()}`,
          );
        const unsettledMinutesLeftOut =
          requested !== null && requested.toMinute > settled ? (requested.toMinute - Math.max(settled, requested.fromMinute - MINUTE_MS)) / MINUTE_MS : 0;
        const plan: VerifyPlan = {
          env,
          range: { fromMinute: from, toMinute: to },
          requested,
          horizon,
          newestSettledMinute: settled,
          unsettledMinutesLeftOut,
          retentionMs: control.retentionMs,
          tolerance: control.tolerance,
          settleMs: VERIFY_SETTLE_MS,
          slices: input.slices,
          plannedAt: t,
        };
        log.info({ range: plan.range, slices: input.slices }, 'verify planned');
        return plan;
      });
    },

    async verifySlice(input: VerifySliceInput): Promise<VerifySliceResult> {
      const plan = input.plan;
      const env = checkEnv(plan.env);
      const log = logFor(env, 'verify-slice');
      return run(async () => {
        const ctx = Context.current();
        const stores = storesFor(env, plan.retentionMs, log);
        // A retried attempt resumes from the position its predecessor heartbeated (after whole groups only).
        const saved = ctx.info.heartbeatDetails as ChunkPosition | undefined;
        const from: ChunkPosition = saved ?? { slice: input.position ?? startPosition(), visited: 0, counts: emptyVerifyCounts(), samples: [], extraItems: [] };
        if (saved) log.info({ slice: input.slice, phase: saved.slice.phase, visited: saved.visited }, 'verify chunk resumed from its last heartbeat');
        // The position reached is heartbeated as the engine reports it, and again every few seconds
        // while a page is read or probed (a slow store must not look like a dead worker).
        let reached: ChunkPosition = from;
        const beat = setInterval(() => ctx.heartbeat(reached), HEARTBEAT_EVERY_MS);
        const r = await verifyChunk({
          stores,
          plan,
          slice: input.slice,
          from,
          maxSeries: input.maxSeries,
          maxMs: input.maxMs,
          pointsPerSecond: input.pointsPerSecond,
          sampleLimit: input.sampleLimit,
          extraLimit: VERIFY_EXTRA_ITEMS_LIMIT,
          onProgress: (p) => {
            reached = structuredClone(p);
            ctx.heartbeat(reached);
          },
          signal: ctx.cancellationSignal,
          now,
        }).finally(() => clearInterval(beat));
        return {
          position: r.slice,
          done: r.slice.phase === 'done',
          progress: sliceProgress(r.slice),
          visited: r.visited,
          counts: r.counts,
          samples: r.samples,
          extraItems: r.extraItems,
        };
      });
    },

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
          if (range !== null && range.toMinute < oldestLive) {
            throw failure(
              VerifyFailureType.invalidInput,
              `every minute of the range is past the ${env} retention: nothing to repair (expired points are not written)`,
            );
          }
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
              (k) =>
                k.minute >= Math.max(within.fromMinute, report.plan!.range.fromMinute) && k.minute <= Math.min(within.toMinute, report.plan!.range.toMinute),
            );
            if (extraItems.length === 0)
              throw failure(
                VerifyFailureType.extrasNotFound,
                `verify run ${input.verifyWorkflowId} found no extra items inside this range (it checked ${new Date(report.plan.range.fromMinute).toISOString()} to ${new Date(report.plan.range.toMinute).toISOString()}): nothing to delete`,
              );
            extrasFoundBy = input.verifyWorkflowId;
          }
          const spans = range === null ? [] : (await rangeOffsets(admin, topic, range, t)).partitions;
          const messages = spans.reduce((n, p) => n + Number(BigInt(p.end) - BigInt(p.start)), 0);
          const plan: RepairPlan = {
            env,
            requested: input.range,
            range,
            uncovered,
            topic,
            oldestCoveredMinute: oldestCovered,
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

    async replayIntoNewStore(input: ReplayChunkInput): Promise<ReplayChunkResult> {
      const plan = input.plan;
      const env = checkEnv(plan.env);
      const log = logFor(env, 'repair-replay');
      return run(async () => {
        if (plan.range === null) return { positions: [], done: true, counts: emptyReplay(), seenExtras: [] };
        const ctx = Context.current();
        const control = await controlOf(env);
        const stores = storesFor(env, control.retentionMs, log);
        // A retried attempt resumes from the offsets its predecessor heartbeated.
        const saved = ctx.info.heartbeatDetails as { positions: PartitionSpan[]; counts: ReplayResult; seen: string[] } | undefined;
        if (saved) log.info({ positions: saved.positions }, 'replay resumed from its last heartbeat');
        const seenBefore = new Set(saved?.seen ?? []);
        const groupId = `switchyard.${env}.repair.${input.workflowId}`;
        const out = await replayRange({
          kafka,
          store: stores.new,
          topic: plan.topic,
          groupId,
          range: plan.range,
          partitions: saved?.positions ?? input.positions ?? plan.partitions,
          counts: saved?.counts,
          watch: new Set(plan.extraItems.map(watchKey)),
          maxMs: input.maxMs,
          onProgress: (positions, c) => ctx.heartbeat({ positions, counts: c, seen: [...seenBefore] }),
          signal: ctx.cancellationSignal,
          logger: log,
        });
        for (const k of out.seen) seenBefore.add(k);
        if (out.done) {
          const admin = kafka.admin();
          await admin.connect();
          await admin.deleteGroups([groupId]).catch((err: unknown) => log.warn({ err: String(err) }, 'could not delete the repair consumer group'));
          await admin.disconnect().catch(() => undefined);
        }
        log.info({ ...out.counts, done: out.done }, out.done ? 'replay done' : 'replay chunk done');
        return { positions: out.positions, done: out.done, counts: out.counts, seenExtras: [...seenBefore] };
      });
    },

    async deleteExtraItems(input: { workflowId: string; plan: RepairPlan; seenInLog: string[] }): Promise<{ deleted: number; kept: number }> {
      const plan = input.plan;
      const env = checkEnv(plan.env);
      const log = logFor(env, 'repair-delete-extras');
      return run(async () => {
        if (plan.range === null || !plan.deleteExtras || plan.extraItems.length === 0) return { deleted: 0, kept: 0 };
        const control = await controlOf(env);
        const stores = storesFor(env, control.retentionMs, log);
        const r = await deleteListedExtras(stores, plan.range, plan.extraItems, new Set(input.seenInLog));
        log.info({ ...r, listedBy: plan.extrasFoundBy }, 'extra items deleted');
        return r;
      });
    },

    async recordOperation(input: OperationRecord): Promise<void> {
      const env = checkEnv(input.env);
      return run(async () => {
        const id = `${input.workflowId}:${input.event}`;
        try {
          await temporal.workflow
            .getHandle(migrationWorkflowId(env))
            .executeUpdate(recordOperationUpdate, { args: [{ ...input, requestId: id } satisfies OperationRecord], updateId: id });
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) {
            throw failure(
              VerifyFailureType.invalidInput,
              `no migration is running for ${env}: ${input.operation} records its runs in the migration's audit history (start the migration first)`,
            );
          }
          if (err instanceof WorkflowUpdateFailedError)
            throw failure(VerifyFailureType.invalidInput, `the ${env} migration refused the record: ${String(err.cause?.message ?? err.message)}`);
          throw err;
        }
      });
    },
  } satisfies VerifyActivities;

  return activities;
}
