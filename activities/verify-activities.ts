/**
 * The verify family: planVerify (which minutes a verify run compares: from the coverage horizon,
 * up to the newest settled minute, within the range asked for) and verifySlice (one chunk of one
 * slice of the comparison of both stores). A slice heartbeats its position, and a retried attempt
 * resumes from the last one, so a worker killed mid-run neither skips nor re-counts anything.
 */
import { Context } from '@temporalio/activity';
import {
  VERIFY_EXTRA_ITEMS_LIMIT,
  VerifyFailureType,
  type MinuteRange,
  type VerifyActivities,
  type VerifyPlan,
  type VerifySliceInput,
  type VerifySliceResult,
  emptyVerifyCounts,
  MINUTE_MS,
} from '../contract/index.js';
import { sliceProgress, startPosition, verifyChunk, type ChunkPosition } from '../pipeline/verify/range-verify.js';
import type { ActivityDeps } from './activity-deps.js';
import { failure, rangeProblem, verifyContext } from './verify-context.js';

/** How often a verify chunk heartbeats its last position while the engine is between reports. */
const HEARTBEAT_EVERY_MS = 5_000;

/** One-sided minutes this close to their close are not judged by a verify (the writers may not have written them). */
export const VERIFY_SETTLE_MS = 60_000;

/** The newest minute whose end is settleMs or more before now. */
export function newestSettledMinute(now: number, settleMs: number): number {
  return Math.floor((now - settleMs) / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
}

/** The minutes a verify compares, and how many asked-for minutes are left out as not yet settled. */
interface VerifyRange {
  from: number;
  to: number;
  unsettledMinutesLeftOut: number;
}

/**
 * The minutes a verify compares: from the coverage horizon (or the requested start, if later) to
 * the newest settled minute (or the requested end, if earlier). Refuses (InvalidInput) a request
 * that ends before the horizon, and a range with nothing settled in it yet.
 */
function verifyRange(horizon: number, settled: number, requested: MinuteRange | null): VerifyRange {
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
  return { from, to, unsettledMinutesLeftOut };
}

/** Builds the verify family on ready clients. */
export function createVerifyActivities(deps: ActivityDeps) {
  const { logFor, run, checkEnv, storesFor, controlOf, now } = verifyContext(deps);

  return {
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
        const { from, to, unsettledMinutesLeftOut } = verifyRange(horizon, settled, requested);
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
  } satisfies Pick<VerifyActivities, 'planVerify' | 'verifySlice'>;
}
