/**
 * The loop's work in a migration with cohorts (policy.cohorts), in science, cutover and the TTL
 * wait's watch: each cohort is judged on its own comparisons (readScience with its name), with
 * the environment's windows, thresholds and minimum samples, in order:
 *
 *  - a cohort whose short or long window breaches a rollback threshold is rolled back by itself
 *    (its ramp to 0, paused); the other cohorts stay where they are unless their own evidence
 *    fails too (a later cohort then holds: it is no longer its turn);
 *  - a cohort whose step is healthy takes the next ramp step (automatic ramping), when every
 *    cohort before it is at 100 % of its stage or in a later one;
 *  - a cohort at 0 % (not begun, or resumed out of turn) begins its stage at the first step once
 *    it is its turn;
 *  - in the TTL wait (while its rollback window is open) a failing cohort takes the environment
 *    back to cutover with that cohort at 0 %; the others stay at 100 %.
 *
 * Every step and rollback is one transition (published, acknowledged, audited with its cohort).
 * The writers' lag holds every automatic step and never rolls anything back, as without cohorts.
 */
import { Stage, type CohortState, type Evaluation, type GateStatus, type ScienceFigures } from '../../contract/index.js';
import { AUTOMATIC_ACTOR, AuditAction } from '../../contract/index.js';
import {
  cohortExitGate,
  cohortLocalFailures,
  cohortNextText,
  cutoverOrderHold,
  enterCohortStage,
  nextCohortToAdvance,
  orderHold,
  setRamp,
  syncEnvironmentRamp,
} from '../cohort-gates.js';
import {
  MAX_EVALUATIONS,
  judgeWindows,
  automaticStep,
  rampStepEvidence,
  rampStepReason,
  gateWindowMs,
  nextRampStep,
  rampSteps,
  shortWindowMs,
  writerBehind,
  type EvaluationWindows,
  type WriterBehind,
} from '../migration-gates.js';
import { automaticRollback, trackWriterHold } from './automatic-steps.js';
import { cohortIn } from './cohort-moves.js';
import { enterStage, gateContext, type Run } from './state.js';
import { transition } from './transitions.js';

/** Reads a cohort's long, short and step windows (the rollback windows reach back no further than its resume). */
async function readCohortWindows(r: Run, c: CohortState, started: number): Promise<EvaluationWindows> {
  const stepMs = Math.max(1, started - c.rampSince);
  const sinceResumeMs = c.resumedAt === null ? Number.POSITIVE_INFINITY : Math.max(1, started - c.resumedAt);
  const read = (windowMs: number): Promise<ScienceFigures> => r.acts.readScience({ env: r.env, windowMs, cohort: c.name });
  const [long, short, step] = await Promise.all([
    read(Math.min(r.policy.evaluationWindowMs, sinceResumeMs)),
    read(Math.min(shortWindowMs(r.policy), sinceResumeMs)),
    read(stepMs),
  ]);
  return { long, short, step };
}

/** Whether the fault switch holds this cohort's automatic steps (it is on, for every app or for this cohort's). */
function faultRateFor(r: Run, c: CohortState): number {
  const s = r.state;
  const rate = s.faultRate ?? 0;
  return rate > 0 && (s.faultCohort == null || s.faultCohort === c.name) ? rate : 0;
}

/** A cohort has evidence to judge once its apps are compared: exposed, in cutover (every read compared), or rolled back. */
function judged(c: CohortState): boolean {
  return c.ramp > 0 || c.stage === Stage.cutover || c.rolledBack !== null;
}

/** One tick in science or cutover: every cohort judged, rolled back, stepped or begun, in order. */
export async function evaluateCohorts(r: Run): Promise<void> {
  const s = r.state;
  const started = Date.now();
  const names = (s.cohorts ?? []).map((c) => c.name);
  const toRead = (s.cohorts ?? []).filter(judged);
  const [lag, ...windows] = await Promise.all([r.acts.writerLag({ env: r.env }), ...toRead.map((c) => readCohortWindows(r, c, started))]);
  const figures = new Map(toRead.map((c, i) => [c.name, windows[i]!]));
  const behind = writerBehind(lag, r.policy);
  s.writerLag = lag;
  await trackWriterHold(r, behind, lag);
  for (const name of names) {
    const w = figures.get(name);
    await evaluateCohort(r, cohortIn(s, name), w ?? null, behind);
  }
  for (const name of names) await refreshCohortGate(r, cohortIn(s, name), figures.get(name)?.long ?? null);
  s.gates = environmentGates(r);
}

/** One cohort's turn in a tick: roll back, step, begin, or say what it waits for. */
async function evaluateCohort(r: Run, c: CohortState, w: EvaluationWindows | null, behind: WriterBehind | null): Promise<void> {
  const s = r.state;
  const p = r.policy;
  const now = Date.now();
  const name = c.name;
  const e: Evaluation | null = w ? { ...judgeWindows(c.stage, c.ramp, w, p, now), cohort: name } : null;
  const next = nextRampStep(rampSteps(c.stage, p), c.ramp);
  const order = orderHold(s.cohorts ?? [], name);
  const faultRate = faultRateFor(r, c);
  if (e) {
    c.evaluation = e;
    s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
  }
  const decided = automaticStep(e, w, {
    policy: p,
    ramp: c.ramp,
    rampSince: c.rampSince,
    next,
    now,
    paused: s.paused || c.paused,
    rolledBack: c.rolledBack !== null,
    beginsAtZero: true,
    holds: () => order !== null || faultRate !== 0 || behind !== null,
  });
  if (decided.kind === 'rollback') {
    await automaticRollback(r, c.stage, e!, decided.figures, undefined, name);
  } else if (decided.kind === 'ramp' && decided.begins) {
    // Its turn: every cohort before it is at 100 % (or further). It begins at the first step.
    await stepCohort(r, name, decided.to, `cohort ${name} begins ${c.stage} at ${decided.to}%: every cohort before it is at 100 % of ${c.stage} or further`, {
      from: 0,
      to: decided.to,
    });
  } else if (decided.kind === 'ramp') {
    await stepCohort(r, name, decided.to, `cohort ${name}: ${rampStepReason(c.stage, c.ramp, c.rampSince, now, w!)}`, rampStepEvidence(c.ramp, decided.to, w!));
  }
  const after = cohortIn(s, name);
  after.next = cohortNextText(after, after.evaluation, {
    policy: p,
    envPaused: s.paused,
    faultRate,
    writerBehind: behind,
    // At 100 % of science what waits is the move to cutover, which goes in order too.
    order: after.stage === Stage.science && after.ramp === 100 ? cutoverOrderHold(s.cohorts ?? [], name) : orderHold(s.cohorts ?? [], name),
    envStage: s.stage,
  });
  // The evaluation says what the cohort's next step waits for, as the environment's does.
  if (e && after.evaluation === e && e.ramp === after.ramp) {
    const withText: Evaluation = { ...e, waitingFor: after.next };
    after.evaluation = withText;
    s.evaluations = s.evaluations.map((x) => (x === e ? withText : x));
  }
}

/** An automatic ramp step of one cohort (published, acknowledged, audited with the cohort). */
async function stepCohort(r: Run, name: string, to: number, reason: string, figures: Record<string, unknown>): Promise<void> {
  const c = cohortIn(r.state, name);
  await transition(r, {
    actor: AUTOMATIC_ACTOR,
    action: AuditAction.autoRamp,
    reason,
    evidence: { cohort: name, stage: c.stage, ...figures },
    revertOnFailure: true,
    apply: (st, at) => {
      setRamp(cohortIn(st, name), to, at);
      syncEnvironmentRamp(st);
    },
  });
}

/** Keeps a cohort's exit gate current for the console and the advance checks. */
async function refreshCohortGate(r: Run, c: CohortState, long: ScienceFigures | null): Promise<void> {
  const ctx = gateContext(r);
  if (cohortLocalFailures(ctx, c).length > 0) {
    c.gate = cohortExitGate(ctx, c, null);
    return;
  }
  const windowMs = gateWindowMs(c.stage, r.policy);
  const figures = long !== null && windowMs === r.policy.evaluationWindowMs ? long : await r.acts.readScience({ env: r.env, windowMs, cohort: c.name });
  c.gate = cohortExitGate(ctx, c, { kind: 'science', figures });
}

/**
 * The environment's gates with cohorts, as the console and the advance checks read them: in
 * science the gate of the cohort the next advance moves; in cutover every cohort's.
 */
export function environmentGates(r: Run): GateStatus[] {
  const s = r.state;
  const ctx = gateContext(r);
  const gateOf = (c: CohortState): GateStatus => c.gate ?? cohortExitGate(ctx, c, null);
  if (s.stage === Stage.science) {
    const c = nextCohortToAdvance(s);
    return c ? [gateOf(c)] : [];
  }
  return (s.cohorts ?? []).map(gateOf);
}

/**
 * Every cohort's gate of cutover -> ttl_wait, read now (advance): each on its own comparisons
 * over the gate's window.
 */
export async function cutoverCohortGates(r: Run): Promise<GateStatus[]> {
  const s = r.state;
  const ctx = gateContext(r);
  const windowMs = gateWindowMs(Stage.cutover, r.policy);
  const gates = await Promise.all(
    (s.cohorts ?? []).map(async (c) => {
      if (cohortLocalFailures(ctx, c).length > 0) return cohortExitGate(ctx, c, null);
      return cohortExitGate(ctx, c, { kind: 'science', figures: await r.acts.readScience({ env: r.env, windowMs, cohort: c.name }) });
    }),
  );
  for (const g of gates) {
    const c = s.cohorts?.find((x) => x.name === g.evidence.cohort);
    if (c) c.gate = g;
  }
  return gates;
}

/**
 * The TTL wait's watch with cohorts: every cohort's short and long window on the cutover rule. A
 * cohort that breaches it takes the environment back to cutover by itself, with that cohort at
 * 0 % (paused, rolled back) and the others still at 100 %; a second failing cohort is then rolled
 * back as in cutover. True when it rolled back.
 */
export async function watchTtlWaitCohorts(r: Run): Promise<boolean> {
  const s = r.state;
  const cohorts = s.cohorts ?? [];
  const read = (c: CohortState, windowMs: number): Promise<ScienceFigures> => r.acts.readScience({ env: r.env, windowMs, cohort: c.name });
  const windows = await Promise.all(cohorts.map(async (c) => Promise.all([read(c, r.policy.evaluationWindowMs), read(c, shortWindowMs(r.policy))])));
  const now = Date.now();
  const failing: { name: string; e: Evaluation; figures: ScienceFigures }[] = [];
  cohorts.forEach((c, i) => {
    const [long, short] = windows[i]!;
    const judgedNow = judgeWindows(Stage.cutover, 100, { long, short, step: long }, r.policy, now);
    const e: Evaluation = { ...judgedNow, stage: Stage.ttlWait, cohort: c.name, verdict: judgedNow.verdict === 'rollback' ? 'rollback' : 'healthy' };
    c.evaluation = e;
    s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
    if (e.verdict === 'rollback') failing.push({ name: c.name, e, figures: e.rollbackWindow === 'short' ? short : long });
  });
  const [first, ...others] = failing;
  if (!first) return false;
  await automaticRollback(
    r,
    Stage.cutover,
    first.e,
    first.figures,
    (st, at) => {
      enterStage(st, Stage.cutover, at);
      st.ttlGateAt = null;
      for (const c of st.cohorts ?? []) if (c.name === first.name) enterCohortStage(c, Stage.cutover, 0, at);
    },
    first.name,
  );
  for (const f of others) await automaticRollback(r, Stage.cutover, { ...f.e, stage: Stage.cutover }, f.figures, undefined, f.name);
  return true;
}
