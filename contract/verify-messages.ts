/**
 * The messages of the verify and repair workflows: their progress queries, typed with the report
 * each returns. The workflows register their handlers on these, and the console, the activities
 * that follow a run and the benchmarks query them, so a misread report fails the type check. The
 * names are VERIFY_PROGRESS_QUERY and REPAIR_PROGRESS_QUERY (verify.ts): recorded histories and
 * running workflows answer to them, so they never change.
 *
 * Plain definitions made by the workflow API's define functions (which run outside a workflow as
 * well); like migration-messages.ts, not re-exported by index.ts, so the data plane does not load
 * the workflow API.
 */
import { defineQuery } from '@temporalio/workflow';
import { REPAIR_PROGRESS_QUERY, VERIFY_PROGRESS_QUERY, type RepairReport, type VerifyReport } from './verify.js';

/** The running report of a verify run. */
export const verifyProgressQuery = defineQuery<VerifyReport>(VERIFY_PROGRESS_QUERY);

/** The running report of a repair run. */
export const repairProgressQuery = defineQuery<RepairReport>(REPAIR_PROGRESS_QUERY);
