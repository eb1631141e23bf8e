/**
 * The control-state fields each point of the migration stands for. The workflow publishes
 * patches; this mapping says what the data plane should be applying in any workflow state, so a
 * transition whose publication was not acknowledged can be reverted to exactly what was there.
 */
import { Stage, type ControlPatch, type MigrationState } from '../contract/index.js';

/** The control fields the workflow owns (retention and tolerance are policy, published at dual-write start). */
export type ControlFields = Required<Pick<ControlPatch, 'oldWriter' | 'newWriter' | 'sciencePercent' | 'cutoverPercent' | 'coverageHorizon' | 'oldStoreAvailable'>>;

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

/** The patch that restores, for every field `patch` touches, the value it had in `before`. */
export function revertPatch(before: ControlFields, patch: ControlPatch): ControlPatch {
  const out: ControlPatch = {};
  for (const key of Object.keys(patch) as (keyof ControlPatch)[]) {
    if (key in before) (out as Record<string, unknown>)[key] = before[key as keyof ControlFields];
  }
  return out;
}
