/**
 * Retry of transient store failures: a few attempts with exponential backoff and full jitter
 * (jitter so that many writer instances hit by the same outage do not retry in lock-step).
 * The defaults live here and nowhere else.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, StoreError } from './store-error.js';

/** How a store retries a transient failure. */
export interface RetryPolicy {
  /** Attempts in all, including the first (>= 1). */
  maxAttempts: number;
  /** Upper bound of the first backoff, in ms. */
  initialDelayMs: number;
  /** Upper bound of any backoff, in ms. */
  maxDelayMs: number;
  /** Growth of the backoff bound per attempt (>= 1). */
  multiplier: number;
}

/** The retry defaults of every store: 5 attempts, backoff bounds 100, 200, 400, 800 ms (about 1.5 s at worst). */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 3_000,
  multiplier: 2,
});

/** Problems with a partial retry policy (empty when valid), each naming the field. */
export function retryPolicyProblems(policy: Partial<RetryPolicy> | undefined): string[] {
  if (policy === undefined) return [];
  const problems: string[] = [];
  const check = (name: keyof RetryPolicy, ok: (v: number) => boolean, expected: string): void => {
    const v = policy[name];
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) problems.push(`retry.${name}: ${String(v)} must be ${expected}`);
  };
  check('maxAttempts', (v) => Number.isInteger(v) && v >= 1 && v <= 20, 'a whole number from 1 to 20');
  check('initialDelayMs', (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  check('maxDelayMs', (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  check('multiplier', (v) => Number.isFinite(v) && v >= 1, 'a number >= 1');
  return problems;
}

/** The defaults overlaid with the given fields (validate with retryPolicyProblems first). */
export function resolveRetryPolicy(policy: Partial<RetryPolicy> | undefined): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, ...policy };
}

/** Backoff before retry number `retry` (1 = first retry): uniform in [0, min(max, initial * multiplier^(retry-1))]. */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const bound = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (retry - 1));
  return Math.round(random() * bound);
}

/** What retryTransient needs besides the action. */
export interface RetryContext {
  policy: RetryPolicy;
  /** True for failures worth another attempt; anything else is rethrown unchanged at once. */
  isTransient: (err: unknown) => boolean;
  /** What is being attempted, for the final error ("write to cassandra switchyard_test.metric_points"). */
  action: string;
  /** Called before each backoff (for logging). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/**
 * Runs `fn` until it succeeds, retrying transient failures with backoff. A non-transient failure is
 * rethrown as is (the caller decides whether it rejects a point or fails the call); transient
 * failures that outlast the policy become a retriable StoreError.
 */
export async function retryTransient<T>(fn: (attempt: number) => Promise<T>, ctx: RetryContext): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!ctx.isTransient(err)) throw err;
      if (attempt >= ctx.policy.maxAttempts) {
        throw new StoreError(`${ctx.action} failed after ${attempt} attempts: ${errorMessage(err)}`, { retriable: true, cause: err });
      }
      const delayMs = backoffDelayMs(ctx.policy, attempt);
      ctx.onRetry?.({ attempt, delayMs, error: err });
      await sleep(delayMs);
    }
  }
}
