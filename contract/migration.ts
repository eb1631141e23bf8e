/**
 * The migration's domain types, shared by the workflow, its activities, the worker, the CLI and
 * the console. Types only: this file is part of the workflow bundle.
 */
import type { WriterLag } from './activities.js';
import type { CohortSpec } from './cohorts.js';
import type { Stage } from './names.js';
import type { VerifyOutcome } from './verify.js';

/** Per-environment policy: thresholds, windows, bake times, ramp steps (all durations in ms). */
export interface MigrationPolicy {
  /** Environments in promotion order; an env may not enter a stage its predecessor has not completed. */
  promotionOrder: string[];
  /** Retention of stored points. */
  retentionMs: number;
  /** Extra wait after H + retention before the old store counts as aged out. */
  ttlGraceMs: number;
  /** How long after cutover reached 100% a rollback stays possible (ttl_wait also waits for it). */
  rollbackWindowMs: number;
  /** Bake time per stage: how long its exit condition must hold. */
  bakeMs: { dualWrite: number; science: number; cutover: number };
  /** Ramp steps, percent, ascending, ending at 100. */
  scienceSteps: number[];
  cutoverSteps: number[];
  /** Step automatically through the ramp when each step is healthy for autoRampIntervalMs. */
  autoRamp: boolean;
  autoRampIntervalMs: number;
  /** Gates. */
  minComparisons: number;
  maxMismatchRate: number;
  maxNewStoreErrorRate: number;
  maxWriterLag: number;
  /**
   * Automatic ramping holds while either store's writer is behind by more than this (the age of
   * its oldest unwritten record); a lagging writer never rolls the migration back. Absent: 30 s
   * (DEFAULT_MAX_WRITER_BEHIND_MS in workflows/migration-gates.ts).
   */
  maxWriterBehindMs?: number;
  /** A writer behind beyond maxWriterBehindMs for this long is an outage: it is audited and notified once. Absent: 5 minutes. */
  writerOutageMs?: number;
  /** Automatic rollback: evaluated every evaluationIntervalMs over the last evaluationWindowMs. */
  evaluationIntervalMs: number;
  /**
   * In ttl_wait, once the gate time has passed, how often the old store is checked for data older
   * than the horizon (a scan of the old table). Absent: every evaluationIntervalMs.
   */
  ttlCheckIntervalMs?: number;
  evaluationWindowMs: number;
  minSamplesForRollback: number;
  rollbackMismatchRate: number;
  rollbackErrorRate: number;
  /**
   * The short (burst) window, evaluated on every tick next to evaluationWindowMs: a burst of
   * mismatches rolls back within one short window, and no ramp step is taken while it holds a
   * mismatch rate above maxMismatchRate. Absent: min(evaluationWindowMs, 1 minute).
   */
  shortWindowMs?: number;
  /**
   * The cutover exit gate needs at least this many reads served by the new store over its window,
   * and a new-store share of queries of at least minNewStoreShare x the ramp. Absent: not checked
   * (policies written before the rule).
   */
  minNewStoreReads?: number;
  /** See minNewStoreReads; absent: 0.8. */
  minNewStoreShare?: number;
  /** How long to wait for every data-plane instance to acknowledge a control state. */
  ackTimeoutMs: number;
  /** Keep the old tables at decommission (true) or drop them (false). */
  keepOldTables: boolean;
  /** Comparison tolerance published in the control state. */
  tolerance: { relative: number; absolute: number };
  /** Continue-as-new after this many loop iterations (keeps history small over weeks). */
  continueAsNewAfter: number;
  /**
   * When set, leaving science for cutover needs a clean verify run (npm run ops -- verify) whose
   * range ends no more than maxAgeMs before the request. Absent or null: no verify is required.
   */
  verifyBeforeCutover?: { maxAgeMs: number } | null;
  /**
   * Cohorts of apps, in the order their reads move (contract/cohorts.ts): each ramps science and
   * cutover on its own evidence, one after another; the last is everyone else. Absent or empty:
   * the whole environment moves as one (every read is in the same ramp).
   */
  cohorts?: CohortSpec[];
}

/** Who asked, and why (every update carries it). */
export interface Actor {
  /** Operator identity (from sign-in), or "automatic" for the workflow itself. */
  identity: string;
  reason: string;
  /** Idempotency key: a request repeated with the same id takes effect once. */
  requestId: string;
}

/** Workflow input. */
export interface MigrationInput {
  env: string;
  policy: MigrationPolicy;
  /** Carried over by continue-as-new; absent on a fresh start. */
  carried?: MigrationState;
}

/** A gate's verdict with the numbers behind it. */
export interface GateStatus {
  name: string;
  passed: boolean;
  detail: string;
  /** The figures the verdict used (rates, counts, times). */
  evidence: Record<string, number | string | boolean | null>;
}

/** The latest evaluation of science stats. */
export interface Evaluation {
  at: number;
  stage: Stage;
  ramp: number;
  comparisons: number;
  mismatches: number;
  mismatchRate: number;
  newStoreErrorRate: number;
  verdict: 'healthy' | 'insufficient_samples' | 'rollback';
  /** The short (burst) window's figures (evaluations since two-window evaluation). */
  short?: WindowFigures;
  /** The figures since the current ramp step began: what an automatic ramp step is judged on. */
  step?: WindowFigures;
  /** Which window called for the rollback ('short' or 'long'). */
  rollbackWindow?: 'short' | 'long';
  /** For the console: what the next automatic ramp step waits for, in words and numbers. */
  waitingFor?: string;
  /** The cohort judged (policies with cohorts; absent: the whole environment). */
  cohort?: string;
}

/** The figures of one evaluation window. */
export interface WindowFigures {
  windowMs: number;
  comparisons: number;
  mismatches: number;
  mismatchRate: number;
  newStoreErrorRate: number;
}

/** What the state query returns. */
export interface MigrationState {
  env: string;
  stage: Stage;
  /** Science percent in science, cutover percent in cutover; 0 elsewhere. */
  ramp: number;
  paused: boolean;
  /** Set by an automatic rollback until an operator resumes. */
  rolledBack: { at: number; reason: string; evidence: Record<string, number | string | boolean | null> } | null;
  /**
   * When an operator last resumed after an automatic rollback (absent: never). The rollback
   * windows reach back no further than this: what came before already rolled the stage back, and
   * a resume is judged on the evidence gathered since.
   */
  resumedAt?: number | null;
  coverageHorizon: number | null;
  /** When the current stage was entered / its current ramp step reached 100 (for bake times). */
  stageEnteredAt: number;
  fullRampSince: number | null;
  /** When the TTL gate fires (ttl_wait only). */
  ttlGateAt: number | null;
  gates: GateStatus[];
  evaluations: Evaluation[];
  pendingApproval: boolean;
  /** The fault switch as last set through the workflow (absent: never set). */
  faultRate?: number;
  /** Version of the last control state this workflow published. */
  controlVersion: number;
  /** Sequence number of the last audit entry. */
  auditSeq: number;
  /** Recently processed request ids (bounded), for idempotency across continue-as-new. */
  recentRequestIds: string[];
  lastTransitionAt: number;
  /** The latest finished verify run (absent: none since this was added). */
  lastVerify?: VerifyOutcome | null;
  /** Both writers' lag as the last evaluation measured it (science and cutover; absent before it was measured). */
  writerLag?: WriterLag | null;
  /** A writer behind beyond the policy's limit since `since` (automatic ramping holds); null when none is. */
  writerHold?: WriterHold | null;
  /** The cohort the fault switch is limited to, as last set (absent or null: every app). */
  faultCohort?: string | null;
  /**
   * Each cohort's own place in science and cutover (policies with cohorts, from science on; in
   * order). The environment's `ramp` is then the least exposed cohort's, and `paused` holds every
   * cohort's automatic ramping.
   */
  cohorts?: CohortState[];
}

/** The stages a cohort moves through on its own. */
export type CohortStage = typeof Stage.science | typeof Stage.cutover;

/** One cohort's place in the migration: its stage and ramp, its holds and its latest evidence. */
export interface CohortState {
  name: string;
  /** science (at 0 %: not begun yet) or cutover. */
  stage: CohortStage;
  /** Science percent in science, cutover percent in cutover. */
  ramp: number;
  /** Automatic ramping of this cohort holds (an operator's pause, or an automatic rollback). */
  paused: boolean;
  /** Set by an automatic rollback of this cohort until an operator resumes it. */
  rolledBack: { at: number; reason: string; evidence: Record<string, number | string | boolean | null> } | null;
  /** When an operator last resumed this cohort after a rollback (its rollback windows reach back no further). */
  resumedAt: number | null;
  /** When the cohort entered its stage / its ramp was set / it reached 100 % (null: not at 100). */
  stageEnteredAt: number;
  rampSince: number;
  fullRampSince: number | null;
  /** The cohort's exit gate (science -> cutover, or its part of cutover -> ttl_wait), as last judged. */
  gate: GateStatus | null;
  /** The cohort's latest evaluation. */
  evaluation: Evaluation | null;
  /** What happens next to this cohort, in words (what its next automatic step waits for, or who must act). */
  next: string | null;
}

/** A writer lag episode: which store's writer is behind beyond the limit, since when, by how much. */
export interface WriterHold {
  since: number;
  store: 'old' | 'new';
  behindMs: number;
  /** Whether the episode was long enough to be audited and notified as an outage. */
  outage: boolean;
}

/** Input of the advance update: the operator names the stage they expect to leave. */
export interface AdvanceInput extends Actor {
  from: Stage;
  /**
   * With cohorts, in science: the cohort to move to cutover (absent: the first still in science;
   * moving the last one moves the environment). Elsewhere it must be absent.
   */
  cohort?: string;
  /** Skip the promotion-order check (recorded in the audit log; reason required). */
  overridePromotionOrder?: boolean;
}

/** A request that may name one cohort (pause, resume, rollback): absent, the whole environment. */
export interface CohortActor extends Actor {
  cohort?: string;
}

/** Input of set-ramp (with cohorts, `cohort` names whose ramp; required then). */
export interface SetRampInput extends CohortActor {
  percent: number;
}

/** Input of setFault: the share of points the new-store writer corrupts (0 = off; demo fault injection), optionally only a cohort's apps. */
export interface SetFaultInput extends CohortActor {
  newWriterCorruptionRate: number;
}

/** Result of every update: what the workflow did. */
export interface UpdateResult {
  stage: Stage;
  ramp: number;
  controlVersion: number;
  message: string;
  /** The cohort the request acted on (absent: the environment). */
  cohort?: string;
}

/** One audit entry (append-only, per env, time-ordered). */
export interface AuditEntry {
  env: string;
  /** Per-env sequence, strictly increasing; with workflowId it makes the write idempotent. */
  seq: number;
  at: number;
  actor: string;
  action: string;
  from: string;
  to: string;
  reason: string;
  evidence: Record<string, unknown>;
  workflowId: string;
  runId: string;
  controlVersion: number | null;
}

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
  /**
   * The policy the workflow runs with (bake times, ramp steps, thresholds), so the console and the
   * CLI can say what happens next and when. Absent from workers that predate it.
   */
  policy?: MigrationPolicy;
}
