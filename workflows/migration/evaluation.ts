/**
 * The loop's work: when the next tick is due, and what a tick does — in science and cutover read
 * the science windows, roll back automatically or take the next ramp step; in dual_write and
 * ttl_wait refresh the exit gate. With cohorts (policy.cohorts) science, cutover and the TTL
 * wait's watch judge each cohort on its own (cohort-evaluation.ts); a policy without cohorts runs
 * exactly the code below, so recorded histories replay unchanged.
 */
import { TemporalFailure, log, patched } from '@temporalio/workflow';
import { AUTOMATIC_ACTOR, AuditAction, Stage, type GateStatus } from '../../contract/index.js';
import {
  MAX_EVALUATIONS,
  allowsRampUp,
  automaticStep,
  judgeWindow,
  judgeWindows,
  exitGate,
  formatDuration,
  formatRate,
  gateWindowMs,
  isRamped,
  localGateFailures,
  nextRampStep,
  rampStepEvidence,
  rampStepReason,
  rampSteps,
  rampWaitText,
  shortWindowMs,
  writerBehind,
  type GateObservation,
} from '../migration-gates.js';
import { hasCohorts } from '../cohort-gates.js';
import { automaticRollback, trackWriterHold } from './automatic-steps.js';
import { evaluateCohorts, watchTtlWaitCohorts } from './cohort-evaluation.js';
import { applyRamp, enterStage, errorMessage, gateContext, type Ramped, type Run } from './state.js';
import { transition } from './transitions.js';

/**
 * The patch of two-window evaluation: histories recorded before it evaluate one window per tick
 * (and replay that way); runs from it on read the long, short and step windows.
 */
export const GATES_V2_PATCH = 'gates-v2';

/**
 * The patch of the TTL wait's watch: runs from it on keep evaluating the science windows in
 * ttl_wait while its rollback window is open (reads are all on the new store, the old store is
 * still complete) and roll back to cutover at 0 % by themselves on a burst or a trickle, as
 * cutover does. Histories recorded before it only wait for the TTL gate there.
 */
export const TTL_WAIT_ROLLBACK_PATCH = 'ttl-wait-rollback';

/**
 * Since this patch, automatic ramping holds while the fault switch is on: a drill corrupts the
 * new store on purpose, and stepping up would only serve more wrong values before the rollback
 * rule has seen them (comparisons trail the writes by seconds). Histories recorded before it
 * replay without the check.
 */
export const FAULT_HOLDS_RAMP_PATCH = 'fault-holds-ramp';

/**
 * Since this patch, each science and cutover evaluation also measures both writers' lag
 * (writerLag): automatic ramping holds while either is behind beyond the policy's limit (or the
 * lag cannot be measured), the state shows the figures, and the audit records when a hold began,
 * when it became an outage (notified) and when it ended. A lagging writer never rolls back.
 * Histories recorded before it replay without the activity.
 */
export const WRITER_LAG_PATCH = 'writer-lag-holds-ramp';

/** Whether the fault switch holds automatic ramping now (patched only where it matters). */
function faultHoldsRamp(r: Run): boolean {
  return (r.state.faultRate ?? 0) > 0 && patched(FAULT_HOLDS_RAMP_PATCH);
}

/** When the TTL wait's old-store check last ran in this run (the watch ticks more often than it). */
const ttlGateCheckedAt = new WeakMap<Run, number>();

/** Whether ttl_wait is within its rollback window, with nothing rolled back: the window the watch covers. */
function ttlWaitWatched(r: Run): boolean {
  const s = r.state;
  return s.stage === Stage.ttlWait && s.fullRampSince !== null && s.rolledBack === null && Date.now() < s.fullRampSince + r.policy.rollbackWindowMs;
}

/** When the TTL gate is next checked (null: it passed, or there is no gate time). */
function ttlGateDueAt(r: Run, lastCheckAt: number): number | null {
  const s = r.state;
  if (s.ttlGateAt === null || s.gates.some((g) => g.passed)) return null;
  // Histories started before ttlCheckIntervalMs existed have none: the same timers as before.
  return Math.max(s.ttlGateAt, lastCheckAt + (r.policy.ttlCheckIntervalMs ?? r.policy.evaluationIntervalMs));
}

/** When the next tick is due (null: only a change wakes the loop), given when the last one ran. */
export function nextTickAt(r: Run, lastTickAt: number): number | null {
  const s = r.state;
  const interval = lastTickAt + r.policy.evaluationIntervalMs;
  switch (s.stage) {
    case Stage.dualWrite:
    case Stage.science:
    case Stage.cutover:
      return interval;
    case Stage.ttlWait: {
      // The durable TTL timer: sleep until the gate time, then check the old store until it has aged out.
      if (ttlWaitWatched(r) && patched(TTL_WAIT_ROLLBACK_PATCH)) {
        // And, while the rollback window is open, an evaluation every interval.
        const gate = ttlGateDueAt(r, ttlGateCheckedAt.get(r) ?? lastTickAt);
        const watchUntil = s.fullRampSince! + r.policy.rollbackWindowMs;
        const watch = interval < watchUntil ? interval : watchUntil;
        return gate === null ? watch : Math.min(gate, watch);
      }
      return ttlGateDueAt(r, lastTickAt);
    }
    default:
      return null;
  }
}

export async function tick(r: Run): Promise<void> {
  try {
    // With cohorts each cohort is judged on its own (cohort-evaluation.ts).
    if (isRamped(r.state.stage) && hasCohorts(r.policy)) await evaluateCohorts(r);
    else if (isRamped(r.state.stage)) await evaluateScience(r, r.state.stage);
    else if (r.state.stage === Stage.dualWrite) r.state.gates = [await evaluateExitGate(r)];
    else if (r.state.stage === Stage.ttlWait) await ttlWaitTick(r);
  } catch (err) {
    // An activity that keeps failing, or a transition that was not acknowledged (already
    // audited): try again on the next tick. Anything else is a bug: fail the workflow task.
    if (!(err instanceof TemporalFailure)) throw err;
    log.warn('evaluation failed; retrying on the next tick', { env: r.env, workflowId: r.workflowId, stage: r.state.stage, error: errorMessage(err) });
  }
}

/** A tick of the TTL wait: the watch (while the rollback window is open), then the TTL gate when due. */
async function ttlWaitTick(r: Run): Promise<void> {
  const now = Date.now();
  if (ttlWaitWatched(r) && patched(TTL_WAIT_ROLLBACK_PATCH)) {
    if (await (hasCohorts(r.policy) ? watchTtlWaitCohorts(r) : watchTtlWait(r))) return;
    const due = ttlGateDueAt(r, ttlGateCheckedAt.get(r) ?? Number.NEGATIVE_INFINITY);
    if (due === null || due > now) return;
  }
  ttlGateCheckedAt.set(r, now);
  r.state.gates = [await evaluateExitGate(r)];
}

/**
 * The TTL wait's watch: every read is served by the new store, so the cutover's rollback rule
 * still applies — a burst (short window) or a trickle (long window) of mismatches or new-store
 * errors above the rollback thresholds sends every read back to the old store (cutover at 0 %,
 * paused) and records the evidence. True when it rolled back.
 */
async function watchTtlWait(r: Run): Promise<boolean> {
  const [long, short] = await Promise.all([
    r.acts.readScience({ env: r.env, windowMs: r.policy.evaluationWindowMs }),
    r.acts.readScience({ env: r.env, windowMs: shortWindowMs(r.policy) }),
  ]);
  const s = r.state;
  const judged = judgeWindows(Stage.cutover, 100, { long, short, step: long }, r.policy, Date.now());
  const e = { ...judged, stage: Stage.ttlWait, verdict: judged.verdict === 'rollback' ? judged.verdict : ('healthy' as const) };
  s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
  if (e.verdict !== 'rollback') return false;
  await automaticRollback(r, Stage.cutover, e, e.rollbackWindow === 'short' ? short : long, (st, now) => {
    enterStage(st, Stage.cutover, now);
    st.ramp = 0;
    st.rampSince = now;
    st.fullRampSince = null;
    st.ttlGateAt = null;
  });
  return true;
}

/** Reads the figures the current exit gate needs (if its local conditions hold) and judges it. */
export async function evaluateExitGate(r: Run): Promise<GateStatus> {
  const s = r.state;
  if (localGateFailures(gateContext(r)).length > 0) return exitGate(gateContext(r), null);
  let observation: GateObservation | null = null;
  if (s.stage === Stage.dualWrite) observation = { kind: 'writers', health: await r.acts.checkWriters({ env: r.env }) };
  else if (isRamped(s.stage)) observation = { kind: 'science', figures: await r.acts.readScience({ env: r.env, windowMs: gateWindowMs(s.stage, r.policy) }) };
  else if (s.stage === Stage.ttlWait && s.coverageHorizon !== null) {
    observation = { kind: 'old_store', ...(await r.acts.verifyOldStoreAgedOut({ env: r.env, horizon: s.coverageHorizon })) };
  }
  return exitGate(gateContext(r), observation);
}

/**
 * Automatic rollback and ramping. Since gates-v2: three windows per tick (the long one, the
 * short burst window, and since the ramp step began); before it, one evaluation of the last
 * evaluationWindowMs (kept for the histories recorded before).
 */
export async function evaluateScience(r: Run, stage: Ramped): Promise<void> {
  if (patched(GATES_V2_PATCH)) return await evaluateTwoWindows(r, stage);
  const s = r.state;
  const figures = await r.acts.readScience({ env: r.env, windowMs: r.policy.evaluationWindowMs });
  const now = Date.now();
  const e = judgeWindow(stage, s.ramp, figures, r.policy, now);
  s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
  if (e.verdict === 'rollback' && s.ramp > 0 && s.rolledBack === null) {
    await automaticRollback(r, stage, e, figures);
  } else if (r.policy.autoRamp && !s.paused && s.rolledBack === null && now - s.rampSince >= r.policy.autoRampIntervalMs && allowsRampUp(e, r.policy)) {
    const next = nextRampStep(rampSteps(stage, r.policy), s.ramp);
    if (next !== null) {
      const from = s.ramp;
      await transition(r, {
        actor: AUTOMATIC_ACTOR,
        action: AuditAction.autoRamp,
        reason: `${stage} healthy at ${from}% for ${formatDuration(now - s.rampSince)}: ${e.comparisons} comparisons, mismatch rate ${formatRate(e.mismatchRate)}`,
        evidence: { from, to: next, ...figures },
        revertOnFailure: true,
        apply: (st, at) => applyRamp(st, next, at),
      });
    }
  }
  // Keep the exit gate's verdict current for the console.
  if (localGateFailures(gateContext(r)).length > 0) s.gates = [exitGate(gateContext(r), null)];
  else if (gateWindowMs(stage, r.policy) === r.policy.evaluationWindowMs) s.gates = [exitGate(gateContext(r), { kind: 'science', figures })];
  else s.gates = [await evaluateExitGate(r)];
}

/**
 * One evaluation of the windows (long, short, since the step began): the rule in
 * automaticStep (migration-gates.ts) says roll back, step up or wait; this carries it out.
 */
export async function evaluateTwoWindows(r: Run, stage: Ramped): Promise<void> {
  const s = r.state;
  const started = Date.now();
  // The step's window reaches back to when the step began (minute-grained, like the stats).
  const stepMs = Math.max(1, started - s.rampSince);
  // After a resume, the rollback windows reach back no further than the resume: the evidence
  // before it already rolled the stage back (in science at 0 % nothing new was compared since),
  // so judging it again would roll back within a second of every resume.
  const resumedAt = s.resumedAt ?? null;
  const sinceResumeMs = resumedAt === null ? Number.POSITIVE_INFINITY : Math.max(1, started - resumedAt);
  const measuresLag = patched(WRITER_LAG_PATCH);
  const [long, short, step, lag] = await Promise.all([
    r.acts.readScience({ env: r.env, windowMs: Math.min(r.policy.evaluationWindowMs, sinceResumeMs) }),
    r.acts.readScience({ env: r.env, windowMs: Math.min(shortWindowMs(r.policy), sinceResumeMs) }),
    r.acts.readScience({ env: r.env, windowMs: stepMs }),
    measuresLag ? r.acts.writerLag({ env: r.env }) : Promise.resolve(null),
  ]);
  const now = Date.now();
  const w = { long, short, step };
  const e = judgeWindows(stage, s.ramp, w, r.policy, now);
  const next = nextRampStep(rampSteps(stage, r.policy), s.ramp);
  const behind = measuresLag ? writerBehind(lag, r.policy) : null;
  if (measuresLag) {
    s.writerLag = lag;
    await trackWriterHold(r, behind, lag);
  }
  const decided = automaticStep(e, w, {
    policy: r.policy,
    ramp: s.ramp,
    rampSince: s.rampSince,
    next,
    now,
    paused: s.paused,
    rolledBack: s.rolledBack !== null,
    holds: () => faultHoldsRamp(r) || behind !== null,
  });
  if (decided.kind === 'rollback') {
    s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
    await automaticRollback(r, stage, e, decided.figures);
  } else if (decided.kind === 'ramp') {
    s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
    const from = s.ramp;
    await transition(r, {
      actor: AUTOMATIC_ACTOR,
      action: AuditAction.autoRamp,
      reason: rampStepReason(stage, from, s.rampSince, now, w),
      evidence: rampStepEvidence(from, decided.to, w),
      revertOnFailure: true,
      apply: (st, at) => applyRamp(st, decided.to, at),
    });
  } else {
    const waitingFor = rampWaitText(e, {
      policy: r.policy,
      paused: s.paused,
      rolledBack: s.rolledBack !== null,
      rampSince: s.rampSince,
      next,
      faultRate: s.faultRate ?? 0,
      writerBehind: behind,
    });
    s.evaluations = [...s.evaluations, waitingFor === null ? e : { ...e, waitingFor }].slice(-MAX_EVALUATIONS);
  }
  // Keep the exit gate's verdict current for the console.
  if (localGateFailures(gateContext(r)).length > 0) s.gates = [exitGate(gateContext(r), null)];
  else if (gateWindowMs(stage, r.policy) === r.policy.evaluationWindowMs) s.gates = [exitGate(gateContext(r), { kind: 'science', figures: long })];
  else s.gates = [await evaluateExitGate(r)];
}
