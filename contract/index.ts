/**
 * The contract at the bottom of the control plane: names, the migration's domain types and the
 * activity interface. Every other folder imports these from here; the workflows' message
 * definitions (migration-messages.ts, verify-messages.ts) are imported from their own modules,
 * so the data plane, which never talks to Temporal, does not load the workflow API.
 */
export * from './names.js';
export * from './units.js';
export * from './verify.js';
export * from './cohorts.js';
export * from './format.js';
export type * from './migration.js';
export type * from './activities.js';
export * from './notification-payload.js';
export * from './evidence-words.js';
export * from './next-step.js';
