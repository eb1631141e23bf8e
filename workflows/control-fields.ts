/**
 * A transition's control-state patch, derived from the stage table (contract/control-fields.ts:
 * the fields each point of the migration stands for): the fields that differ between the state
 * before and after the transition; and the revert of a publication that was not acknowledged (the
 * values before, for exactly the fields the patch touched).
 */
import { CONTROL_FIELD_ORDER, type ControlCohort, type ControlFields, type ControlPatch } from '../contract/index.js';

export { controlFields, type ControlFields } from '../contract/index.js';

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
