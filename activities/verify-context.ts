/**
 * What the verify, repair and operation-record activity families share: their failures (all
 * non-retryable, of a VerifyFailureType), the env-name and minute-range checks, a logger per
 * call, the two stores of an environment opened on the worker's clients, and the control state an
 * operation reads its horizon, retention and tolerance from.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ENV_NAME_PATTERN, VerifyFailureType, type MinuteRange } from '../contract/index.js';
import { createLogger, type Logger } from '../kit/logger.js';
import { readLatestControlState } from '../control/publisher.js';
import type { StorePair } from '../pipeline/verify/range-verify.js';
import type { ControlState } from '../control/index.js';
import { MINUTE_MS } from '../contract/index.js';
import { createMetricStore } from '../pipeline/kernel/stores/create-metric-store.js';
import type { ActivityDeps } from './activity-deps.js';
import { toActivityFailure } from './activity-failures.js';

/** Default for ActivityDeps.controlReadTimeoutMs. */
const CONTROL_READ_TIMEOUT_MS = 15_000;

/** A non-retryable failure of a verify or repair activity. */
export function failure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

function isMinute(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v % MINUTE_MS === 0;
}

/** Why a range is unusable, or null. */
export function rangeProblem(range: MinuteRange | undefined): string | null {
  if (range === undefined) return null;
  if (range === null || typeof range !== 'object') return 'range must be { fromMinute, toMinute }';
  if (!isMinute(range.fromMinute) || !isMinute(range.toMinute)) return 'fromMinute and toMinute must be whole minutes (epoch ms, multiples of 60000)';
  if (range.fromMinute > range.toMinute)
    return `the range ends (${new Date(range.toMinute).toISOString()}) before it begins (${new Date(range.fromMinute).toISOString()})`;
  return null;
}

/** The shared helpers of one verify, repair or operation-record family, from its deps. */
export interface VerifyContext {
  /** A logger for one call, naming the env and the action. */
  logFor(env: string, action: string): Logger;
  /** Runs an activity body, turning data-plane errors into Temporal failures. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** The env name, or a non-retryable InvalidInput failure. */
  checkEnv(env: unknown): string;
  /** Both stores of the env on the worker's clients (closing them leaves the clients open). */
  storesFor(env: string, retentionMs: number, log: Logger): StorePair;
  /** The env's newest control state; a non-retryable InvalidInput failure when it has none. */
  controlOf(env: string): Promise<ControlState>;
  /** The clock. */
  now: () => number;
}

/** The helpers of the verify, repair and operation-record activities, on one family's deps. */
export function verifyContext(deps: ActivityDeps): VerifyContext {
  const { kafka, dynamo } = deps;
  const baseLog = deps.logger ?? createLogger('verify-activities');
  const readTimeoutMs = deps.controlReadTimeoutMs ?? CONTROL_READ_TIMEOUT_MS;
  const now = deps.now ?? Date.now;

  const logFor = (env: string, action: string): Logger => baseLog.child({ env, action });

  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toActivityFailure(err);
    }
  };

  const checkEnv = (env: unknown): string => {
    if (typeof env !== 'string' || !ENV_NAME_PATTERN.test(env))
      throw failure(VerifyFailureType.invalidInput, `env ${JSON.stringify(env)} is not an environment name`);
    return env;
  };

  const storesFor = (env: string, retentionMs: number, log: Logger): StorePair => {
    const shared = { env, retentionMs, logger: log, closeClient: false, now };
    return {
      old: createMetricStore('cassandra', { ...shared, cassandraClient: deps.cassandra }),
      new: createMetricStore('dynamodb', { ...shared, dynamoClient: dynamo }),
    };
  };

  const controlOf = async (env: string) => {
    const control = await readLatestControlState(kafka, env, readTimeoutMs);
    if (control === undefined) throw failure(VerifyFailureType.invalidInput, `no control state for ${env}: has its migration started?`);
    return control;
  };

  return { logFor, run, checkEnv, storesFor, controlOf, now };
}
