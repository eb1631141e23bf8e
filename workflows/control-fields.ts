/**
 * The control-state fields each point of the migration stands for: the one table of what a stage
 * means to the data plane. A transition's patch is derived from it (the fields that differ
 * between the state before and after the transition), and so is the revert of a publication
 * that was not acknowledged (the values before, for exactly the fields the patch touched).
 */
import { Stage, type ControlPatch, type MigrationState } from '../contract/index.js';

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
const FIELD_ORDER: readonly (keyof ControlFields)[] = ['oldWriter', 'newWriter', 'sciencePercent', 'cutoverPercent', 'coverageHorizon', 'oldStoreAvailable'];

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
  for (const key of FIELD_ORDER) if (before[key] !== after[key] || reassert.includes(key)) out[key] = after[key];
  Object.assign(out, extra);
  return Object.keys(out).length === 0 ? null : (out as ControlPatch);
}

/** The patch that restores, for every field `patch` touches, the value it had in `before`. */
export function revertPatch(before: ControlFields, patch: ControlPatch): ControlPatch {
  const out: ControlPatch = {};
  for (const key of Object.keys(patch) as (keyof ControlPatch)[]) {
    if (key in before) (out as Record<string, unknown>)[key] = before[key as keyof ControlFields];
  }
  return out;
}
