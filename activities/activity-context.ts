/**
 * What the migration workflow's activity families share: a logger per call that names the env,
 * the action and the calling workflow; the env-name check every activity makes before touching a
 * service (a bad name is a non-retryable InvalidInput); and `run`, which turns data-plane errors
 * into Temporal failures (non-retriable ones non-retryable, the rest left for Temporal to retry;
 * see activity-failures.ts) and logs each failure once.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ENV_NAME_PATTERN } from '../contract/index.js';
import { createLogger, type Logger } from '../kit/logger.js';
import type { ActivityDeps } from './activity-deps.js';
import { invalidInput, toActivityFailure } from './activity-failures.js';

/** Default for ActivityDeps.controlReadTimeoutMs. */
const CONTROL_READ_TIMEOUT_MS = 15_000;
/** Default for ActivityDeps.stageQueryTimeoutMs. */
const STAGE_QUERY_TIMEOUT_MS = 5_000;

/** The shared helpers and settings of one activity family, from its deps. */
export interface ActivityContext {
  /** A logger for one call, naming the env, the action and (inside a worker) the calling workflow. */
  logFor(env: string, action: string): Logger;
  /** How long the current activity attempt waited between being scheduled and starting (undefined outside a worker). */
  activityQueuedMs(startedAt: number): number | undefined;
  /** Runs an activity body, turning data-plane errors into Temporal failures. */
  run<T>(log: Logger, fn: () => Promise<T>): Promise<T>;
  /** The env name, or a non-retryable InvalidInput failure. */
  checkEnv(env: unknown): string;
  /** How long reading the control or heartbeat topic to its end may take, ms. */
  readTimeoutMs: number;
  /** How long the state query of another environment's workflow may take, ms. */
  stageQueryTimeoutMs: number;
  /** The clock. */
  now: () => number;
}

/** The helpers of the migration activities, on one family's deps. */
export function activityContext(deps: ActivityDeps): ActivityContext {
  const baseLog = deps.logger ?? createLogger('migration-activities');

  const logFor = (env: string, action: string): Logger => {
    let workflow: { workflowId: string; runId: string; attempt: number } | undefined;
    try {
      const info = Context.current().info;
      // Standalone activities have no workflow execution.
      if (info.workflowExecution) workflow = { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId, attempt: info.attempt };
    } catch {
      // Called outside an activity (tests, scripts): no workflow to name.
    }
    return baseLog.child({ env, action, ...workflow });
  };

  const activityQueuedMs = (startedAt: number): number | undefined => {
    try {
      return Math.max(0, startedAt - Context.current().info.currentAttemptScheduledTimestampMs);
    } catch {
      return undefined;
    }
  };

  const run = async <T>(log: Logger, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const failure = toActivityFailure(err);
      const nonRetryable = failure instanceof ApplicationFailure && failure.nonRetryable;
      log.warn({ err: (err as Error).message, retryable: !nonRetryable }, 'activity failed');
      throw failure;
    }
  };

  const checkEnv = (env: unknown): string => {
    if (typeof env !== 'string' || !ENV_NAME_PATTERN.test(env)) throw invalidInput(`env ${JSON.stringify(env)} must match ${ENV_NAME_PATTERN}`);
    return env;
  };

  return {
    logFor,
    activityQueuedMs,
    run,
    checkEnv,
    readTimeoutMs: deps.controlReadTimeoutMs ?? CONTROL_READ_TIMEOUT_MS,
    stageQueryTimeoutMs: deps.stageQueryTimeoutMs ?? STAGE_QUERY_TIMEOUT_MS,
    now: deps.now ?? Date.now,
  };
}
