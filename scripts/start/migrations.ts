/**
 * Makes sure every environment has its migration workflow, so the console has something to
 * drive: a new one is created in stage planned with the given (demo) policy; one that is already
 * running is left exactly as it is, whatever its stage, so running `npm start` again never resets
 * or duplicates a migration in progress.
 *
 * Workflows are started by their type name, never by importing the workflow function (the
 * console does the same; see HOUSE_STYLE).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  Stage,
  STATE_QUERY_NAME,
  type MigrationInput,
  type MigrationPolicy,
  type MigrationState,
} from '../../contract/index.js';
import { durationArg } from '../../kit/cli.js';
import { StartError } from './start-error.js';

/** What ensureMigration found or did for one environment. */
export interface MigrationStatus {
  env: string;
  workflowId: string;
  /** created: started now in planned; running: was already running; completed: finished earlier, left alone. */
  action: 'created' | 'running' | 'completed';
  stage: string;
  ramp: number;
  /** Something the person running the demo should know (a different policy, how to start over). */
  note?: string;
}

/** The policy the current run of a workflow was started with (from its first history event). */
async function policyOfRun(handle: WorkflowHandle): Promise<MigrationPolicy | undefined> {
  const history = await handle.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<MigrationInput>(payload).policy : undefined;
}

/** How a running workflow's policy differs from the wanted one, in words; undefined when equal. */
function policyDifference(actual: MigrationPolicy, wanted: MigrationPolicy): string | undefined {
  if (JSON.stringify(actual) === JSON.stringify(wanted)) return undefined;
  const parts: string[] = [];
  if (actual.retentionMs !== wanted.retentionMs) parts.push(`retention ${durationArg(actual.retentionMs)} instead of ${durationArg(wanted.retentionMs)}`);
  if (actual.bakeMs.science !== wanted.bakeMs.science)
    parts.push(`science bake ${durationArg(actual.bakeMs.science)} instead of ${durationArg(wanted.bakeMs.science)}`);
  return parts.length > 0 ? parts.join(', ') : 'some thresholds differ';
}

/** Queries the workflow's state, retrying while its first workflow task has not run yet. */
async function queryState(handle: WorkflowHandle, env: string, timeoutMs: number): Promise<MigrationState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await handle.query<MigrationState>(STATE_QUERY_NAME);
    } catch (err) {
      if (Date.now() > deadline) {
        throw new StartError(
          `migration workflow of ${env}`,
          `does not answer its state query after ${Math.round(timeoutMs / 1000)} s: ${(err as Error).message}`,
          'Is the control worker running? See its log.',
        );
      }
      await sleep(500);
    }
  }
}

/** Ensures env's migration workflow exists (created in planned with policy when there is none). */
export async function ensureMigration(
  client: Client,
  o: { env: string; taskQueue: string; policy: MigrationPolicy; terminateCommand: (workflowId: string) => string; queryTimeoutMs: number },
): Promise<MigrationStatus> {
  const { env } = o;
  const workflowId = migrationWorkflowId(env);
  const handle = client.workflow.getHandle(workflowId);
  let status: string | undefined;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  if (status === 'COMPLETED') {
    return {
      env,
      workflowId,
      action: 'completed',
      stage: Stage.complete,
      ramp: 0,
      note: `the migration finished earlier; to run the demo again from the start: npm run stack -- down && rm -rf .stack/data && npm start`,
    };
  }
  let action: MigrationStatus['action'] = 'running';
  let note: string | undefined;
  if (status === 'RUNNING') {
    const actual = await policyOfRun(handle).catch(() => undefined);
    const diff = actual && policyDifference(actual, o.policy);
    if (diff) {
      note = `it runs with another policy (${diff}); to start it over with the demo policy: ${o.terminateCommand(workflowId)}, then npm start`;
    }
  } else {
    // None yet, or the last one failed, was terminated or timed out: start one. The policies make a
    // concurrent start (another npm start, the console) harmless: whoever comes second gets the
    // running workflow instead of an error or a second run.
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: o.taskQueue,
      args: [{ env, policy: o.policy } satisfies MigrationInput],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    action = 'created';
    if (status !== undefined) note = `the previous run ended ${status.toLowerCase()}; this is a new one`;
  }
  const state = await queryState(handle, env, o.queryTimeoutMs);
  return { env, workflowId, action, stage: state.stage, ramp: state.ramp, ...(note ? { note } : {}) };
}
