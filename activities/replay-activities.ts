/**
 * The replay family: the writing half of a repair. replayIntoNewStore replays one chunk of the
 * planned part of the metrics topic into the new store, on the run's own consumer group
 * (`switchyard.<env>.repair.<repair workflow id>`, deleted when the replay is done);
 * deleteExtraItems deletes the extra items the plan listed that the log holds no point for. The
 * replay heartbeats its offsets and a retried attempt resumes from them; the writes are idempotent
 * upserts.
 */
import { Context } from '@temporalio/activity';
import type { RepairPlan, ReplayChunkInput, ReplayChunkResult, ReplayResult, VerifyActivities } from '../contract/index.js';
import { deleteListedExtras, emptyReplay, replayRange, watchKey, type PartitionSpan } from '../pipeline/verify/range-replay.js';
import type { ActivityDeps } from './activity-deps.js';
import { verifyContext } from './verify-context.js';

/** Builds the replay family on ready clients. */
export function createReplayActivities(deps: ActivityDeps) {
  const { kafka } = deps;
  const { logFor, run, checkEnv, storesFor, controlOf } = verifyContext(deps);

  return {
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
  } satisfies Pick<VerifyActivities, 'replayIntoNewStore' | 'deleteExtraItems'>;
}
