/**
 * The stage moves of a migration with cohorts (policy.cohorts), each one transition like the
 * environment's (stage-moves.ts): moving a cohort from science to cutover (the last one moves the
 * environment), rolling back, pausing, resuming and setting the ramp of one cohort or of all.
 *
 * Every entry audits the cohort it acted on (evidence `cohort`, and the cohort's stage before and
 * after as `cohortFrom` / `cohortTo`); the control-state patch carries the cohorts' rows
 * (transitions.ts derives it from the stage table, per cohort).
 */
import { AuditAction, Stage, type AdvanceInput, type CohortActor, type CohortState, type SetRampInput, type UpdateResult } from '../../contract/index.js';
import {
  cohortExitGate,
  cutoverOrderHold,
  enterCohortStage,
  findCohort,
  nextCohortToAdvance,
  orderHold,
  setRamp,
  syncEnvironmentRamp,
} from '../cohort-gates.js';
import { gateWindowMs, rampSteps } from '../migration-gates.js';
import { enterStage, gateContext, rejection, result, type Run, type WorkflowState } from './state.js';
import { transition } from './transitions.js';

/** The state's cohort named `name` (in a preview or the state itself); a cohort the state lacks is a bug. */
export function cohortIn(s: WorkflowState, name: string): CohortState {
  const c = findCohort(s, name);
  if (!c) throw new Error(`cohort ${name} is not in the state`);
  return c;
}

/** Changes one cohort of `s` and keeps the environment's ramp in step. */
function onCohort(s: WorkflowState, name: string, change: (c: CohortState) => void): void {
  change(cohortIn(s, name));
  syncEnvironmentRamp(s);
}

/**
 * Science -> cutover for one cohort (the named one, or the first still in science): its gate
 * (on its own comparisons) and the order (every cohort before it at cutover 100 %) must hold.
 * The last cohort to leave science takes the environment to cutover.
 */
export async function advanceCohort(r: Run, a: AdvanceInput, evidence: Record<string, unknown>): Promise<UpdateResult> {
  const s = r.state;
  const c = a.cohort !== undefined ? findCohort(s, a.cohort) : nextCohortToAdvance(s);
  if (!c) throw rejection(a.cohort !== undefined ? `unknown cohort ${a.cohort}` : 'no cohort is left in science');
  if (c.stage !== Stage.science) throw rejection(`cohort ${c.name} is already in ${c.stage}`);
  const order = cutoverOrderHold(s.cohorts ?? [], c.name);
  if (order !== null) throw rejection(`cannot move cohort ${c.name} to cutover: ${order}`);
  const figures = await r.acts.readScience({ env: r.env, windowMs: gateWindowMs(Stage.science, r.policy), cohort: c.name });
  const gate = cohortExitGate(gateContext(r), c, { kind: 'science', figures });
  c.gate = gate;
  s.gates = [gate];
  if (!gate.passed) throw rejection(`cannot move cohort ${c.name} to cutover: gate ${gate.name} ${gate.detail}`);
  const name = c.name;
  const first = r.policy.cutoverSteps[0] ?? 100;
  const last = (s.cohorts ?? []).filter((x) => x.stage === Stage.science).length === 1;
  await transition(r, {
    actor: a.identity,
    action: AuditAction.advance,
    reason: a.reason,
    evidence: { ...evidence, gate, cohort: name, cohortFrom: Stage.science, cohortTo: Stage.cutover, ramp: first },
    // Science stays at 100 % for the shadow reads of the cohort's reads not served by the new store.
    reassert: last ? ['sciencePercent'] : [],
    revertOnFailure: true,
    apply: (st, now) => {
      enterCohortStage(cohortIn(st, name), Stage.cutover, first, now);
      if (last) {
        enterStage(st, Stage.cutover, now);
        st.ramp = 0;
        st.fullRampSince = null;
      }
      syncEnvironmentRamp(st);
      if (last) st.gates = [];
    },
  });
  return result(
    r,
    `cohort ${name}: science -> cutover at ${first}% of its reads served by the new store${last ? `; every cohort is in cutover, so ${r.env} is too` : ''} (control state v${r.state.controlVersion})`,
    name,
  );
}

/** Rolls back one cohort (ramp 0, paused), or, unnamed, every cohort; from ttl_wait back to cutover. */
export async function rollbackCohorts(r: Run, a: CohortActor): Promise<UpdateResult> {
  const s = r.state;
  const name = a.cohort;
  const targets = (s.cohorts ?? []).filter((c) => name === undefined || c.name === name).map((c) => c.name);
  const fromTtlWait = s.stage === Stage.ttlWait;
  await transition(r, {
    actor: a.identity,
    action: AuditAction.rollback,
    reason: a.reason,
    evidence: {
      ...(name !== undefined ? { cohort: name } : { cohorts: targets.join(', ') }),
      ramps: Object.fromEntries((s.cohorts ?? []).map((c) => [c.name, `${c.stage} ${c.ramp}%`])),
      ...(fromTtlWait ? { cutoverAt100Since: s.fullRampSince, rollbackWindowMs: r.policy.rollbackWindowMs } : {}),
    },
    revertOnFailure: false,
    apply: (st, now) => {
      if (fromTtlWait) {
        enterStage(st, Stage.cutover, now);
        st.ttlGateAt = null;
      }
      for (const t of targets) {
        const c = cohortIn(st, t);
        setRamp(c, 0, now);
        c.paused = true;
      }
      if (name === undefined) st.paused = true;
      syncEnvironmentRamp(st);
    },
  });
  const what = name === undefined ? 'every cohort' : `cohort ${name}`;
  return result(
    r,
    fromTtlWait
      ? `ttl_wait -> cutover: ${what} back to 0% (reads on the old store), paused${name !== undefined ? '; the other cohorts stay at 100%' : ''}`
      : `${what} back to 0%, paused${name !== undefined ? '; the other cohorts stay where they are' : ''}`,
    name,
  );
}

/** Pauses one cohort's automatic ramping (automatic rollback stays armed). */
export async function pauseCohort(r: Run, a: CohortActor & { cohort: string }): Promise<UpdateResult> {
  const c = cohortIn(r.state, a.cohort);
  await transition(r, {
    actor: a.identity,
    action: AuditAction.pause,
    reason: a.reason,
    evidence: { cohort: a.cohort, stage: c.stage, ramp: c.ramp },
    revertOnFailure: false,
    apply: (st) =>
      onCohort(st, a.cohort, (x) => {
        x.paused = true;
      }),
  });
  return result(r, `cohort ${a.cohort} paused at ${c.stage} ${c.ramp}%: no automatic ramping of it until resumed (automatic rollback stays armed)`, a.cohort);
}

/**
 * Resumes one cohort (its pause and rollback cleared; at 0 % it restarts at its stage's first
 * step), or, unnamed, the environment's pause and every cohort's; then only the first cohort at
 * 0 % whose turn it is restarts, the others follow in order.
 */
export async function resumeCohorts(r: Run, a: CohortActor): Promise<UpdateResult> {
  const s = r.state;
  const name = a.cohort;
  const held = (s.cohorts ?? []).filter((c) => (name === undefined ? c.paused || c.rolledBack !== null : c.name === name)).map((c) => c.name);
  const restarted: string[] = [];
  const resume = (st: WorkflowState, now: number, record: boolean): void => {
    if (name === undefined) st.paused = false;
    for (const t of held) {
      const c = cohortIn(st, t);
      if (c.rolledBack !== null) c.resumedAt = now;
      c.paused = false;
      c.rolledBack = null;
      if (c.ramp === 0 && (name !== undefined || orderHold(st.cohorts ?? [], t) === null)) {
        setRamp(c, rampSteps(c.stage, r.policy)[0] ?? 100, now);
        if (record) restarted.push(`${t} at ${c.stage} ${c.ramp}%`);
      }
    }
    syncEnvironmentRamp(st);
  };
  // What a resume restarts, for the audit evidence (the same function, on a copy).
  const preview: WorkflowState = { ...s, cohorts: (s.cohorts ?? []).map((c) => ({ ...c })) };
  resume(preview, Date.now(), true);
  await transition(r, {
    actor: a.identity,
    action: AuditAction.resume,
    reason: a.reason,
    evidence: { ...(name !== undefined ? { cohort: name } : {}), resumed: held.join(', '), restarted: restarted.join(', ') },
    revertOnFailure: true,
    apply: (st, now) => resume(st, now, false),
  });
  const what = name === undefined ? (held.length > 0 ? `resumed (cohorts ${held.join(', ')})` : 'resumed') : `cohort ${name} resumed`;
  return result(r, restarted.length > 0 ? `${what}: restarted ${restarted.join(', ')}` : what, name);
}

/** Sets one cohort's ramp in its stage. */
export async function setCohortRamp(r: Run, a: SetRampInput & { cohort: string }): Promise<UpdateResult> {
  const c = cohortIn(r.state, a.cohort);
  if (a.percent === c.ramp) return result(r, `cohort ${a.cohort} already at ${c.stage} ${a.percent}%`, a.cohort);
  const from = c.ramp;
  const stage = c.stage;
  await transition(r, {
    actor: a.identity,
    action: AuditAction.setRamp,
    reason: a.reason,
    evidence: { cohort: a.cohort, stage, from, to: a.percent },
    revertOnFailure: a.percent > from,
    apply: (st, now) => onCohort(st, a.cohort, (x) => setRamp(x, a.percent, now)),
  });
  return result(r, `cohort ${a.cohort}: ${stage} ${from}% -> ${a.percent}%`, a.cohort);
}
