/** The activities as the migration workflow calls them: timeouts and retries per kind of call. */
import { proxyActivities } from '@temporalio/workflow';
import { ActivityFailureType, type MigrationActivities, type MigrationPolicy } from '../../contract/index.js';

/** The activities, with timeouts and retries per kind of call. */
export function migrationActivities(policy: MigrationPolicy): MigrationActivities {
  // Publishing waits up to ackTimeoutMs for acknowledgements; an attempt that times out is
  // retried (the activity only waits again for the same transition), a bounded number of times,
  // because an operator is waiting for the answer.
  const publishing = proxyActivities<MigrationActivities>({
    startToCloseTimeout: policy.ackTimeoutMs + 30_000,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 5,
      nonRetryableErrorTypes: [ActivityFailureType.invalidControlState, ActivityFailureType.invalidInput],
    },
  });
  // Reads for gates and evaluations: short; a gate that cannot be read is simply not met.
  const reading = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
  });
  // The writers' lag is measured on every evaluation beside the science reads, and never throws
  // (a Kafka outage is reported in its result): one short attempt, so a slow broker never holds
  // up the evaluation that decides a rollback.
  const measuring = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '20 seconds',
    retry: { maximumAttempts: 1 },
  });
  // The audit entry of a transition that happened must be written: retried until it is.
  const recording = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  // Dropping tables can take a while; idempotent (IF EXISTS), retried until done.
  const decommissioning = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '30 minutes',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
  return {
    publishControl: publishing.publishControl,
    readScience: reading.readScience,
    checkWriters: reading.checkWriters,
    writerLag: measuring.writerLag,
    verifyOldStoreAgedOut: reading.verifyOldStoreAgedOut,
    environmentStage: reading.environmentStage,
    lastAuditSeq: recording.lastAuditSeq,
    appendAudit: recording.appendAudit,
    decommissionOldStore: decommissioning.decommissionOldStore,
  };
}
