/**
 * The messages of the migration workflow: operator Updates and the state Query. Definitions only
 * (no workflow code), so the console, the CLI and tests import them without importing the
 * workflow. Every operator action is an Update, not a Signal, because the console needs the
 * result: accepted with what the workflow did, or rejected with the reason.
 *
 * Address the workflow by id (migrationWorkflowId(env)) and set the Temporal update id to the
 * request id (`executeUpdate(advanceUpdate, { args: [input], updateId: input.requestId })`); the
 * workflow de-duplicates on requestId itself as well, across continue-as-new.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Actor, AdvanceInput, MigrationState, SetFaultInput, SetRampInput, UpdateResult } from './migration-types.js';

/** Input of start: an actor, optionally overriding the promotion order (with the actor's reason). */
export interface StartInput extends Actor {
  overridePromotionOrder?: boolean;
}

/** What the state query returns: the MigrationState contract plus two fields the console may show. */
export interface MigrationStateView extends MigrationState {
  /** Who asked for decommission (the approver must be someone else); null unless pending. */
  approvalRequestedBy: string | null;
  /** When the current ramp value was set (automatic ramping waits autoRampIntervalMs from here). */
  rampSince: number;
}

/** Kinds of operator request, as recorded with a request id for de-duplication. */
export type RequestKind = 'start' | 'advance' | 'rollback' | 'pause' | 'resume' | 'set_ramp' | 'approve_decommission' | 'set_fault';

/** planned → dual_write; the same as advance with from = 'planned'. */
export const startUpdate = defineUpdate<UpdateResult, [StartInput]>('startUpdate');
/** Leave the stage named in `from` for the next one, if its gate is met. */
export const advanceUpdate = defineUpdate<UpdateResult, [AdvanceInput]>('advanceUpdate');
/** Back off: science/cutover ramp to 0 and pause; ttl_wait (within the rollback window) back to cutover at 0; dual_write back to planned. */
export const rollbackUpdate = defineUpdate<UpdateResult, [Actor]>('rollbackUpdate');
/** Stop automatic ramping in science/cutover (automatic rollback stays armed). */
export const pauseUpdate = defineUpdate<UpdateResult, [Actor]>('pauseUpdate');
/** Clear pause and automatic rollback; a ramp at 0 restarts at the stage's first step, otherwise it is kept. */
export const resumeUpdate = defineUpdate<UpdateResult, [Actor]>('resumeUpdate');
/** Set the science (in science) or cutover (in cutover) percent, an integer 0..100. */
export const setRampUpdate = defineUpdate<UpdateResult, [SetRampInput]>('setRampUpdate');
/**
 * Set the demo fault switch (the new-store writer corrupts this share of points): published,
 * acknowledged and audited like every other control-state change.
 */
export const setFaultUpdate = defineUpdate<UpdateResult, [SetFaultInput]>('setFaultUpdate');
/** Approve the pending decommission (by someone other than who requested it). */
export const approveDecommissionUpdate = defineUpdate<UpdateResult, [Actor]>('approveDecommissionUpdate');
/** The workflow's state, gates with their figures, TTL timer and recent evaluations. */
export const stateQuery = defineQuery<MigrationStateView>('stateQuery');
