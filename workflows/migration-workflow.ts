/**
 * The migration workflow: one per environment (workflow id migrationWorkflowId(env)), moving it
 * through planned → dual_write → science → cutover → ttl_wait → decommission → complete.
 *
 * Operators act through Updates (contract/migration-messages.ts). An update's validator refuses
 * only a request that names no actor (identity, reason, request id) or reuses a request id of
 * another kind, before anything is recorded. Everything else is judged by the handler, under the
 * transition lock: what the state rules out (a stale page, a bake time not yet over, a percent
 * out of range, self-approval) and what needs figures (writer health, science stats, old-store
 * age, the predecessor environment's stage). It either makes the transition or refuses the
 * request with the reason and the gate's numbers, audited as `<kind>_rejected` and changing
 * nothing else (runs recorded before the `audit-rejections` patch refused without the entry).
 *
 * Every transition — an operator's or the workflow's own (automatic ramp, automatic rollback) —
 * publishes a control-state patch and waits for every live data-plane instance to acknowledge
 * it (publishControl), then appends an audit entry with the evidence. Transitions are
 * serialized by a workflow-side lock, so a handler and the evaluation loop never interleave.
 * A transition whose publication is not acknowledged is audited as failed and, when it would
 * have increased the new store's exposure, reverted with a second publication.
 *
 * The loop evaluates science stats on a timer in science and cutover (automatic rollback and
 * ramping), refreshes the exit gate in dual_write, sleeps until the TTL gate time in ttl_wait,
 * drops the old store after an approved decommission, and continues as new after
 * policy.continueAsNewAfter timer ticks, carrying its state.
 *
 * The parts, in migration/: state.ts (the state and the run's context), requests.ts (what each
 * request is refused for, de-duplication, audited refusals), stage-moves.ts (each action as a
 * transition), transitions.ts (publish, acknowledge, apply, audit, revert), evaluation.ts (the
 * timer's work: automatic rollback and ramping, gates), automatic-steps.ts (the automatic rollback
 * and the writer-lag hold), cohort-moves.ts and cohort-evaluation.ts (the same, cohort by cohort,
 * for a policy with cohorts: each cohort ramps science and cutover on its own evidence, in order,
 * and is rolled back alone), run.ts (handlers and the loop).
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { MigrationFailureType, type MigrationInput, type MigrationStateView } from '../contract/index.js';
import { inputProblems } from './migration-input.js';
import { MigrationRun } from './migration/run.js';

export { GATES_V2_PATCH } from './migration/evaluation.js';
export { AUDIT_REJECTIONS_PATCH } from './migration/requests.js';
export { MAX_RECENT_REQUESTS } from './migration/state.js';

/**
 * The migration of one environment. Validates its input, registers its handlers, then runs until
 * the migration is complete (returning the final state) or continues as new.
 */
export async function migrationWorkflow(input: MigrationInput): Promise<MigrationStateView> {
  const problems = inputProblems(input);
  if (problems.length > 0) {
    throw ApplicationFailure.create({
      message: `invalid migration input: ${problems.join('; ')}`,
      type: MigrationFailureType.invalidInput,
      nonRetryable: true,
    });
  }
  const run = new MigrationRun(input);
  run.reserveAuditNumbering();
  run.registerHandlers();
  return await run.run();
}
