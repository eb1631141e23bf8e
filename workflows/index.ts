/**
 * The workflows of the control plane, for the worker's `workflowsPath`. Clients start and address
 * them by their registered name (MIGRATION_WORKFLOW_TYPE), never by importing this module.
 */
export { migrationWorkflow } from './migration-workflow.js';
export { verifyWorkflow } from './verify-workflow.js';
export { repairWorkflow } from './repair-workflow.js';
