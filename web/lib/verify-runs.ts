import 'server-only';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import {
  REPAIR_WORKFLOW_TYPE,
  repairWorkflowId,
  VERIFY_WORKFLOW_TYPE,
  verifyWorkflowId,
  type RepairInput,
  type RepairReport,
  type VerifyInput,
  type VerifyReport,
} from '../../contract';
import { repairProgressQuery, verifyProgressQuery } from '../../contract/verify-messages';
import { withTimeout } from '../../kit/async';
import { innermost, listRuns, type RunSummary } from '../../kit/workflow-runs';
import { consoleSettings } from './console-settings';
import type { Outage } from './data';
import { RequestRejectedError, temporalClient } from './temporal';

// Verify and repair runs of an environment, the console's side of workers/verify-commands.ts:
// each run is a workflow of its own (one id per request), found by listing its type and id
// prefix (kit/workflow-runs.ts), read through its typed progress query (contract/verify-messages.ts),
// started by its registered type name.

export type { RunSummary };

/** The newest run of a type, its report (when its progress query answers) and the runs before it. */
export interface RunsView<R> {
  latest: RunSummary | null;
  report: R | null;
  /** Why the report could not be read (the run's status above still stands). */
  reportError: string | null;
  earlier: RunSummary[];
}

/** The env's verify and repair runs for the environment page (never throws: an unreachable Temporal is an outage). */
export interface VerifyRepairView {
  verify: RunsView<VerifyReport>;
  repair: RunsView<RepairReport>;
  outages: Outage[];
}

const EMPTY = { latest: null, report: null, reportError: null, earlier: [] };

async function runsView<R>(client: Client, runs: RunSummary[], query: QueryDefinition<R>): Promise<RunsView<R>> {
  const [latest, ...earlier] = runs;
  if (!latest) return { ...EMPTY };
  try {
    const report = await withTimeout(client.workflow.getHandle(latest.workflowId).query(query), 5000, `the run ${latest.workflowId}`);
    return { latest, report, reportError: null, earlier };
  } catch (err) {
    // A run refused before it set up its query (an invalid request) has no report: its status says how it ended.
    return { latest, report: null, reportError: (err as Error).message, earlier };
  }
}

/** The env's newest verify run (with up to 5 earlier ones) and newest repair run (previews, ids ending in `-plan`, left out). */
export async function loadVerifyRepair(env: string): Promise<VerifyRepairView> {
  try {
    const client = await withTimeout(temporalClient(), 4000, 'Temporal');
    const [verifies, repairs] = await withTimeout(
      Promise.all([
        listRuns(client, VERIFY_WORKFLOW_TYPE, verifyWorkflowId, env, consoleSettings().cfg.environments, 6),
        listRuns(client, REPAIR_WORKFLOW_TYPE, repairWorkflowId, env, consoleSettings().cfg.environments, 20),
      ]),
      5000,
      'Temporal',
    );
    const [verify, repair] = await Promise.all([
      runsView(client, verifies, verifyProgressQuery),
      runsView(
        client,
        repairs.filter((r) => !r.workflowId.endsWith('-plan')),
        repairProgressQuery,
      ),
    ]);
    return { verify, repair: { ...repair, earlier: repair.earlier.slice(0, 5) }, outages: [] };
  } catch (err) {
    return { verify: { ...EMPTY }, repair: { ...EMPTY }, outages: [{ service: 'Temporal', message: (err as Error).message }] };
  }
}

/** Starts a verify run; a repeated request id is the run it already started. Returns the run's workflow id. */
export async function startVerifyRun(input: VerifyInput): Promise<{ workflowId: string; alreadyStarted: boolean }> {
  const { cfg } = consoleSettings();
  const client = await temporalClient();
  const workflowId = verifyWorkflowId(input.env, input.requestId);
  try {
    await client.workflow.start(VERIFY_WORKFLOW_TYPE, { workflowId, taskQueue: cfg.temporal.taskQueue, args: [input] });
    return { workflowId, alreadyStarted: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, alreadyStarted: true };
    throw err;
  }
}

/** Plans a repair without changing anything (a planOnly run, `<request id>-plan`); a refusal is a RequestRejectedError with the workflow's reason. */
export async function planRepairRun(input: RepairInput): Promise<RepairReport> {
  const { cfg } = consoleSettings();
  const client = await temporalClient();
  try {
    return await withTimeout(
      client.workflow.execute(REPAIR_WORKFLOW_TYPE, {
        workflowId: repairWorkflowId(input.env, `${input.requestId}-plan`),
        taskQueue: cfg.temporal.taskQueue,
        // A preview nobody picks up (no worker) must not linger.
        workflowExecutionTimeout: '5 minutes',
        args: [{ ...input, planOnly: true } satisfies RepairInput],
      }) as Promise<RepairReport>,
      60_000,
      'the repair plan',
    );
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new RequestRejectedError(innermost(err));
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new RequestRejectedError('this preview was already asked for: preview the repair again');
    throw err;
  }
}

/** Starts the repair itself; a repeated request id is the run it already started. Returns the run's workflow id. */
export async function startRepairRun(input: RepairInput): Promise<{ workflowId: string; alreadyStarted: boolean }> {
  const { cfg } = consoleSettings();
  const client = await temporalClient();
  const workflowId = repairWorkflowId(input.env, input.requestId);
  try {
    await client.workflow.start(REPAIR_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: cfg.temporal.taskQueue,
      args: [{ ...input, planOnly: false } satisfies RepairInput],
    });
    return { workflowId, alreadyStarted: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, alreadyStarted: true };
    throw err;
  }
}
