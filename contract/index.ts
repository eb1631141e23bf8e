/**
 * The contract at the bottom of the control plane: names, the migration's domain types and the
 * activity interface. Every other folder imports these from here.
 */
export * from './names.js';
export * from './verify.js';
export * from './cohorts.js';
export * from './format.js';
export type * from './migration.js';
export type * from './activities.js';
export * from './notifications.js';
export * from './evidence-words.js';
export * from './next-step.js';
