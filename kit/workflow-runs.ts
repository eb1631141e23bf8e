/**
 * Runs of a workflow type found by their id prefix, and the words of a failure chain: what the
 * console and the operator CLI both need to list and report verify and repair runs.
 */
import type { Client } from '@temporalio/client';

/** One run as Temporal's visibility list shows it. */
export interface RunSummary {
  workflowId: string;
  /** Temporal's execution status (RUNNING, COMPLETED, FAILED, ...). */
  status: string;
  /** Epoch ms. */
  startTime: number;
}

/**
 * The newest runs of `type` for env, newest first: ids made by `idOf(env, requestId)`. The ids of
 * another env whose name extends env's (`prod-eu` for `prod`) share the prefix and are left out.
 */
export async function listRuns(
  client: Client,
  type: string,
  idOf: (env: string, requestId: string) => string,
  env: string,
  envs: readonly string[],
  limit: number,
): Promise<RunSummary[]> {
  const prefix = idOf(env, '');
  const others = envs.filter((e) => e !== env && e.startsWith(`${env}-`)).map((e) => idOf(e, ''));
  const runs: RunSummary[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = '${type}'` })) {
    if (w.workflowId.startsWith(prefix) && !others.some((o) => w.workflowId.startsWith(o)))
      runs.push({ workflowId: w.workflowId, startTime: w.startTime.getTime(), status: w.status.name });
  }
  return runs.sort((a, b) => b.startTime - a.startTime).slice(0, limit);
}

/** The innermost message of a failure chain (the activity's or the workflow's own words). */
export function innermost(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
