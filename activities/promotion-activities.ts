/**
 * The promotion family: environmentStage, another environment's migration stage, which the
 * promotion order checks before an environment may move ahead of the one before it. Read from
 * Temporal: the running workflow's state query, falling back to its SwitchyardStage search
 * attribute (environment-stage.ts reads both).
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { migrationWorkflowId, NOT_STARTED, type MigrationActivities, type StageOrNotStarted } from '../contract/index.js';
import { stateQuery } from '../contract/migration-messages.js';
import { activityContext } from './activity-context.js';
import type { ActivityDeps } from './activity-deps.js';
import { STAGE_SEARCH_ATTRIBUTE, stageFromSearchAttributes, stageFromState, stageOfClosedExecution } from './environment-stage.js';

/** Builds the promotion family on ready clients. */
export function createPromotionActivities(deps: ActivityDeps) {
  const { temporal } = deps;
  const { logFor, run, checkEnv, stageQueryTimeoutMs, now } = activityContext(deps);

  return {
    /**
     * The stage of an environment's migration: 'not_started' when it has no workflow; the state
     * query's answer while it runs (falling back to its SwitchyardStage search attribute when no
     * worker answers in time); the search attribute, else 'complete', once it has closed.
     */
    async environmentStage(input: { env: string }): Promise<{ stage: StageOrNotStarted }> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'environment-stage');
      return run(log, async () => {
        const handle = temporal.workflow.getHandle(migrationWorkflowId(env));
        let description: Awaited<ReturnType<typeof handle.describe>>;
        try {
          description = await handle.describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return { stage: NOT_STARTED };
          throw err;
        }
        const attribute = stageFromSearchAttributes(description.typedSearchAttributes.getAll());
        if (description.status.name !== 'RUNNING') return { stage: stageOfClosedExecution(description.status.name, attribute) };
        try {
          const state = await temporal.withDeadline(now() + stageQueryTimeoutMs, () => handle.query(stateQuery));
          const stage = stageFromState(state);
          if (stage !== undefined) return { stage };
          log.warn({ state }, 'state query answered without a valid stage');
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'state query failed; using the search attribute');
        }
        if (attribute !== undefined) return { stage: attribute };
        // Retryable: a worker may be back, or the workflow may have recorded its stage, next time.
        throw new Error(
          `env ${env}: migration workflow ${migrationWorkflowId(env)} is running but reports no stage (no worker answered the state query, no ${STAGE_SEARCH_ATTRIBUTE} search attribute)`,
        );
      });
    },
  } satisfies Pick<MigrationActivities, 'environmentStage'>;
}
