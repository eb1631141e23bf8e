/**
 * The messages of the migration workflow: the operator Updates and the state Query, typed with
 * what each takes and returns. The workflow registers its handlers on these definitions, and every
 * client (the console and its operator API, which the CLI calls; the worker's gate watcher and
 * verify activities; the launcher, the drill, the benchmarks and the workflow tests) sends them,
 * so a wrong argument or a misread result fails the type check instead of the workflow. The names are UPDATE_NAMES and STATE_QUERY_NAME
 * (names.ts): recorded histories name them, so they never change.
 *
 * A definition is a plain object ({ type, name }) made by the workflow API's define functions,
 * which may run outside a workflow: this module holds no workflow code and is part of the workflow
 * bundle, the worker and the console alike. It is not re-exported by index.ts, so the data plane,
 * which never talks to Temporal, does not load the workflow API.
 *
 * Every operator action is an Update, not a Signal, because the caller needs the result: accepted
 * with what the workflow did, or rejected with the reason. Address the workflow by id
 * (migrationWorkflowId(env)) and set the Temporal update id to the request id
 * (`executeUpdate(advanceUpdate, { args: [input], updateId: input.requestId })`); the workflow
 * de-duplicates on requestId itself as well, across continue-as-new.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Actor, AdvanceInput, CohortActor, MigrationStateView, SetFaultInput, SetRampInput, StartInput, UpdateResult } from './migration.js';
import { STATE_QUERY_NAME, UPDATE_NAMES } from './names.js';
import type { OperationRecord } from './verify.js';

/** planned → dual_write; the same as advance with from = 'planned'. */
export const startUpdate = defineUpdate<UpdateResult, [StartInput]>(UPDATE_NAMES.start);
/** Leave the stage named in `from` for the next one, if its gate is met. */
export const advanceUpdate = defineUpdate<UpdateResult, [AdvanceInput]>(UPDATE_NAMES.advance);
/**
 * Back off: science/cutover ramp to 0 and pause; ttl_wait (within the rollback window) back to
 * cutover at 0; dual_write back to planned. With cohorts, `cohort` limits it to that cohort.
 */
export const rollbackUpdate = defineUpdate<UpdateResult, [CohortActor]>(UPDATE_NAMES.rollback);
/** Stop automatic ramping in science/cutover (automatic rollback stays armed); of one cohort when named. */
export const pauseUpdate = defineUpdate<UpdateResult, [CohortActor]>(UPDATE_NAMES.pause);
/**
 * Clear pause and automatic rollback; a ramp at 0 restarts at the stage's first step, otherwise
 * it is kept. With cohorts: of one cohort when named; unnamed, the environment's pause and every
 * cohort's (a cohort at 0 % restarts when it is its turn).
 */
export const resumeUpdate = defineUpdate<UpdateResult, [CohortActor]>(UPDATE_NAMES.resume);
/** Set the science (in science) or cutover (in cutover) percent, an integer 0..100. */
export const setRampUpdate = defineUpdate<UpdateResult, [SetRampInput]>(UPDATE_NAMES.set_ramp);
/**
 * Set the demo fault switch (the new-store writer corrupts this share of points): published,
 * acknowledged and audited like every other control-state change.
 */
export const setFaultUpdate = defineUpdate<UpdateResult, [SetFaultInput]>(UPDATE_NAMES.set_fault);
/** Approve the pending decommission (by someone other than who requested it). */
export const approveDecommissionUpdate = defineUpdate<UpdateResult, [Actor]>(UPDATE_NAMES.approve_decommission);
/**
 * Record a verify or repair event in the environment's audit history (the verify and repair
 * workflows call it through an activity: the migration workflow is the one writer of the history).
 * A finished verify run also becomes the latest verify the cutover gate may require.
 */
export const recordOperationUpdate = defineUpdate<UpdateResult, [OperationRecord]>(UPDATE_NAMES.record_operation);
/** The workflow's state, gates with their figures, TTL timer and recent evaluations. */
export const stateQuery = defineQuery<MigrationStateView>(STATE_QUERY_NAME);
