/**
 * The operation-record family: recordOperation, which records a verify or repair run's start and
 * end in the migration's audit history, through the migration workflow's record_operation Update
 * (so the workflow numbers the entry like every other). The Update id is the run's workflow id
 * and event, so a retried attempt records once.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { migrationWorkflowId, VerifyFailureType, type OperationRecord, type VerifyActivities } from '../contract/index.js';
import { recordOperationUpdate } from '../contract/migration-messages.js';
import type { ActivityDeps } from './activity-deps.js';
import { failure, verifyContext } from './verify-context.js';

/** Builds the operation-record family on ready clients. */
export function createOperationActivities(deps: ActivityDeps) {
  const { temporal } = deps;
  const { run, checkEnv } = verifyContext(deps);

  return {
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
  } satisfies Pick<VerifyActivities, 'recordOperation'>;
}
