/**
 * The rules of a migration that moves its apps in cohorts (policy.cohorts): pure functions of the
 * workflow state, the policy and the time, beside migration-gates.ts (whose gates and evaluations
 * each cohort reuses on its own figures).
 *
 * Invariants:
 *  - every cohort moves through science and then cutover on its own ramp, judged only on its own
 *    comparisons, with the policy's thresholds, minimum samples, windows and bake times;
 *  - cohorts move in order: a cohort ramps (automatically) only while every cohort before it is
 *    in a later stage or at 100 % of the same one, and it enters cutover only once every cohort
 *    before it is at cutover 100 %;
 *  - the environment's stage is science until the last cohort leaves it, then cutover; its
 *    `ramp` is the least exposed cohort's, so the environment-wide fields of the control state
 *    (what an instance unaware of cohorts would apply to everyone) never expose more than the
 *    least exposed cohort.
 */
import type { CohortStage, CohortState, Evaluation, GateStatus, MigrationPolicy, MigrationState } from '../contract/index.js';
import { Stage } from '../contract/index.js';
import {
  exitGate,
  localGateFailures,
  nextRampStep,
  rampSteps,
  rampWaitText,
  writerBehindText,
  type GateContext,
  type GateObservation,
  type WriterBehind,
} from './migration-gates.js';

/** Whether the policy moves apps in cohorts. */
export function hasCohorts(policy: Pick<MigrationPolicy, 'cohorts'>): boolean {
  return (policy.cohorts?.length ?? 0) > 0;
}

/** The order of the two stages a cohort moves through. */
const STAGE_ORDER: Record<CohortStage, number> = { science: 0, cutover: 1 };

/** Sets a cohort's (or the environment's) ramp, keeping when it reached 100 % while it stays there. */
export function setRamp(c: Pick<CohortState, 'ramp' | 'rampSince' | 'fullRampSince'>, percent: number, now: number): void {
  if (percent !== c.ramp) c.rampSince = now;
  c.fullRampSince = percent === 100 ? (c.ramp === 100 && c.fullRampSince !== null ? c.fullRampSince : now) : null;
  c.ramp = percent;
}

/** The cohorts as science begins: the first at the first science step, the others not begun (0 %). */
export function initialCohorts(policy: MigrationPolicy, now: number): CohortState[] {
  const first = policy.scienceSteps[0] ?? 100;
  return (policy.cohorts ?? []).map((spec, i) => {
    const c: CohortState = {
      name: spec.name,
      stage: Stage.science,
      ramp: 0,
      paused: false,
      rolledBack: null,
      resumedAt: null,
      stageEnteredAt: now,
      rampSince: now,
      fullRampSince: null,
      gate: null,
      evaluation: null,
      next: null,
    };
    if (i === 0) setRamp(c, first, now);
    return c;
  });
}

/** Enters a cohort into a stage at a ramp: its clock starts, pause, rollback, gate and evaluation are cleared. */
export function enterCohortStage(c: CohortState, stage: CohortStage, ramp: number, now: number): void {
  c.stage = stage;
  c.stageEnteredAt = now;
  c.paused = false;
  c.rolledBack = null;
  c.gate = null;
  c.evaluation = null;
  c.ramp = 0;
  c.fullRampSince = null;
  setRamp(c, ramp, now);
}

/**
 * The environment's ramp, ramp time and time at 100 % from its cohorts: the least exposed
 * cohort's ramp in the environment's stage (a cohort already in a later stage counts as 100 %);
 * at 100 % since the last of them got there.
 */
export function syncEnvironmentRamp(s: Pick<MigrationState, 'stage' | 'ramp' | 'cohorts' | 'fullRampSince'> & { rampSince: number }): void {
  const cohorts = s.cohorts ?? [];
  if (cohorts.length === 0 || (s.stage !== Stage.science && s.stage !== Stage.cutover)) return;
  const stage = s.stage;
  const inStage = cohorts.filter((c) => c.stage === stage);
  const exposure = (c: CohortState): number => (c.stage === stage ? c.ramp : STAGE_ORDER[c.stage] > STAGE_ORDER[stage] ? 100 : 0);
  s.ramp = Math.min(...cohorts.map(exposure));
  s.rampSince = Math.max(...inStage.map((c) => c.rampSince), 0);
  s.fullRampSince = s.ramp === 100 && inStage.length > 0 ? Math.max(...inStage.map((c) => c.fullRampSince ?? 0)) : null;
}

/** A cohort by name, or undefined. */
export function findCohort(s: Pick<MigrationState, 'cohorts'>, name: string): CohortState | undefined {
  return s.cohorts?.find((c) => c.name === name);
}

/** Why it is not a cohort's turn to ramp in its stage (an earlier cohort not yet at 100 % of it), or null. */
export function orderHold(cohorts: readonly CohortState[], name: string): string | null {
  const i = cohorts.findIndex((c) => c.name === name);
  const me = cohorts[i];
  if (!me) return null;
  for (const before of cohorts.slice(0, i)) {
    if (STAGE_ORDER[before.stage] > STAGE_ORDER[me.stage]) continue;
    if (before.stage === me.stage && before.ramp === 100) continue;
    return `cohort ${before.name} is at ${before.stage} ${before.ramp} %: cohort ${me.name} ramps ${me.stage} once every cohort before it is at 100 %`;
  }
  return null;
}

/** Why a cohort may not leave science for cutover on account of the order (an earlier cohort not at cutover 100 %), or null. */
export function cutoverOrderHold(cohorts: readonly CohortState[], name: string): string | null {
  const i = cohorts.findIndex((c) => c.name === name);
  for (const before of cohorts.slice(0, Math.max(0, i))) {
    if (before.stage !== Stage.cutover || before.ramp !== 100)
      return `cohorts move to cutover in order: cohort ${before.name} is at ${before.stage} ${before.ramp} % (it must be at cutover 100 % first)`;
  }
  return null;
}

/** The cohort the next advance in science moves to cutover: the first still in science. */
export function nextCohortToAdvance(s: Pick<MigrationState, 'stage' | 'cohorts'>): CohortState | undefined {
  return s.stage === Stage.science ? s.cohorts?.find((c) => c.stage === Stage.science) : undefined;
}

/**
 * The gate context of one cohort: the environment's, with the cohort's stage, ramp, times and
 * rollback in place of the environment's (the gate's rules are the environment's, judged on the
 * cohort). In ttl_wait and later a cohort has no gate of its own.
 */
export function cohortGateContext(ctx: GateContext, c: CohortState): GateContext {
  return {
    ...ctx,
    state: {
      ...ctx.state,
      stage: c.stage,
      ramp: c.ramp,
      fullRampSince: c.fullRampSince,
      stageEnteredAt: c.stageEnteredAt,
      rolledBack: c.rolledBack,
    },
  };
}

/** One cohort's exit gate (science -> cutover, or its part of cutover -> ttl_wait), named and marked with its cohort. */
export function cohortExitGate(ctx: GateContext, c: CohortState, observation: GateObservation | null): GateStatus {
  const g = exitGate(cohortGateContext(ctx, c), observation);
  return { ...g, name: `${g.name} (cohort ${c.name})`, evidence: { cohort: c.name, ...g.evidence } };
}

/** The local conditions of a cohort's gate that fail now (bake time, 100 %, rollback). */
export function cohortLocalFailures(ctx: GateContext, c: CohortState): string[] {
  return localGateFailures(cohortGateContext(ctx, c)).map((t) => `cohort ${c.name}: ${t}`);
}

/**
 * The local conditions an advance out of the environment's stage fails, with cohorts: in science,
 * those of the cohort it would move (and the order); in cutover, every cohort's.
 */
export function cohortAdvanceFailures(ctx: GateContext, cohort: CohortState | undefined): string[] {
  const s = ctx.state;
  const cohorts = s.cohorts ?? [];
  if (s.stage === Stage.science) {
    if (!cohort) return ['no cohort is left in science'];
    if (cohort.stage !== Stage.science) return [`cohort ${cohort.name} is already in ${cohort.stage}`];
    const order = cutoverOrderHold(cohorts, cohort.name);
    return [...(order ? [order] : []), ...cohortLocalFailures(ctx, cohort)];
  }
  if (s.stage === Stage.cutover) return cohorts.flatMap((c) => cohortLocalFailures(ctx, c));
  return [];
}

/** What an evaluation of a cohort knows besides its figures, for the words of what happens next. */
export interface CohortOutlook {
  policy: MigrationPolicy;
  /** The environment's pause (holds every cohort). */
  envPaused: boolean;
  /** The fault switch's rate where it applies to this cohort (0: off, or limited to another cohort). */
  faultRate: number;
  writerBehind: WriterBehind | null;
  /** Why it is not this cohort's turn, or null (orderHold). */
  order: string | null;
  /** Whether this cohort is the next the environment's advance moves (science), or the environment's stage. */
  envStage: Stage;
}

/**
 * What happens next to a cohort, in words: who must act or what its next automatic step waits
 * for (`e`: its evaluation, null when it had nothing to judge); the console's "what happens next".
 */
export function cohortNextText(c: CohortState, e: Evaluation | null, o: CohortOutlook): string {
  const next = nextRampStep(rampSteps(c.stage, o.policy), c.ramp);
  if (c.rolledBack) return `rolled back automatically: it ramps again after an operator resumes it`;
  if (o.envPaused) return `the environment is paused: no automatic step until it is resumed`;
  if (c.paused) return `paused: no automatic step until it is resumed`;
  if (next === null) {
    if (c.stage === Stage.science)
      return c.gate?.passed
        ? o.order
          ? `science gate met; it moves to cutover after the cohorts before it (${o.order})`
          : 'science gate met: an operator may move it to cutover (advance)'
        : `at science 100 %: ${c.gate ? `gate ${c.gate.detail}` : 'its gate is judged on the next evaluation'}`;
    return c.gate?.passed
      ? `cut over: the new store serves its reads${o.envStage === Stage.cutover ? '; the environment may leave cutover once every cohort is here' : ''}`
      : `at cutover 100 %: ${c.gate ? `gate ${c.gate.detail}` : 'its gate is judged on the next evaluation'}`;
  }
  if (o.order) return c.ramp === 0 ? `begins ${c.stage} at ${next} % once every cohort before it is at 100 % (${o.order})` : `holds at ${c.ramp} %: ${o.order}`;
  if (c.ramp === 0) {
    if (!o.policy.autoRamp) return `not begun: set its ramp to ${next} % by hand`;
    if (o.faultRate > 0) return `the fault switch is on for it: it begins ${c.stage} at ${next} % once it is off`;
    if (o.writerBehind) return `${writerBehindText(o.writerBehind, o.policy)}: it begins ${c.stage} once it catches up`;
    return `begins ${c.stage} at ${next} % on the next evaluation`;
  }
  if (!e) return `the first evaluation at ${c.ramp} %`;
  return (
    rampWaitText(e, {
      policy: o.policy,
      paused: false,
      rolledBack: false,
      rampSince: c.rampSince,
      next,
      faultRate: o.faultRate,
      writerBehind: o.writerBehind,
    }) ?? 'the next evaluation'
  );
}
