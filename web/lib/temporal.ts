import 'server-only';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { connectTemporal } from '../../config/clients';
import { policyFor } from '../../config/migration-policy';
import type { Actor, MigrationPolicy, MigrationStateView } from '../../contract';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId, type UpdateResult } from '../../contract';
import { stateQuery } from '../../contract/migration-messages';
import { consoleSettings } from './console-settings';
import { withTimeout } from '../../kit/async';

// Workflows are started by their registered type name (MIGRATION_WORKFLOW_TYPE), never by importing
// workflow functions: Next.js minifies server code. Their updates and queries are sent with the
// typed definitions of contract/migration-messages.ts (plain { type, name } objects), so the
// arguments and the result are checked by the build.

/** What the console knows about one environment's migration workflow. */
export type MigrationLookup =
  | { kind: 'running'; state: MigrationStateView; runId: string | undefined }
  | { kind: 'none' }
  | { kind: 'closed'; status: string }
  | { kind: 'unreachable'; message: string };

const g = globalThis as unknown as { switchyardTemporal?: Promise<Client> };

/** One Temporal client per server process; a failed connection is retried on the next call. */
export async function temporalClient(): Promise<Client> {
  if (!g.switchyardTemporal) {
    const { cfg } = consoleSettings();
    g.switchyardTemporal = connectTemporal(cfg).then((connection) => new Client({ connection, namespace: cfg.temporal.namespace }));
    g.switchyardTemporal.catch(() => {
      g.switchyardTemporal = undefined;
    });
  }
  return await g.switchyardTemporal;
}

/** The migration workflow of `env` and its state (never throws: an unreachable Temporal is a value). */
export async function lookupMigration(env: string): Promise<MigrationLookup> {
  try {
    const client = await withTimeout(temporalClient(), 4000, 'Temporal');
    const handle = client.workflow.getHandle(migrationWorkflowId(env));
    try {
      const state = await withTimeout(handle.query(stateQuery), 5000, 'the migration workflow');
      return { kind: 'running', state, runId: undefined };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { kind: 'none' };
      // A closed workflow still answers queries in Temporal; if it does not, say how it ended.
      const described = await withTimeout(handle.describe(), 4000, 'Temporal').catch(() => undefined);
      if (described && described.status.name !== 'RUNNING') return { kind: 'closed', status: described.status.name };
      throw err;
    }
  } catch (err) {
    return { kind: 'unreachable', message: (err as Error).message };
  }
}

/** An operator request the workflow refused, with the workflow's own reason. */
export class RequestRejectedError extends Error {
  override readonly name = 'RequestRejectedError';
}

/**
 * Sends one of the migration workflow's updates (contract/migration-messages.ts) with its input;
 * the Temporal update id is the request id, so a retried click takes effect once.
 */
export async function sendMigrationUpdate<A extends Actor>(env: string, update: UpdateDefinition<UpdateResult, [A]>, input: NoInfer<A>): Promise<UpdateResult> {
  const client = await temporalClient();
  try {
    return await client.workflow.getHandle(migrationWorkflowId(env)).executeUpdate(update, { args: [input], updateId: input.requestId });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as { message?: string } | undefined;
      throw new RequestRejectedError(cause?.message ?? err.message);
    }
    if (err instanceof WorkflowNotFoundError) throw new RequestRejectedError(`no migration workflow is running for ${env}: create one first`);
    throw err;
  }
}

/** Starts the env's migration workflow in `planned` with the configured policy (or the one given); false when one already runs. */
export async function createMigration(env: string, policy?: MigrationPolicy): Promise<boolean> {
  const { cfg } = consoleSettings();
  const client = await temporalClient();
  const scale = process.env.SWITCHYARD_POLICY_SCALE === 'demo' ? 'demo' : 'production';
  try {
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      workflowId: migrationWorkflowId(env),
      taskQueue: cfg.temporal.taskQueue,
      args: [{ env, policy: policy ?? policyFor(env, cfg.environments, scale) }],
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/** Link to the env's workflow in the Temporal web UI, when one is configured (null otherwise). */
export function temporalUiLink(env: string): string | null {
  const { cfg, temporalUiUrl } = consoleSettings();
  if (temporalUiUrl === null) return null;
  return `${temporalUiUrl}/namespaces/${encodeURIComponent(cfg.temporal.namespace)}/workflows/${encodeURIComponent(migrationWorkflowId(env))}`;
}
