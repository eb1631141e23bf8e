/**
 * The stage moves: each operator action (advance, rollback, pause, resume, set ramp, fault
 * switch, approval) and the workflow's own decommission as one transition (or, for the start,
 * the dual-write transition and the coverage horizon), with the message the operator gets. With
 * cohorts, the moves within science and cutover are each cohort's (cohort-moves.ts).
 */
import { TemporalFailure, sleep } from '@temporalio/workflow';
import {
  AuditAction,
  AUTOMATIC_ACTOR,
  failedAction,
  nextStage,
  NOT_STARTED,
  operationAction,
  Stage,
  type Actor,
  type AdvanceInput,
  type CohortActor,
  type OperationRecord,
  type SetFaultInput,
  type SetRampInput,
  type UpdateResult,
} from '../../contract/index.js';
import { hasCohorts, initialCohorts, syncEnvironmentRamp } from '../cohort-gates.js';
import { coverageHorizonAfter, formatTime, isRamped, rampSteps, stageIndex, ttlGateAt } from '../migration-gates.js';
import { cutoverCohortGates } from './cohort-evaluation.js';
import { advanceCohort, pauseCohort, resumeCohorts, rollbackCohorts, setCohortRamp } from './cohort-moves.js';
import { evaluateExitGate } from './evaluation.js';
import { applyRamp, enterStage, errorMessage, rejection, result, type Ramped, type Run } from './state.js';
import { audit, transition } from './transitions.js';

export async function advance(r: Run, a: AdvanceInput): Promise<UpdateResult> {
  const from = r.state.stage;
  const to = nextStage(from);
  if (to === null) throw rejection(`no stage follows ${from}`);
  const evidence: Record<string, unknown> = { ...(await promotionOrder(r, to, a)) };
  const cohorts = hasCohorts(r.policy) && isRamped(from);
  // With cohorts, science is left one cohort at a time (the last one takes the environment), and
  // cutover when every cohort's gate is met on its own comparisons.
  if (cohorts && from === Stage.science) return await advanceCohort(r, a, evidence);
  if (cohorts) {
    const gates = await cutoverCohortGates(r);
    r.state.gates = gates;
    const failing = gates.filter((g) => !g.passed);
    if (failing.length > 0) throw rejection(`cannot leave ${from}: ${failing.map((g) => `gate ${g.name} ${g.detail}`).join('; ')}`);
    evidence.gates = gates;
  } else if (from !== Stage.planned) {
    const gate = await evaluateExitGate(r);
    r.state.gates = [gate];
    if (!gate.passed) throw rejection(`cannot leave ${from}: gate ${gate.name} ${gate.detail}`);
    evidence.gate = gate;
  }
  const base = { actor: a.identity, reason: a.reason, evidence };
  switch (from) {
    case Stage.planned:
      return await startDualWrite(r, a, evidence);
    case Stage.dualWrite: {
      const first = r.policy.scienceSteps[0] ?? 100;
      if (hasCohorts(r.policy)) {
        // The first cohort begins science at the first step; the others follow in order.
        const leader = r.policy.cohorts![0]!.name;
        await transition(r, {
          ...base,
          evidence: { ...evidence, cohort: leader, cohortTo: Stage.science, ramp: first },
          action: AuditAction.advance,
          revertOnFailure: true,
          apply: (s, now) => {
            enterStage(s, Stage.science, now);
            s.cohorts = initialCohorts(r.policy, now);
            syncEnvironmentRamp(s);
          },
        });
        return result(
          r,
          `dual_write -> science: cohort ${leader} at ${first}%, the other cohorts follow in order (control state v${r.state.controlVersion})`,
          leader,
        );
      }
      await transition(r, {
        ...base,
        action: AuditAction.advance,
        revertOnFailure: true,
        apply: (s, now) => {
          enterStage(s, Stage.science, now);
          applyRamp(s, first, now);
        },
      });
      return result(r, `dual_write -> science at ${first}% (control state v${r.state.controlVersion})`);
    }
    case Stage.science: {
      const first = r.policy.cutoverSteps[0] ?? 100;
      await transition(r, {
        ...base,
        action: AuditAction.advance,
        reassert: ['sciencePercent'], // science stays at 100% for cutover's shadow reads
        revertOnFailure: true,
        apply: (s, now) => {
          enterStage(s, Stage.cutover, now);
          s.ramp = 0;
          s.fullRampSince = null;
          applyRamp(s, first, now);
        },
      });
      return result(r, `science -> cutover at ${first}% of reads served by the new store (control state v${r.state.controlVersion})`);
    }
    case Stage.cutover: {
      await transition(r, {
        ...base,
        action: AuditAction.advance,
        reassert: ['cutoverPercent'],
        revertOnFailure: true,
        apply: (s, now) => {
          // fullRampSince stays: it is when cutover reached 100%, which the rollback window counts from.
          enterStage(s, Stage.ttlWait, now);
          s.ramp = 0;
          s.rampSince = now;
          s.ttlGateAt = ttlGateAt(s, r.policy);
        },
      });
      return result(r, `cutover -> ttl_wait; the TTL gate opens at ${formatTime(r.state.ttlGateAt)}`);
    }
    case Stage.ttlWait: {
      await transition(r, {
        ...base,
        action: AuditAction.advance,
        revertOnFailure: false,
        apply: (s, now) => {
          enterStage(s, Stage.decommission, now);
          s.pendingApproval = true;
          s.approvalRequestedBy = a.identity;
          s.ttlGateAt = null;
        },
      });
      return result(r, `ttl_wait -> decommission, pending approval by someone other than ${a.identity}`);
    }
    default:
      throw rejection(`cannot advance from ${from}`);
  }
}

/** planned → dual_write: both writers on, then the coverage horizon H from the acknowledgement time. */
export async function startDualWrite(r: Run, a: Actor, evidence: Record<string, unknown>): Promise<UpdateResult> {
  const { ack } = await transition(r, {
    actor: a.identity,
    action: AuditAction.start,
    reason: a.reason,
    evidence,
    reassert: ['oldWriter'],
    extra: { retentionMs: r.policy.retentionMs, tolerance: r.policy.tolerance },
    revertOnFailure: true,
    apply: (s, now) => {
      enterStage(s, Stage.dualWrite, now);
      s.ramp = 0;
      s.fullRampSince = null;
      s.ttlGateAt = null;
    },
  });
  const acknowledgedAt = ack?.acknowledgedAt ?? Date.now();
  const horizon = coverageHorizonAfter(acknowledgedAt);
  try {
    // The workflow's own step (it follows from the acknowledgement), not the operator's.
    await transition(r, {
      actor: AUTOMATIC_ACTOR,
      action: AuditAction.recordCoverageHorizon,
      reason: `first full minute after the new writer was acknowledged at ${formatTime(acknowledgedAt)}`,
      evidence: { coverageHorizon: horizon, acknowledgedAt, startedBy: a.identity },
      revertOnFailure: false,
      apply: (s) => {
        s.coverageHorizon = horizon;
      },
    });
  } catch (err) {
    // Start is all or nothing: without a published horizon the new store's data cannot be judged.
    await transition(r, {
      actor: AUTOMATIC_ACTOR,
      action: AuditAction.startReverted,
      reason: `the coverage horizon was not acknowledged (${errorMessage(err)}): dual write switched off again`,
      evidence: {},
      reassert: ['coverageHorizon'], // instances may have applied the unacknowledged horizon
      revertOnFailure: false,
      apply: (s, now) => enterStage(s, Stage.planned, now),
    });
    throw err;
  }
  return result(r, `planned -> dual_write; coverage horizon ${formatTime(horizon)} (control state v${r.state.controlVersion})`);
}

/** Promotion order: the predecessor must have reached the stage being entered, unless overridden with a reason. */
export async function promotionOrder(r: Run, to: Stage, a: AdvanceInput): Promise<Record<string, unknown>> {
  const order = r.policy.promotionOrder;
  const predecessor = order[order.indexOf(r.env) - 1];
  if (predecessor === undefined) return {};
  const { stage } = await r.acts.environmentStage({ env: predecessor });
  const promotion: Record<string, unknown> = { predecessor, predecessorStage: stage, entering: to };
  if (stageIndex(stage) >= stageIndex(to)) return { promotionOrder: promotion };
  if (a.overridePromotionOrder === true) return { promotionOrder: { ...promotion, overridden: true, overrideReason: a.reason } };
  throw rejection(
    `promotion order: ${r.env} may not enter ${to} before ${predecessor} has (${predecessor} is ${stage === NOT_STARTED ? 'not started' : `in ${stage}`}); ` +
      'to override, repeat with overridePromotionOrder and a reason',
  );
}

export async function rollback(r: Run, a: CohortActor): Promise<UpdateResult> {
  const s = r.state;
  if (s.cohorts && (isRamped(s.stage) || s.stage === Stage.ttlWait)) return await rollbackCohorts(r, a);
  const base = { actor: a.identity, action: AuditAction.rollback, reason: a.reason, revertOnFailure: false };
  switch (s.stage) {
    case Stage.dualWrite:
      await transition(r, {
        ...base,
        evidence: { coverageHorizon: s.coverageHorizon },
        apply: (st, now) => {
          enterStage(st, Stage.planned, now);
          st.coverageHorizon = null;
        },
      });
      return result(r, 'dual_write -> planned: the new writer is off and the coverage horizon cleared');
    case Stage.science:
    case Stage.cutover: {
      const stage = s.stage;
      await transition(r, {
        ...base,
        evidence: { ramp: s.ramp },
        apply: (st, now) => {
          applyRamp(st, 0, now);
          st.paused = true;
        },
      });
      return result(r, stage === Stage.science ? 'science ramp set to 0% and paused' : 'all reads back on the old store (cutover 0%), paused');
    }
    case Stage.ttlWait:
      await transition(r, {
        ...base,
        evidence: { cutoverAt100Since: s.fullRampSince, rollbackWindowMs: r.policy.rollbackWindowMs },
        apply: (st, now) => {
          enterStage(st, Stage.cutover, now);
          st.ramp = 0;
          st.rampSince = now;
          st.fullRampSince = null;
          st.paused = true;
          st.ttlGateAt = null;
        },
      });
      return result(r, 'ttl_wait -> cutover at 0%: all reads back on the old store, paused');
    default:
      throw rejection(`nothing to roll back in ${s.stage}`);
  }
}

export async function pause(r: Run, a: CohortActor): Promise<UpdateResult> {
  if (a.cohort !== undefined) return await pauseCohort(r, { ...a, cohort: a.cohort });
  await transition(r, {
    actor: a.identity,
    action: AuditAction.pause,
    reason: a.reason,
    evidence: { ramp: r.state.ramp },
    revertOnFailure: false,
    apply: (s) => {
      s.paused = true;
    },
  });
  return result(r, `paused at ${r.state.ramp}%: no automatic ramping until resumed (automatic rollback stays armed)`);
}

export async function resume(r: Run, a: CohortActor): Promise<UpdateResult> {
  const s = r.state;
  if (s.cohorts && isRamped(s.stage)) return await resumeCohorts(r, a);
  const stage = s.stage as Ramped;
  // After any rollback (ramp 0) start again from the first step; after a plain pause keep the ramp.
  const restartAt = s.ramp === 0 ? (rampSteps(stage, r.policy)[0] ?? 100) : null;
  const afterRollback = s.rolledBack !== null;
  await transition(r, {
    actor: a.identity,
    action: AuditAction.resume,
    reason: a.reason,
    evidence: { ramp: s.ramp, rolledBack: s.rolledBack, restartAt },
    revertOnFailure: true,
    apply: (st, now) => {
      st.paused = false;
      st.rolledBack = null;
      // The rollback windows start again here (see evaluateTwoWindows).
      if (afterRollback) st.resumedAt = now;
      if (restartAt !== null) applyRamp(st, restartAt, now);
    },
  });
  return result(r, restartAt === null ? `resumed at ${r.state.ramp}%` : `resumed: ${stage} restarted at ${restartAt}%`);
}

export async function setRamp(r: Run, a: SetRampInput): Promise<UpdateResult> {
  const s = r.state;
  if (a.cohort !== undefined) return await setCohortRamp(r, { ...a, cohort: a.cohort });
  const stage = s.stage as Ramped;
  if (a.percent === s.ramp) return result(r, `${stage} already at ${a.percent}%`);
  const from = s.ramp;
  await transition(r, {
    actor: a.identity,
    action: AuditAction.setRamp,
    reason: a.reason,
    evidence: { from, to: a.percent },
    revertOnFailure: a.percent > from,
    apply: (st, now) => applyRamp(st, a.percent, now),
  });
  return result(r, `${stage} ${from}% -> ${a.percent}%`);
}

export async function setFault(r: Run, a: SetFaultInput): Promise<UpdateResult> {
  const rate = a.newWriterCorruptionRate;
  const from = r.state.faultRate ?? null;
  const cohort = a.cohort;
  // Limited to a cohort, the switch corrupts only the points of that cohort's apps.
  const scope = cohort === undefined ? {} : { cohort };
  await transition(r, {
    actor: a.identity,
    action: AuditAction.setFault,
    reason: a.reason,
    evidence: { from, to: rate, ...scope },
    extra: { faults: { newWriterCorruptionRate: rate, ...scope } },
    revertOnFailure: false,
    apply: (st) => {
      st.faultRate = rate;
      if (cohort !== undefined || st.faultCohort != null) st.faultCohort = cohort ?? null;
    },
  });
  return result(
    r,
    `fault switch ${rate > 0 ? `on: the new-store writer corrupts ${rate * 100}% of ${cohort === undefined ? 'points' : `the points of cohort ${cohort}'s apps`}` : 'off'} (control state v${r.state.controlVersion})`,
    cohort,
  );
}

export async function approveDecommission(r: Run, a: Actor): Promise<UpdateResult> {
  const requestedBy = r.state.approvalRequestedBy;
  await transition(r, {
    actor: a.identity,
    action: AuditAction.approveDecommission,
    reason: a.reason,
    evidence: { requestedBy, keepOldTables: r.policy.keepOldTables },
    revertOnFailure: true,
    apply: (s) => {
      s.pendingApproval = false;
      s.approvalRequestedBy = null;
    },
  });
  return result(r, `decommission approved: the old writer is stopped; the old tables will be ${r.policy.keepOldTables ? 'kept' : 'dropped'}`);
}

/** After approval: drop (or keep) the old tables, then complete. */
export async function finishDecommission(r: Run): Promise<void> {
  const keepTables = r.policy.keepOldTables;
  let dropped: boolean;
  try {
    ({ dropped } = await r.acts.decommissionOldStore({ env: r.env, keepTables }));
  } catch (err) {
    if (!(err instanceof TemporalFailure)) throw err;
    // A non-retryable refusal (e.g. the control state still uses the old store): audit it and try again later.
    const seq = ++r.state.auditSeq;
    await audit(r, seq, {
      actor: AUTOMATIC_ACTOR,
      action: failedAction(AuditAction.decommissionOldStore),
      from: Stage.decommission,
      to: Stage.decommission,
      reason: errorMessage(err),
      evidence: { keepTables },
      controlVersion: null,
    });
    await sleep(r.policy.evaluationIntervalMs);
    return;
  }
  await transition(r, {
    actor: AUTOMATIC_ACTOR,
    action: AuditAction.decommissionOldStore,
    reason: keepTables ? 'old store detached; its tables are kept (policy keepOldTables)' : 'old store detached and its tables dropped',
    evidence: { keepTables, dropped },
    revertOnFailure: false,
    apply: (s, now) => {
      enterStage(s, Stage.complete, now);
      s.ramp = 0;
    },
  });
}

/**
 * Records a verify or repair event: an audit entry with its figures (no control-state change);
 * a finished verify run becomes the state's latest verify (the cutover gate may require it).
 */
export async function recordOperation(r: Run, a: OperationRecord): Promise<UpdateResult> {
  const s = r.state;
  const seq = ++s.auditSeq;
  await audit(r, seq, {
    actor: a.identity,
    action: operationAction(a.operation, a.event),
    from: s.stage,
    to: s.stage,
    reason: a.reason,
    evidence: { workflowId: a.workflowId, range: a.range, ...a.summary },
    controlVersion: null,
  });
  if (a.operation === 'verify' && a.event === 'finished' && a.range !== null) {
    const compared = typeof a.summary.compared === 'number' ? a.summary.compared : 0;
    const mismatches = typeof a.summary.mismatches === 'number' ? a.summary.mismatches : 0;
    s.lastVerify = { workflowId: a.workflowId, range: a.range, clean: mismatches === 0, finishedAt: Date.now(), compared, mismatches };
  }
  r.changed();
  return result(r, `${a.operation} ${a.event} recorded (audit seq ${seq})`);
}
