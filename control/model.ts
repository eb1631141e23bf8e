/**
 * The control channel's model: what each point of the migration means to the data plane (the
 * stage table, `controlFields`), the patch a transition publishes and the revert of one that was
 * not acknowledged (both derived from the table, never restated), the state before any control
 * plane has spoken (the table's planned row), and the types of what travels on the channel.
 *
 * One vocabulary, three sizes: `ControlFields` are the fields the stage table owns; a
 * `ControlPatch` (the contract's: it is the publishControl activity's input) is any part of a
 * state, the table's fields and the policy's (retention, tolerance, faults, cohorts); a
 * `ControlState` (wire/schema.ts, the zod schema that checks every record read) is the whole
 * versioned record. The schema file holds a patch to being a part of the state at compile time.
 *
 * Pure and deterministic: the workflows import this file alone (it is part of their bundle), so
 * it imports the contract and nothing else at run time; the state's types come from the schema
 * as types only. ESLint holds it to that (eslint.config.js, `CONTROL_MODEL_IMPORTS`).
 */
import { Stage } from '../contract/index.js';
import type { CohortSpec, ControlCohort, ControlPatch, MigrationState } from '../contract/index.js';
import type { ControlState } from './wire/schema.js';

export type { ControlCohort, ControlPatch } from '../contract/index.js';
export type { ControlState, Heartbeat } from './wire/schema.js';

/** The control fields the workflow owns (retention and tolerance are policy, published at dual-write start). */
export type ControlFields = Required<
  Pick<ControlPatch, 'oldWriter' | 'newWriter' | 'sciencePercent' | 'cutoverPercent' | 'coverageHorizon' | 'oldStoreAvailable'>
>;

/** What the data plane applies when the workflow is in `state`: the stage table. */
export function controlFields(state: Pick<MigrationState, 'stage' | 'ramp' | 'coverageHorizon' | 'pendingApproval'>): ControlFields {
  const H = state.coverageHorizon;
  switch (state.stage) {
    case Stage.planned:
      return { oldWriter: true, newWriter: false, sciencePercent: 0, cutoverPercent: 0, coverageHorizon: null, oldStoreAvailable: true };
    case Stage.dualWrite:
      return { oldWriter: true, newWriter: true, sciencePercent: 0, cutoverPercent: 0, coverageHorizon: H, oldStoreAvailable: true };
    case Stage.science:
      return { oldWriter: true, newWriter: true, sciencePercent: state.ramp, cutoverPercent: 0, coverageHorizon: H, oldStoreAvailable: true };
    case Stage.cutover:
      return { oldWriter: true, newWriter: true, sciencePercent: 100, cutoverPercent: state.ramp, coverageHorizon: H, oldStoreAvailable: true };
    case Stage.ttlWait:
      return { oldWriter: true, newWriter: true, sciencePercent: 100, cutoverPercent: 100, coverageHorizon: H, oldStoreAvailable: true };
    case Stage.decommission:
      return state.pendingApproval
        ? { oldWriter: true, newWriter: true, sciencePercent: 100, cutoverPercent: 100, coverageHorizon: H, oldStoreAvailable: true }
        : { oldWriter: false, newWriter: true, sciencePercent: 0, cutoverPercent: 100, coverageHorizon: H, oldStoreAvailable: false };
    case Stage.complete:
      return { oldWriter: false, newWriter: true, sciencePercent: 0, cutoverPercent: 100, coverageHorizon: H, oldStoreAvailable: false };
  }
}

/** The fields of the table, in the order a patch lists them. */
export const CONTROL_FIELD_ORDER: readonly (keyof ControlFields)[] = [
  'oldWriter',
  'newWriter',
  'sciencePercent',
  'cutoverPercent',
  'coverageHorizon',
  'oldStoreAvailable',
];

/** The fields before any migration has begun: the planned row, what the data plane applies before any control plane has spoken. */
export const PLANNED_CONTROL_FIELDS: Readonly<ControlFields> = controlFields({ stage: Stage.planned, ramp: 0, coverageHorizon: null, pendingApproval: false });

/**
 * What the data plane applies to each cohort's apps when the workflow is in `state` (policies
 * with cohorts; undefined without). In science and cutover each cohort is at its own point of the
 * table (its stage and ramp); in every other stage every cohort is where the environment is. The
 * same table, row by row: a cohort in cutover keeps science at 100 %, one at science 0 % reads
 * only the old store.
 */
export function cohortControlFields(
  state: Pick<MigrationState, 'stage' | 'ramp' | 'coverageHorizon' | 'pendingApproval' | 'cohorts'>,
  cohorts: readonly CohortSpec[] | undefined,
): ControlCohort[] | undefined {
  if (cohorts === undefined || cohorts.length === 0) return undefined;
  const ramped = state.stage === Stage.science || state.stage === Stage.cutover;
  return cohorts.map((spec) => {
    const own = ramped ? state.cohorts?.find((c) => c.name === spec.name) : undefined;
    const f = own ? controlFields({ ...state, stage: own.stage, ramp: own.ramp }) : controlFields(state);
    return { ...spec, sciencePercent: f.sciencePercent, cutoverPercent: f.cutoverPercent };
  });
}

/**
 * What a transition publishes: every field whose value differs between `before` and `after`, the
 * fields it re-asserts (published although unchanged, e.g. science staying at 100% when cutover
 * begins), and fields outside the table (the policy's retention and tolerance, the fault switch).
 * Null when there is nothing to publish (a pause, an approval request, the completion).
 */
export function transitionPatch(
  before: ControlFields,
  after: ControlFields,
  reassert: readonly (keyof ControlFields)[] = [],
  extra: ControlPatch = {},
): ControlPatch | null {
  const out: Record<string, unknown> = {};
  for (const key of CONTROL_FIELD_ORDER) if (before[key] !== after[key] || reassert.includes(key)) out[key] = after[key];
  Object.assign(out, extra);
  return Object.keys(out).length === 0 ? null : (out as ControlPatch);
}

/** The patch that restores, for every field `patch` touches, the value it had in `before` (with cohorts: their rows too). */
export function revertPatch(before: ControlFields & { cohorts?: ControlCohort[] }, patch: ControlPatch): ControlPatch {
  const out: ControlPatch = {};
  for (const key of Object.keys(patch) as (keyof ControlPatch)[]) {
    if (key in before) (out as Record<string, unknown>)[key] = before[key as keyof ControlFields];
  }
  return out;
}

/** The state an environment starts in before any control plane has spoken: the stage table's planned row (old store only). */
export function initialControlState(env: string, retentionMs: number): ControlState {
  return {
    env,
    version: 0,
    ...PLANNED_CONTROL_FIELDS,
    retentionMs,
    tolerance: { relative: 1e-9, absolute: 0 },
    faults: { newWriterCorruptionRate: 0 },
    updatedAt: new Date(0).toISOString(),
    updatedBy: 'default',
    reason: 'no control state published yet',
  };
}
