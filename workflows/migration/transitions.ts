/**
 * The transition protocol: publish a control-state patch and wait for every live instance to
 * acknowledge it, apply the change to the state, append the audit entry; on an unacknowledged
 * publication audit the failure and, for a step that adds exposure to the new store, publish the
 * previous values again. Callers hold the transition lock.
 *
 * With cohorts (policy.cohorts) the patch also carries every cohort's row when any of them
 * changes (cohortControlFields: the same stage table, per cohort), and a revert restores them.
 */
import { ApplicationFailure, TemporalFailure, log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { AUTOMATIC_ACTOR, AuditAction, MigrationFailureType, type AuditEntry, type PublishControlResult } from '../../contract/index.js';
import {
  cohortControlFields,
  controlFields,
  revertPatch,
  transitionPatch,
  type ControlCohort,
  type ControlFields,
  type ControlPatch,
} from '../../control/model.js';
import { SWITCHYARD_ENV, SWITCHYARD_RAMP_PERCENT, SWITCHYARD_STAGE } from '../search-attribute-keys.js';
import { errorMessage, type Run, type WorkflowState } from './state.js';

/** One transition: what to publish, what it does to the state, and how to audit it. */
export interface TransitionSpec {
  actor: string;
  action: string;
  reason: string;
  /**
   * Fields to publish although the stage table gives them the same value before and after (the
   * patch is otherwise derived from the table: what differs between the state before and after).
   */
  reassert?: (keyof ControlFields)[];
  /** Fields outside the stage table to publish with it (the policy at start, the fault switch). */
  extra?: ControlPatch;
  /** Publish the previous values again if the patch is not acknowledged (for steps that add exposure to the new store). */
  revertOnFailure: boolean;
  evidence: Record<string, unknown>;
  /** The state change, applied once the patch is acknowledged. */
  apply: (s: WorkflowState, now: number) => void;
}

/**
 * Publishes the patch (waiting for every live instance), applies the change, audits it. On an
 * unacknowledged publication: audits the failure, reverts if asked, and throws; the state is
 * unchanged. Callers hold the lock.
 */
export async function transition(r: Run, spec: TransitionSpec): Promise<{ ack: PublishControlResult | null }> {
  const s = r.state;
  const from = s.stage;
  const before: ControlFields = controlFields(s);
  const beforeCohorts = cohortControlFields(s, r.policy.cohorts);
  // What the data plane must apply: the table's fields after the change (applied to a copy; the
  // state itself changes only once the publication is acknowledged), compared with before.
  const preview: WorkflowState = { ...s, ...(s.cohorts ? { cohorts: s.cohorts.map((c) => ({ ...c })) } : {}) };
  spec.apply(preview, Date.now());
  const afterCohorts = cohortControlFields(preview, r.policy.cohorts);
  const cohortsChanged = afterCohorts !== undefined && JSON.stringify(afterCohorts) !== JSON.stringify(beforeCohorts);
  const patch = transitionPatch(before, controlFields(preview), spec.reassert, cohortsChanged ? { ...spec.extra, cohorts: afterCohorts } : spec.extra);
  const seq = ++s.auditSeq;
  let ack: PublishControlResult | null = null;
  if (patch !== null) {
    try {
      ack = await r.acts.publishControl({
        env: r.env,
        transitionId: `${r.workflowId}:${seq}`,
        patch,
        actor: spec.actor,
        reason: spec.reason,
        ackTimeoutMs: r.policy.ackTimeoutMs,
      });
    } catch (err) {
      if (!(err instanceof TemporalFailure)) throw err;
      const message = errorMessage(err);
      await audit(r, seq, {
        actor: spec.actor,
        action: `${spec.action}_failed`,
        from,
        to: from,
        reason: spec.reason,
        evidence: { ...spec.evidence, patch, error: message },
        // The version went out even though not every instance acknowledged it: it stays on the
        // topic (instances converge on it), so it has its audit entry like every other version.
        controlVersion: unacknowledgedVersion(err),
      });
      const reverted = spec.revertOnFailure ? await revert(r, beforeCohorts ? { ...before, cohorts: beforeCohorts } : before, patch, spec.action) : '';
      throw ApplicationFailure.create({
        message: `${spec.action} did not happen: the control state was not acknowledged (${message})${reverted}`,
        type: MigrationFailureType.notAcknowledged,
        nonRetryable: true,
        cause: err,
      });
    }
  }
  const now = Date.now();
  spec.apply(s, now);
  if (ack !== null) s.controlVersion = ack.version;
  s.lastTransitionAt = now;
  r.changed();
  syncSearchAttributes(r);
  const published = ack === null ? {} : { patch, acknowledgedBy: ack.acknowledged, acknowledgedAt: ack.acknowledgedAt, published: ack.published };
  try {
    await audit(r, seq, {
      actor: spec.actor,
      action: spec.action,
      from,
      to: s.stage,
      reason: spec.reason,
      evidence: { ...spec.evidence, ...published },
      controlVersion: ack?.version ?? null,
    });
  } catch (err) {
    // Retried until it succeeds, so only a refusal (e.g. the seq is taken by another entry) gets
    // here. The transition did happen: say so rather than report a plain failure.
    if (!(err instanceof TemporalFailure)) throw err;
    log.error('audit entry refused', { env: r.env, workflowId: r.workflowId, action: spec.action, seq, error: errorMessage(err) });
    throw ApplicationFailure.create({
      message: `${spec.action} took effect (${from} -> ${s.stage}, control state v${s.controlVersion}) but its audit entry ${seq} was refused: ${errorMessage(err)}`,
      type: MigrationFailureType.auditRefused,
      nonRetryable: true,
      cause: err,
    });
  }
  log.info('migration transition', {
    env: r.env,
    workflowId: r.workflowId,
    action: spec.action,
    actor: spec.actor,
    from,
    to: s.stage,
    ramp: s.ramp,
    controlVersion: s.controlVersion,
    seq,
  });
  return { ack };
}

/**
 * The control-state version an unacknowledged publication put on the topic (carried in the
 * acknowledgement timeout's details), or null when nothing was published (e.g. Kafka was down).
 */
export function unacknowledgedVersion(err: unknown): number | null {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure) {
      const version = (e.details?.[0] as { version?: unknown } | undefined)?.version;
      if (typeof version === 'number' && Number.isInteger(version) && version > 0) return version;
    }
  }
  return null;
}

/** Publishes the previous values of the fields an unacknowledged patch touched (the cohorts' rows among them). */
export async function revert(r: Run, before: ControlFields & { cohorts?: ControlCohort[] }, patch: ControlPatch, action: string): Promise<string> {
  const s = r.state;
  const undo = revertPatch(before, patch);
  if (Object.keys(undo).length === 0) return '';
  const seq = ++s.auditSeq;
  const reason = `revert the unacknowledged ${action}`;
  try {
    const ack = await r.acts.publishControl({
      env: r.env,
      transitionId: `${r.workflowId}:${seq}`,
      patch: undo,
      actor: AUTOMATIC_ACTOR,
      reason,
      ackTimeoutMs: r.policy.ackTimeoutMs,
    });
    s.controlVersion = ack.version;
    await audit(r, seq, {
      actor: AUTOMATIC_ACTOR,
      action: AuditAction.revert,
      from: s.stage,
      to: s.stage,
      reason,
      evidence: { revertedAction: action, patch: undo, acknowledgedBy: ack.acknowledged },
      controlVersion: ack.version,
    });
    return `; the previous control state was published again as v${ack.version}`;
  } catch (err) {
    if (!(err instanceof TemporalFailure)) throw err;
    const message = errorMessage(err);
    await audit(r, seq, {
      actor: AUTOMATIC_ACTOR,
      action: AuditAction.revertFailed,
      from: s.stage,
      to: s.stage,
      reason,
      evidence: { revertedAction: action, patch: undo, error: message },
      controlVersion: unacknowledgedVersion(err),
    });
    return `; publishing the previous control state failed too (${message}): instances that applied the patch keep it until the next transition`;
  }
}

export async function audit(
  r: Run,
  seq: number,
  entry: Pick<AuditEntry, 'actor' | 'action' | 'from' | 'to' | 'reason' | 'evidence' | 'controlVersion'>,
): Promise<void> {
  await r.acts.appendAudit({ env: r.env, seq, at: Date.now(), workflowId: r.workflowId, runId: workflowInfo().runId, ...entry });
}

/** Upserts the search attributes that differ from the workflow's current ones. */
export function syncSearchAttributes(r: Run): void {
  const s = r.state;
  const current = workflowInfo().typedSearchAttributes;
  const pairs: SearchAttributeUpdatePair[] = [];
  if (current.get(SWITCHYARD_ENV) !== r.env) pairs.push({ key: SWITCHYARD_ENV, value: r.env });
  if (current.get(SWITCHYARD_STAGE) !== s.stage) pairs.push({ key: SWITCHYARD_STAGE, value: s.stage });
  if (current.get(SWITCHYARD_RAMP_PERCENT) !== s.ramp) pairs.push({ key: SWITCHYARD_RAMP_PERCENT, value: s.ramp });
  if (pairs.length > 0) upsertSearchAttributes(pairs);
}
