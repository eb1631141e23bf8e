/**
 * The worker's start-up chore for `npm start`: each environment's migration workflow, created in
 * stage planned where none runs. The worker does it (not the launcher) because the worker and the
 * console are the only clients that write to Temporal. Workflows are started by their type name.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { SwitchyardConfig } from '../config/config.js';
import { policyFor } from '../config/migration-policy.js';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId, type MigrationInput } from '../contract/index.js';
import type { Logger } from '../kit/logger.js';

/** Starts every env's migration workflow that is not running (a completed one is left alone); never resets a running one. */
export async function createMissingMigrations(client: Client, cfg: SwitchyardConfig, scale: 'demo' | 'production', logger: Logger): Promise<void> {
  for (const env of cfg.environments) {
    const workflowId = migrationWorkflowId(env);
    try {
      // USE_EXISTING: a running workflow (another start, the console) is kept as it is; a failed or
      // terminated one is replaced; a completed one refuses (ALLOW_DUPLICATE_FAILED_ONLY).
      await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: cfg.temporal.taskQueue,
        args: [{ env, policy: policyFor(env, cfg.environments, scale) } satisfies MigrationInput],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      logger.info({ env, workflowId, action: 'migration-ensured', scale }, `migration workflow ${workflowId} runs`);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        logger.info({ env, workflowId, action: 'migration-completed-earlier' }, `migration workflow ${workflowId} completed earlier; left alone`);
        continue;
      }
      logger.error({ env, workflowId, action: 'migration-create-failed', err: (err as Error).message }, `could not create ${workflowId}`);
    }
  }
}
