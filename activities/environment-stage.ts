/**
 * The stage of an environment's migration as another environment's workflow sees it (for the
 * promotion-order rule), from a description of its workflow execution.
 */
import { SearchAttribute, Stage, STAGES, type MigrationState } from '../contract/index.js';

/** The search attribute the migration workflow keeps its stage in. */
export const STAGE_SEARCH_ATTRIBUTE = SearchAttribute.stage;

/** True for a stage name. */
export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/** The stage kept in the search attribute, when there is a valid one. */
export function stageFromSearchAttributes(pairs: readonly { key: { name: string }; value: unknown }[]): Stage | undefined {
  const value = pairs.find((p) => p.key.name === STAGE_SEARCH_ATTRIBUTE)?.value;
  // Keyword attributes come back as a string (typed) or a one-element array (untyped).
  const v = Array.isArray(value) ? (value as unknown[])[0] : value;
  return isStage(v) ? v : undefined;
}

/**
 * The stage of a closed workflow: the stage it last recorded in its search attribute, or
 * 'complete' when it completed without one (the workflow only completes at the end), or
 * 'planned' when it failed, was terminated, cancelled or timed out without one (it got nowhere
 * that a successor could rely on).
 */
export function stageOfClosedExecution(status: string, attribute: Stage | undefined): Stage {
  if (attribute !== undefined) return attribute;
  return status === 'COMPLETED' ? Stage.complete : Stage.planned;
}

/** The stage a state-query answer reports, when it is a valid one. */
export function stageFromState(state: unknown): Stage | undefined {
  const stage = (state as Partial<MigrationState> | null | undefined)?.stage;
  return isStage(stage) ? stage : undefined;
}
