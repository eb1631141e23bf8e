/**
 * The activity families composed as the worker registers them: one object per workflow, every
 * family on the same clients. An activity is registered under the name the workflows call it by
 * (recorded histories name them), whichever family file it lives in.
 */
import type { MigrationActivities, VerifyActivities } from '../contract/index.js';
import type { ActivityDeps } from './activity-deps.js';
import { createAuditActivities } from './audit-activities.js';
import { createControlActivities } from './control-activities.js';
import { createOldStoreActivities } from './old-store-activities.js';
import { createOperationActivities } from './operation-activities.js';
import { createPromotionActivities } from './promotion-activities.js';
import { createRepairActivities } from './repair-activities.js';
import { createReplayActivities } from './replay-activities.js';
import { createScienceActivities } from './science-activities.js';
import { createVerifyActivities } from './verify-activities.js';
import { createWriterActivities } from './writer-activities.js';

/** The migration workflow's activities. */
export function createMigrationActivities(deps: ActivityDeps) {
  return {
    ...createControlActivities(deps),
    ...createScienceActivities(deps),
    ...createWriterActivities(deps),
    ...createOldStoreActivities(deps),
    ...createAuditActivities(deps),
    ...createPromotionActivities(deps),
  } satisfies MigrationActivities;
}

/** The verify and repair workflows' activities. */
export function createVerifyRepairActivities(deps: ActivityDeps) {
  return {
    ...createVerifyActivities(deps),
    ...createRepairActivities(deps),
    ...createReplayActivities(deps),
    ...createOperationActivities(deps),
  } satisfies VerifyActivities;
}
