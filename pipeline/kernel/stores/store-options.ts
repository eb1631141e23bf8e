/**
 * Options every store takes, and the up-front checks the stores and the factory share, so a bad
 * setting fails at construction with a message naming it rather than at the first write.
 */
import type { Logger } from 'pino';
import { ENV_NAME_PATTERN } from '../../../contract/index.js';
import { retryPolicyProblems, type RetryPolicy } from './retry-policy.js';
import { StoreOptionsError } from './store-error.js';

/** Options shared by every MetricStore implementation. */
export interface StoreOptions {
  /** Environment name: lower-case letters, digits and '-', starting with a letter (as in SWITCHYARD_ENVS). */
  env: string;
  /** Retention: a point expires at minute + retentionMs. A positive whole number of seconds, in ms. */
  retentionMs: number;
  /** Clock, epoch ms (default Date.now); tests pass a fake one to move past expiry. */
  now?: () => number;
  /** Overrides of DEFAULT_RETRY_POLICY. */
  retry?: Partial<RetryPolicy>;
  /** Where retries and rejections are logged; silent when absent. */
  logger?: Logger;
}

/** Longest retention: Cassandra's maximum TTL (20 years), in ms. */
export const MAX_RETENTION_MS = 630_720_000 * 1000;

/** Problems with the shared options (empty when valid), each naming the option. */
export function storeOptionProblems(opts: Partial<StoreOptions> | undefined): string[] {
  if (opts === undefined || opts === null || typeof opts !== 'object') return ['options: an options object is required'];
  const problems: string[] = [];
  if (typeof opts.env !== 'string' || !ENV_NAME_PATTERN.test(opts.env)) {
    problems.push(`env: '${String(opts.env)}' must be lower-case letters, digits or '-', starting with a letter, at most 31 characters`);
  }
  const r = opts.retentionMs;
  // Whole seconds because both databases count TTL in seconds: a fraction would make DynamoDB's
  // expiresAt (rounded up to a second) and the millisecond expiry check disagree near the edge.
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r <= 0 || r % 1000 !== 0 || r > MAX_RETENTION_MS) {
    problems.push(`retentionMs: ${String(r)} must be a positive whole number of seconds in ms, at most ${MAX_RETENTION_MS} (20 years)`);
  }
  if (opts.now !== undefined && typeof opts.now !== 'function') problems.push('now: must be a function returning epoch ms');
  problems.push(...retryPolicyProblems(opts.retry));
  return problems;
}

/** Throws a StoreOptionsError listing every problem, if there are any. */
export function assertNoProblems(problems: string[]): void {
  if (problems.length > 0) throw new StoreOptionsError(problems);
}

/** Problems with an optional whole-number option (empty when valid or absent). */
export function wholeNumberProblems(name: string, value: unknown, min: number, max: number): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return [`${name}: ${String(value)} must be a whole number from ${min} to ${max}`];
  }
  return [];
}
