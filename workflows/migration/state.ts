/**
 * What one run of the migration workflow holds: its state (the query's view plus what
 * continue-as-new carries), the context every part of the run shares, and the small state moves
 * (entering a stage, setting the ramp) the transitions apply.
 */
import { ApplicationFailure, rootCause } from '@temporalio/workflow';
import {
  MigrationFailureType,
  Stage,
  type MigrationActivities,
  type MigrationPolicy,
  type MigrationState,
  type MigrationStateView,
  type RequestKind,
  type UpdateResult,
} from '../../contract/index.js';
import { setRamp } from '../cohort-gates.js';
import type { GateContext } from '../migration-gates.js';

/** Request ids (with their results) remembered for de-duplication, across continue-as-new. */
export const MAX_RECENT_REQUESTS = 50;

/** The workflow's state: the query's view plus what continue-as-new must carry. */
export interface WorkflowState extends MigrationStateView {
  /** Results of the requests in recentRequestIds, so a repeat returns the original result. */
  requestResults: Record<string, { kind: RequestKind; result: UpdateResult }>;
}

/** The two stages with a ramp. */
export type Ramped = typeof Stage.science | typeof Stage.cutover;

/** What every part of a run reads and changes. */
export interface Run {
  readonly env: string;
  readonly policy: MigrationPolicy;
  readonly workflowId: string;
  readonly acts: MigrationActivities;
  readonly state: WorkflowState;
  /** Tells the loop the state changed, so it plans its timer again. */
  changed(): void;
}

/** An operator request refused: nothing changed. */
export function rejection(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: MigrationFailureType.rejected, nonRetryable: true });
}

/** The message of an activity's or child's failure (its root cause). */
export function errorMessage(err: unknown): string {
  return rootCause(err) ?? String(err);
}

/** Sets the ramp (the environment's, or a cohort's), keeping the time it reached 100% while it stays there. */
export function applyRamp(s: Pick<WorkflowState, 'ramp' | 'rampSince' | 'fullRampSince'>, percent: number, now: number): void {
  setRamp(s, percent, now);
}

/** Enters a stage: its clock starts, pause, rollback and gates are cleared. */
export function enterStage(s: WorkflowState, stage: Stage, now: number): void {
  s.stage = stage;
  s.stageEnteredAt = now;
  s.paused = false;
  s.rolledBack = null;
  s.gates = [];
}

export function initialState(env: string, carried: MigrationState | undefined, now: number): WorkflowState {
  const fresh: WorkflowState = {
    env,
    stage: Stage.planned,
    ramp: 0,
    paused: false,
    rolledBack: null,
    coverageHorizon: null,
    stageEnteredAt: now,
    fullRampSince: null,
    ttlGateAt: null,
    gates: [],
    evaluations: [],
    pendingApproval: false,
    controlVersion: 0,
    auditSeq: 0,
    recentRequestIds: [],
    lastTransitionAt: now,
    approvalRequestedBy: null,
    rampSince: now,
    requestResults: {},
  };
  if (carried === undefined) return fresh;
  // A state carried by continue-as-new holds the extra fields too; one from elsewhere may not.
  const c = carried as MigrationState & Partial<WorkflowState>;
  const state: WorkflowState = { ...fresh, ...c };
  state.recentRequestIds = state.recentRequestIds.slice(-MAX_RECENT_REQUESTS);
  state.requestResults = Object.fromEntries(Object.entries(c.requestResults ?? {}).filter(([id]) => state.recentRequestIds.includes(id)));
  return state;
}

/** The query's view of the state (without the request results). */
export function view(s: WorkflowState): MigrationStateView {
  const { requestResults: _omitted, ...rest } = s;
  return rest;
}

/** The gates' view of the run now. */
export function gateContext(r: Run): GateContext {
  return { state: r.state, policy: r.policy, now: Date.now() };
}

/** The answer of an update: where the migration is now, and what was done (to which cohort, if one). */
export function result(r: Run, message: string, cohort?: string): UpdateResult {
  return { stage: r.state.stage, ramp: r.state.ramp, controlVersion: r.state.controlVersion, message, ...(cohort !== undefined ? { cohort } : {}) };
}
