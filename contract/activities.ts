/**
 * The contract between the migration workflow and its activities. The workflow proxies
 * `MigrationActivities` (types only); the activity families in activities/ (one file each:
 * control, science, writers, old store, audit, promotion) implement it with real clients, and the
 * worker composes them.
 */
import type { ControlCohort } from './cohorts.js';
import type { AuditEntry } from './migration.js';
import type { StageOrNotStarted } from './names.js';

/** The control-state fields the workflow changes (the rest, e.g. the fault switch, are kept). */
export interface ControlPatch {
  oldWriter?: boolean;
  newWriter?: boolean;
  sciencePercent?: number;
  cutoverPercent?: number;
  coverageHorizon?: number | null;
  oldStoreAvailable?: boolean;
  retentionMs?: number;
  tolerance?: { relative: number; absolute: number };
  /** The demo fault switch (set by the setFault update, so it is audited like every change); `cohort`: only that cohort's apps. */
  faults?: { newWriterCorruptionRate: number; cohort?: string };
  /** Per-cohort science and cutover percents with each cohort's selector (policies with cohorts). */
  cohorts?: ControlCohort[];
}

/** Input of publishControl. */
export interface PublishControlInput {
  env: string;
  /** Unique per transition (workflowId + audit seq): a retried activity publishes once. */
  transitionId: string;
  patch: ControlPatch;
  actor: string;
  reason: string;
  ackTimeoutMs: number;
}

/** What publishControl did. */
export interface PublishControlResult {
  version: number;
  /** Instance ids that acknowledged the version. */
  acknowledged: string[];
  /** When every live instance had acknowledged (epoch ms). */
  acknowledgedAt: number;
  /** False when this transition had already been published by an earlier attempt. */
  published: boolean;
}

/** Science figures over a window, for gates and automatic rollback. */
export interface ScienceFigures {
  windowMs: number;
  comparisons: number;
  mismatches: number;
  mismatchRate: number;
  newStoreErrorRate: number;
  servedOld: number;
  servedNew: number;
  /** Queries served (a split query is one query; absent in figures recorded before it was read). */
  queries?: number;
  /** Queries served in two parts, old store before the coverage horizon and new store from it (absent before it was counted). */
  splitQueries?: number;
  /** New-store reads attempted, the new-store error rate's denominator (absent before it was counted). */
  newStoreReads?: number;
  /**
   * Comparisons with a minute only one store had that was not judged: the other store's writer
   * was not proven past it in time (down, restarting, behind). Never in the mismatch rate.
   * Absent before it was counted.
   */
  unjudged?: number;
  /** Cutover reads whose fresh end got from the old store a minute the new store lacked (its writer not yet past it): holes kept out of served reads (absent before it was counted). */
  freshSplits?: number;
  candidateErrors: number;
  candidateTimeouts: number;
  p99OldMs: number | null;
  p99NewMs: number | null;
}

/** Health of the writers of an env (dual-write gate). */
export interface WriterHealth {
  /** Live instances per writer role. */
  cassandraWriters: number;
  dynamodbWriters: number;
  /** Consumer lag (messages) of each writer group. */
  cassandraLag: number;
  dynamodbLag: number;
  /** |committed offsets of the two groups| summed over partitions: write parity. */
  parityGap: number;
}

/** How far behind one store's writer group is (see pipeline/kernel/observability/writer-lag.ts). */
export interface StoreWriterLag {
  /** Age of the oldest metrics record the writers of this store have not written yet, ms (0: caught up). */
  behindMs: number;
  /** Records not written yet, summed over partitions. */
  messages: number;
}

/** Both writers' lag at one moment; `error` when it could not be measured (Kafka unreachable). */
export interface WriterLag {
  at: number;
  old: StoreWriterLag | null;
  new: StoreWriterLag | null;
  error?: string;
}

/** The activities the migration workflow calls. */
export interface MigrationActivities {
  /** Publishes the current control state with the patch applied (idempotent per transitionId) and waits for every live instance. */
  publishControl(input: PublishControlInput): Promise<PublishControlResult>;
  /** Reads science stats of the last windowMs: of the whole environment, or of one cohort's apps. */
  readScience(input: { env: string; windowMs: number; cohort?: string }): Promise<ScienceFigures>;
  /** Writer liveness, lag and parity. */
  checkWriters(input: { env: string }): Promise<WriterHealth>;
  /** How far behind each store's writers are, in time and records; never throws (an unreachable Kafka gives `error`). */
  writerLag(input: { env: string }): Promise<WriterLag>;
  /** Whether the old store still holds any point older than the horizon. */
  verifyOldStoreAgedOut(input: { env: string; horizon: number }): Promise<{ agedOut: boolean; oldestMinute: number | null }>;
  /** Appends an audit entry; a repeat with the same (env, seq, workflowId) is a no-op. */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Drops (or keeps) the old store's tables after decommission. */
  decommissionOldStore(input: { env: string; keepTables: boolean }): Promise<{ dropped: boolean }>;
  /** The stage of another environment's migration (NOT_STARTED when it has none). */
  environmentStage(input: { env: string }): Promise<{ stage: StageOrNotStarted }>;
  /** The highest audit seq of the env (0 when it has none), so a fresh run numbers after it. */
  lastAuditSeq(input: { env: string }): Promise<{ seq: number }>;
}
