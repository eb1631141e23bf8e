/**
 * Makes sure every environment has its migration workflow, so the console has something to
 * drive. The control worker creates a missing one in stage planned with the demo policy (it is one
 * of the two clients that write to Temporal, with the console); this module only reads: it waits
 * for each workflow and reports whether it is new or was already running (left exactly as it is,
 * whatever its stage, so running `npm start` again never resets or duplicates a migration).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { migrationWorkflowId, SearchAttribute, Stage, type MigrationInput, type MigrationPolicy, type MigrationState } from '../../contract/index.js';
import { stateQuery } from '../../contract/migration-messages.js';
import { stageFromSearchAttributes } from '../../activities/environment-stage.js';
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
  const cohorts = (q: MigrationPolicy): string => (q.cohorts ?? []).map((c) => c.name).join(', ') || 'none';
  if (cohorts(actual) !== cohorts(wanted)) parts.push(`cohorts ${cohorts(actual)} instead of ${cohorts(wanted)}`);
  return parts.length > 0 ? parts.join(', ') : 'some thresholds differ';
}

/** Queries the workflow's state, retrying while its first workflow task has not run yet. */
async function queryState(handle: WorkflowHandle, env: string, timeoutMs: number): Promise<MigrationState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await handle.query(stateQuery);
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

/**
 * Waits until env's migration workflow runs (the control worker creates it in planned with the
 * demo policy when there is none) and says whether it was created now or was already running.
 */
export async function ensureMigration(
  client: Client,
  o: {
    env: string;
    policy: MigrationPolicy;
    terminateCommand: (workflowId: string) => string;
    queryTimeoutMs: number;
    /** When this start began: a workflow started since was created by this start's worker. */
    startedAfter: number;
  },
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
  if (status !== 'RUNNING') {
    // The control worker creates the missing workflows (npm start runs it with --create-migrations
    // demo): the worker and the console are the only clients that write to Temporal. Wait for it.
    const deadline = Date.now() + o.queryTimeoutMs;
    for (;;) {
      const d = await handle.describe().catch(() => undefined);
      if (d?.status.name === 'RUNNING') break;
      if (Date.now() > deadline)
        throw new StartError(
          `migration workflow of ${env}`,
          `was not created within ${Math.round(o.queryTimeoutMs / 1000)} s (last seen: ${d?.status.name.toLowerCase() ?? 'none'})`,
          'The control worker creates it at start (--create-migrations); see its log.',
        );
      await sleep(500);
    }
  }
  const described = await handle.describe();
  const action: MigrationStatus['action'] = described.startTime.getTime() >= o.startedAfter ? 'created' : 'running';
  let note: string | undefined;
  if (action === 'running') {
    const actual = await policyOfRun(handle).catch(() => undefined);
    const diff = actual && policyDifference(actual, o.policy);
    if (diff) {
      note = `it runs with another policy (${diff}); to start it over with the demo policy: ${o.terminateCommand(workflowId)}, then npm start`;
    }
  } else if (status !== undefined && status !== 'RUNNING') note = `the previous run ended ${status.toLowerCase()}; this is a new one`;
  // A migration that was already running says where it is in its search attributes: a query would
  // make the worker replay its whole history first (a mid-way demo migration has thousands of
  // events: three such queries held a restart for about two minutes). A new one answers the query,
  // which also shows the worker serves it.
  const attributes = described.typedSearchAttributes.getAll();
  const stage = stageFromSearchAttributes(attributes);
  const ramp = attributes.find((p) => p.key.name === SearchAttribute.rampPercent)?.value;
  if (action === 'running' && stage !== undefined) {
    return { env, workflowId, action, stage, ramp: typeof ramp === 'number' ? ramp : 0, ...(note ? { note } : {}) };
  }
  const state = await queryState(handle, env, o.queryTimeoutMs);
  return { env, workflowId, action, stage: state.stage, ramp: state.ramp, ...(note ? { note } : {}) };
}
