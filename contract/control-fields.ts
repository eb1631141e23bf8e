/**
 * The control-state fields each point of the migration stands for: the one table of what a stage
 * means to the data plane. The workflow derives each transition's patch from it
 * (workflows/control-fields.ts), and the data plane's state before any control plane has spoken
 * is its planned row (pipeline/kernel/control/control-state.ts). Plain code only (this file is
 * part of the workflow bundle).
 */
import type { ControlPatch } from './activities.js';
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
