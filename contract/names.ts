/**
 * The names every part of Switchyard shares: the stages, the workflow's type, id, update and
 * query names (their typed definitions are migration-messages.ts) and search attributes, failure
 * types, audit actions, the data-plane roles and the environment-name pattern. Plain data and
 * pure functions of it (this file is part of the workflow bundle); import these, never write the
 * strings again. A list of snake_case names gets its named constants from namedConstants, so
 * the list is the one place each name is spelled.
 */

/** snake_case as camelCase, at the type level: 'dual_write' → 'dualWrite'. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/**
 * Named constants for a list of snake_case names, each under its camelCase key
 * (`{ dualWrite: 'dual_write', ... }`), so code names a shared value without writing its string
 * and the list stays the one place it is spelled.
 */
export function namedConstants<const T extends readonly string[]>(names: T): { readonly [K in T[number] as CamelCase<K>]: K } {
  return Object.fromEntries(names.map((n) => [n.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), n])) as {
    readonly [K in T[number] as CamelCase<K>]: K;
  };
}

/** The stages of a migration, in order. */
export const STAGES = ['planned', 'dual_write', 'science', 'cutover', 'ttl_wait', 'decommission', 'complete'] as const;

/** One stage. */
export type Stage = (typeof STAGES)[number];

/** Named stage constants (Stage.dualWrite, never the string). */
export const Stage = namedConstants(STAGES);

/** The stage after `stage`, or null after complete. */
export function nextStage(stage: Stage): Stage | null {
  return STAGES[STAGES.indexOf(stage) + 1] ?? null;
}

/** The pseudo-stage of an environment that has no migration workflow yet (promotion order). */
export const NOT_STARTED = 'not_started';

/** A stage, or not started. */
export type StageOrNotStarted = Stage | typeof NOT_STARTED;

/** Environment names, everywhere in Switchyard (workflow ids, topics, keyspaces, tables). */
export const ENV_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;

/** Registered name of the workflow type (start and address it by name, never by import). */
export const MIGRATION_WORKFLOW_TYPE = 'migrationWorkflow';

/** Stable workflow id of an environment's migration. */
export function migrationWorkflowId(env: string): string {
  return `switchyard-migration-${env}`;
}

/** The migration workflow's updates by request kind (defined in migration-messages.ts). */
export const UPDATE_NAMES = {
  start: 'startUpdate',
  advance: 'advanceUpdate',
  rollback: 'rollbackUpdate',
  pause: 'pauseUpdate',
  resume: 'resumeUpdate',
  set_ramp: 'setRampUpdate',
  set_fault: 'setFaultUpdate',
  approve_decommission: 'approveDecommissionUpdate',
  record_operation: 'recordOperationUpdate',
} as const;

/** Kinds of operator request, as recorded with a request id for de-duplication. */
export type RequestKind = keyof typeof UPDATE_NAMES;

/** The migration workflow's own audit actions (AuditEntry.action), in the order the console lists them. */
const WORKFLOW_AUDIT_ACTIONS = [
  'start',
  /** Dual write's start was not acknowledged and is undone. */
  'start_reverted',
  'record_coverage_horizon',
  'advance',
  'rollback',
  'automatic_rollback',
  'auto_ramp',
  'set_ramp',
  'set_fault',
  'pause',
  'resume',
  'approve_decommission',
  'decommission_old_store',
  /** A publication that was not acknowledged, reverted. */
  'revert',
  'revert_failed',
  /** A store's writer fell behind beyond the policy's limit: automatic ramping holds (no control change). */
  'writer_lag_hold',
  /** The writers caught up again: the hold ended. */
  'writer_lag_hold_ended',
  /** A writer has been behind long enough to be an outage (notified). */
  'writer_outage',
] as const;

/**
 * The actions the migration workflow records in the audit history, by name (AuditAction.startReverted).
 * A transition whose control state was not acknowledged is recorded as failedAction(action), a
 * refused request as rejectedAction(kind), a verify or repair run's events as
 * operationAction(operation, event).
 */
export const AuditAction = namedConstants(WORKFLOW_AUDIT_ACTIONS);

/** Actions that record an observation, never a control-state change (so they have no `_failed` form). */
const OBSERVATION_ACTIONS: readonly string[] = [
  AuditAction.revert,
  AuditAction.revertFailed,
  AuditAction.writerLagHold,
  AuditAction.writerLagHoldEnded,
  AuditAction.writerOutage,
];

/** One of the workflow's own audit actions. */
export type AuditActionName = (typeof WORKFLOW_AUDIT_ACTIONS)[number];

/** The verify and repair runs the migration's audit history records (npm run ops -- verify|repair). */
export const OPERATIONS = ['verify', 'repair'] as const;

/** What happened to such a run. */
export const OPERATION_EVENTS = ['started', 'finished', 'failed'] as const;

/** The audit action of a transition whose control state was not acknowledged. */
export function failedAction(action: AuditActionName): `${AuditActionName}_failed` {
  return `${action}_failed`;
}

/** The audit action of a refused operator request. */
export function rejectedAction(kind: RequestKind): `${RequestKind}_rejected` {
  return `${kind}_rejected`;
}

/** The audit action of a verify or repair run's event. */
export function operationAction(operation: (typeof OPERATIONS)[number], event: (typeof OPERATION_EVENTS)[number]): string {
  return `${operation}_${event}`;
}

/** Every action the audit history may hold (for the console's filter). */
export const AUDIT_ACTIONS: readonly string[] = [
  ...WORKFLOW_AUDIT_ACTIONS,
  ...WORKFLOW_AUDIT_ACTIONS.filter((a) => !OBSERVATION_ACTIONS.includes(a)).map((a) => failedAction(a)),
  ...(Object.keys(UPDATE_NAMES) as RequestKind[]).map((k) => rejectedAction(k)),
  ...OPERATIONS.flatMap((o) => OPERATION_EVENTS.map((e) => operationAction(o, e))),
];

/** The migration workflow's state query. */
export const STATE_QUERY_NAME = 'stateQuery';

/**
 * Custom search attributes of migration workflows, so operators can find and filter them in the
 * Temporal UI ("SwitchyardStage = 'science'"), with their Temporal index types. Registered on the
 * server by the local stack (`npm run stack -- up`) or by an operator on a real cluster.
 */
export const SEARCH_ATTRIBUTES = {
  /** Environment the migration workflow runs for (test, staging, production, ...). */
  SwitchyardEnv: 'Keyword',
  /** Current migration stage (planned, dual_write, science, ...). */
  SwitchyardStage: 'Keyword',
  /** Current science or cutover ramp percent, 0..100. */
  SwitchyardRampPercent: 'Int',
} as const;

/** Names of the custom search attributes. */
export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** The custom search attributes by what they hold. */
export const SearchAttribute = {
  env: 'SwitchyardEnv',
  stage: 'SwitchyardStage',
  rampPercent: 'SwitchyardRampPercent',
} as const satisfies Record<string, SearchAttributeName>;

/** Failure types the activities throw (ApplicationFailure.type) and the workflow matches on. */
export const ActivityFailureType = {
  /** Not every live instance acknowledged a control-state version in time (retryable). */
  acknowledgementTimeout: 'AcknowledgementTimeout',
  /** The activity's input is invalid (non-retryable). */
  invalidInput: 'InvalidActivityInput',
  /** A control state failed validation (non-retryable). */
  invalidControlState: 'InvalidControlStateError',
  /** The audit seq is taken by a different entry (non-retryable). */
  auditSeqConflict: 'AuditSeqConflictError',
  /** An audit entry cannot be stored as given (non-retryable). */
  invalidAuditEntry: 'InvalidAuditEntryError',
  /** Decommission asked to drop the old store while the control state still uses it (non-retryable). */
  oldStoreInUse: 'OldStoreInUse',
} as const;

/** Failure types of the migration workflow's own failures (what clients of its updates see). */
export const MigrationFailureType = {
  /** The workflow input is invalid (the workflow fails). */
  invalidInput: 'InvalidMigrationInput',
  /** An operator request was rejected: nothing changed. */
  rejected: 'MigrationRequestRejected',
  /** A control state was not acknowledged by every live instance: the transition did not happen. */
  notAcknowledged: 'ControlStateNotAcknowledged',
  /** The transition happened but the audit log refused its entry. */
  auditRefused: 'AuditEntryRefused',
} as const;

/** The two stores' writers, by sink. */
export const SINKS = ['cassandra', 'dynamodb'] as const;

/** One sink. */
export type Sink = (typeof SINKS)[number];

/** Heartbeat role of a writer of a sink. */
export function writerRole(sink: Sink): `writer-${Sink}` {
  return `writer-${sink}`;
}

/** Heartbeat roles of the data-plane instances. */
export const ROLES = {
  aggregator: 'aggregator',
  query: 'query',
  writerCassandra: writerRole('cassandra'),
  writerDynamodb: writerRole('dynamodb'),
} as const;

/** The identity the workflow uses for its own actions; operators may not use it. */
export const AUTOMATIC_ACTOR = 'automatic';

/** The compacted topic holding the latest control state of every environment (key = env). */
export const CONTROL_TOPIC = 'switchyard.control';

/** The topic where data-plane instances announce themselves and the version they apply. */
export const HEARTBEAT_TOPIC = 'switchyard.heartbeats';
