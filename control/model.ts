/**
 * The control-state fields each point of the migration stands for: the one table of what a stage
 * means to the data plane. The workflow derives each transition's patch from it
 * (workflows/control-fields.ts), and the data plane's state before any control plane has spoken
 * is its planned row (pipeline/kernel/control/control-state.ts). Plain code only (this file is
 * part of the workflow bundle).
 */
import type { ControlPatch } from './activities.js';
import type { CohortSpec, ControlCohort } from './cohorts.js';
import type { MigrationState } from './migration.js';
import { Stage } from './names.js';

/** The control fields the workflow owns (retention and tolerance are policy, published at dual-write start). */
export type ControlFields = Required<
  Pick<ControlPatch, 'oldWriter' | 'newWriter' | 'sciencePercent' | 'cutoverPercent' | 'coverageHorizon' | 'oldStoreAvailable'>
>;

/** What the data plane applies when the workflow is in `state`. */
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

/** The fields before any migration has begun: the planned row. */
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
