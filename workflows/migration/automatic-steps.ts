/**
 * The workflow's own protective steps, shared by the environment's evaluation (evaluation.ts)
 * and the cohorts' (cohort-evaluation.ts): the automatic rollback (of the environment, or of one
 * cohort) and the writer-lag hold kept in the state and the audit.
 */
import { log } from '@temporalio/workflow';
import { AUTOMATIC_ACTOR, AuditAction, type Evaluation, type ScienceFigures, type WriterLag } from '../../contract/index.js';
import { syncEnvironmentRamp } from '../cohort-gates.js';
import {
  formatDuration,
  maxWriterBehindMs,
  rollbackReason,
  windowRollbackReason,
  writerBehindText,
  writerOutageMs,
  type WriterBehind,
} from '../migration-gates.js';
import { applyRamp, type Ramped, type Run, type WorkflowState } from './state.js';
import { audit, transition } from './transitions.js';

/**
 * Keeps the writer-lag episode in the state and the audit: when a writer falls behind beyond
 * the limit (automatic ramping holds), when that has lasted long enough to be an outage
 * (notified once), and when both caught up again. Nothing is published: a lagging writer changes
 * nothing the data plane does, and is never a reason to roll back. An evaluation that could not
 * measure the lag leaves the episode as it was.
 */
export async function trackWriterHold(r: Run, behind: WriterBehind | null, lag: WriterLag | null): Promise<void> {
  const s = r.state;
  if (lag === null || lag.error !== undefined) return;
  const now = Date.now();
  const hold = s.writerHold ?? null;
  const evidence = {
    oldBehindMs: lag.old?.behindMs ?? null,
    oldUnwritten: lag.old?.messages ?? null,
    newBehindMs: lag.new?.behindMs ?? null,
    newUnwritten: lag.new?.messages ?? null,
    maxWriterBehindMs: maxWriterBehindMs(r.policy),
    ramp: s.ramp,
  };
  const record = (action: string, reason: string): Promise<void> =>
    audit(r, ++s.auditSeq, { actor: AUTOMATIC_ACTOR, action, from: s.stage, to: s.stage, reason, evidence, controlVersion: null });
  if (behind !== null && behind.behindMs !== null) {
    if (hold === null) {
      s.writerHold = { since: now, store: behind.store, behindMs: behind.behindMs, outage: false };
      await record(
        AuditAction.writerLagHold,
        `${writerBehindText(behind, r.policy)}: automatic ramping holds until it catches up (a lagging writer is not evidence that the data differs, so nothing rolls back)`,
      );
      return;
    }
    s.writerHold = { ...hold, store: behind.store, behindMs: behind.behindMs };
    if (!hold.outage && now - hold.since >= writerOutageMs(r.policy)) {
      s.writerHold.outage = true;
      await record(
        AuditAction.writerOutage,
        `${writerBehindText(behind, r.policy)} for ${formatDuration(now - hold.since)}: check that writer (is it running, can it reach its store?); automatic ramping holds`,
      );
    }
    return;
  }
  if (behind === null && hold !== null) {
    s.writerHold = null;
    await record(AuditAction.writerLagHoldEnded, `the writers caught up after ${formatDuration(now - hold.since)}: automatic ramping may go on`);
  }
}

/**
 * Rolls back by itself: the ramp to 0 (in science and cutover), or, given `move`, the stage move
 * it makes (from ttl_wait: back to cutover at 0 %); paused, with the reason and evidence recorded.
 * With `cohort`, it is that cohort that is rolled back and paused (the default move sets its ramp
 * to 0; the other cohorts stay where they are), and the reason and evidence name it.
 */
export async function automaticRollback(
  r: Run,
  stage: Ramped,
  e: Evaluation,
  figures: ScienceFigures,
  move?: (s: WorkflowState, now: number) => void,
  cohort?: string,
): Promise<void> {
  const why = e.rollbackWindow ? windowRollbackReason(e, r.policy) : rollbackReason(e, r.policy);
  const reason = cohort === undefined ? why : `cohort ${cohort}: ${why}`;
  const evidence = {
    ...(cohort === undefined ? {} : { cohort }),
    windowMs: figures.windowMs,
    comparisons: figures.comparisons,
    mismatches: figures.mismatches,
    mismatchRate: figures.mismatchRate,
    newStoreErrorRate: figures.newStoreErrorRate,
    candidateErrors: figures.candidateErrors,
    candidateTimeouts: figures.candidateTimeouts,
    rollbackMismatchRate: r.policy.rollbackMismatchRate,
    rollbackErrorRate: r.policy.rollbackErrorRate,
    minSamplesForRollback: r.policy.minSamplesForRollback,
    ramp: e.ramp,
    ...(e.rollbackWindow ? { window: e.rollbackWindow } : {}),
  };
  await transition(r, {
    actor: AUTOMATIC_ACTOR,
    action: AuditAction.automaticRollback,
    reason,
    evidence,
    revertOnFailure: false,
    apply: (s, now) => {
      if (cohort === undefined) {
        (move ?? ((st: WorkflowState, at: number) => applyRamp(st, 0, at)))(s, now);
        s.paused = true;
        s.rolledBack = { at: now, reason, evidence };
        return;
      }
      move?.(s, now);
      const c = s.cohorts?.find((x) => x.name === cohort);
      if (c) {
        if (move === undefined) applyRamp(c, 0, now);
        c.paused = true;
        c.rolledBack = { at: now, reason, evidence };
      }
      syncEnvironmentRamp(s);
    },
  });
  log.warn('automatic rollback', { env: r.env, workflowId: r.workflowId, stage: e.stage, reason, ...(cohort === undefined ? {} : { cohort }) });
}
