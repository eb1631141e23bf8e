/**
 * Readiness probes of the demo's processes: each asks the process the way a user of it would
 * (its health endpoint, its API, Temporal's view of its pollers), or, for the traffic
 * generators, which serve nothing, reads the progress line they print once traffic flows.
 */
import os from 'node:os';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Probe } from './supervisor.js';

const HTTP_TIMEOUT_MS = 2000;

/** GETs a URL; the status and body, or undefined when nothing answers. */
async function get(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/**
 * A pipeline job (aggregator, writer) started with --metrics-port 0: it logs the port it got, and
 * is ready when /healthz there answers 200 (consuming, no error).
 */
export function jobHealthReady(): Probe {
  return async ({ output }) => {
    const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(output());
    if (!m) return undefined;
    const res = await get(`http://127.0.0.1:${m[1]}/healthz`);
    return res?.status === 200 ? `health http://127.0.0.1:${m[1]}/healthz` : undefined;
  };
}

/** The query service: /v1/envs answers 200 and lists every environment. */
export function queryServiceReady(baseUrl: string, environments: string[]): Probe {
  return async () => {
    const res = await get(`${baseUrl}/v1/envs`);
    if (res?.status !== 200) return undefined;
    const listed = new Set((JSON.parse(res.body) as { environments: { env: string }[] }).environments.map((e) => e.env));
    return environments.every((e) => listed.has(e)) ? `${baseUrl}/v1/envs` : undefined;
  };
}

/**
 * The control worker: Temporal lists a poller with this process's identity (the SDK's default,
 * <pid>@<host>) on the task queue, so workflow tasks will be picked up.
 */
export function temporalWorkerReady(client: Client, namespace: string, taskQueue: string): Probe {
  return async ({ pid }) => {
    const identity = `${pid}@${os.hostname()}`;
    const res = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (res.pollers ?? []).some((p) => p.identity === identity) ? `polling task queue ${taskQueue}` : undefined;
  };
}

/** A process that serves nothing: ready once its output matches (e.g. its first progress line). */
export function outputReady(pattern: RegExp, describe: (m: RegExpExecArray) => string): Probe {
  return async ({ output }) => {
    const m = pattern.exec(output());
    return m ? describe(m) : undefined;
  };
}

/** An HTTP endpoint answering 200 (the console's /api/health). */
export function httpOkReady(url: string): Probe {
  return async () => ((await get(url))?.status === 200 ? url : undefined);
}
