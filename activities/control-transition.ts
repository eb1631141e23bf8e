/**
 * How a transition's patch becomes the next control state: the newest state with the patch's
 * fields laid over it, the version bumped and the transition recorded, so a retried publish can
 * tell that its transition is already on the topic.
 */
import { initialControlState, type ControlState } from '../pipeline/kernel/control/control-state.js';
import type { ControlPatch, PublishControlInput } from '../contract/index.js';

/** Retention assumed for an environment that has never had a control state and whose patch names none. */
export const DEFAULT_RETENTION_MS = 7 * 86_400_000;

/** The fields of the patch that are set (a key present with `undefined` changes nothing; `null` does, e.g. coverageHorizon). */
export function definedPatch(patch: ControlPatch): Partial<ControlState> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<ControlState>;
}

/** The state to build on: the newest published one, or the initial state (old store only) when there is none. */
export function baseControlState(latest: ControlState | undefined, input: Pick<PublishControlInput, 'env' | 'patch'>): ControlState {
  return latest ?? initialControlState(input.env, input.patch.retentionMs ?? DEFAULT_RETENTION_MS);
}

/** True when `latest` was published by this very transition (an earlier attempt of the same activity). */
export function alreadyPublished(latest: ControlState | undefined, transitionId: string): latest is ControlState {
  return latest?.transitionId !== undefined && latest.transitionId === transitionId;
}

/** The next version: base + patch, version + 1, stamped with the transition, actor, reason and time. Fields the patch leaves out (e.g. faults) are kept. */
export function nextControlState(base: ControlState, input: Pick<PublishControlInput, 'transitionId' | 'patch' | 'actor' | 'reason'>, now: Date): ControlState {
  return {
    ...base,
    ...definedPatch(input.patch),
    env: base.env,
    version: base.version + 1,
    transitionId: input.transitionId,
    updatedAt: now.toISOString(),
    updatedBy: input.actor,
    reason: input.reason,
  };
}
