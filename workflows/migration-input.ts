/**
 * Validation of what reaches the migration workflow from outside: its input (env and policy) and
 * the actor of every operator request. Pure functions returning every problem at once, so the
 * workflow can fail with one message that says everything that is wrong.
 */
import { AUTOMATIC_ACTOR, cohortProblems, ENV_NAME_PATTERN, STAGES } from '../contract/index.js';
import type { Actor, MigrationInput, MigrationPolicy } from '../contract/index.js';

/** Longest identity / request id and reason accepted in a request. */
const MAX_ID_LENGTH = 200;
const MAX_REASON_LENGTH = 2000;

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRate = (v: unknown): v is number => isFiniteNumber(v) && v >= 0 && v <= 1;

function checkSteps(name: string, steps: unknown, problems: string[]): void {
  if (!Array.isArray(steps) || steps.length === 0) {
    problems.push(`${name} must be a non-empty array of percents`);
    return;
  }
  const values = steps as unknown[];
  if (!values.every((s) => Number.isInteger(s) && (s as number) > 0 && (s as number) <= 100)) {
    problems.push(`${name} must hold integers in 1..100 (got ${JSON.stringify(values)})`);
    return;
  }
  const nums = values as number[];
  if (!nums.every((s, i) => i === 0 || s > (nums[i - 1] as number))) problems.push(`${name} must be strictly ascending (got ${JSON.stringify(nums)})`);
  if (nums[nums.length - 1] !== 100) problems.push(`${name} must end at 100 (got ${JSON.stringify(nums)})`);
}

/** Every problem with a policy; empty when it is usable. */
export function policyProblems(env: string, policy: MigrationPolicy | undefined): string[] {
  if (policy === null || typeof policy !== 'object') return ['policy is missing'];
  const problems: string[] = [];
  const positive = (name: string, v: unknown): void => {
    if (!isFiniteNumber(v) || v <= 0) problems.push(`${name} must be a positive number of ms (got ${String(v)})`);
  };
  const nonNegative = (name: string, v: unknown): void => {
    if (!isFiniteNumber(v) || v < 0) problems.push(`${name} must be a non-negative number (got ${String(v)})`);
  };
  const rate = (name: string, v: unknown): void => {
    if (!isRate(v)) problems.push(`${name} must be a rate in [0, 1] (got ${String(v)})`);
  };
  const count = (name: string, v: unknown): void => {
    if (!Number.isInteger(v) || (v as number) < 0) problems.push(`${name} must be a non-negative integer (got ${String(v)})`);
  };

  const order: unknown = policy.promotionOrder;
  if (!Array.isArray(order) || order.length === 0) problems.push('promotionOrder must be a non-empty array of environment names');
  else {
    const bad = (order as unknown[]).filter((e) => typeof e !== 'string' || !ENV_NAME_PATTERN.test(e));
    if (bad.length > 0) problems.push(`promotionOrder has invalid environment names: ${JSON.stringify(bad)}`);
    if (new Set(order).size !== order.length) problems.push(`promotionOrder has duplicates: ${JSON.stringify(order)}`);
    if (!(order as unknown[]).includes(env)) problems.push(`promotionOrder ${JSON.stringify(order)} does not include the environment "${env}"`);
  }
  positive('retentionMs', policy.retentionMs);
  nonNegative('ttlGraceMs', policy.ttlGraceMs);
  nonNegative('rollbackWindowMs', policy.rollbackWindowMs);
  const bake: unknown = policy.bakeMs;
  if (bake === null || typeof bake !== 'object') problems.push('bakeMs must be { dualWrite, science, cutover }');
  else {
    nonNegative('bakeMs.dualWrite', policy.bakeMs.dualWrite);
    nonNegative('bakeMs.science', policy.bakeMs.science);
    nonNegative('bakeMs.cutover', policy.bakeMs.cutover);
  }
  checkSteps('scienceSteps', policy.scienceSteps, problems);
  checkSteps('cutoverSteps', policy.cutoverSteps, problems);
  if (typeof policy.autoRamp !== 'boolean') problems.push('autoRamp must be a boolean');
  positive('autoRampIntervalMs', policy.autoRampIntervalMs);
  count('minComparisons', policy.minComparisons);
  rate('maxMismatchRate', policy.maxMismatchRate);
  rate('maxNewStoreErrorRate', policy.maxNewStoreErrorRate);
  nonNegative('maxWriterLag', policy.maxWriterLag);
  positive('evaluationIntervalMs', policy.evaluationIntervalMs);
  if (policy.ttlCheckIntervalMs !== undefined) positive('ttlCheckIntervalMs', policy.ttlCheckIntervalMs);
  positive('evaluationWindowMs', policy.evaluationWindowMs);
  count('minSamplesForRollback', policy.minSamplesForRollback);
  rate('rollbackMismatchRate', policy.rollbackMismatchRate);
  rate('rollbackErrorRate', policy.rollbackErrorRate);
  // A rollback threshold below the gate's would roll back what the gate lets through.
  if (isRate(policy.rollbackMismatchRate) && isRate(policy.maxMismatchRate) && policy.rollbackMismatchRate < policy.maxMismatchRate) {
    problems.push(`rollbackMismatchRate (${policy.rollbackMismatchRate}) must not be below maxMismatchRate (${policy.maxMismatchRate})`);
  }
  if (isRate(policy.rollbackErrorRate) && isRate(policy.maxNewStoreErrorRate) && policy.rollbackErrorRate < policy.maxNewStoreErrorRate) {
    problems.push(`rollbackErrorRate (${policy.rollbackErrorRate}) must not be below maxNewStoreErrorRate (${policy.maxNewStoreErrorRate})`);
  }
  if (policy.shortWindowMs !== undefined) {
    positive('shortWindowMs', policy.shortWindowMs);
    if (typeof policy.evaluationWindowMs === 'number' && policy.shortWindowMs > policy.evaluationWindowMs) {
      problems.push(`shortWindowMs (${policy.shortWindowMs}) must not be longer than evaluationWindowMs (${policy.evaluationWindowMs})`);
    }
  }
  if (policy.minNewStoreReads !== undefined) count('minNewStoreReads', policy.minNewStoreReads);
  if (policy.minNewStoreShare !== undefined) rate('minNewStoreShare', policy.minNewStoreShare);
  positive('ackTimeoutMs', policy.ackTimeoutMs);
  if (typeof policy.keepOldTables !== 'boolean') problems.push('keepOldTables must be a boolean');
  const tolerance: unknown = policy.tolerance;
  if (tolerance === null || typeof tolerance !== 'object') problems.push('tolerance must be { relative, absolute }');
  else {
    nonNegative('tolerance.relative', policy.tolerance.relative);
    nonNegative('tolerance.absolute', policy.tolerance.absolute);
  }
  const vbc: unknown = policy.verifyBeforeCutover;
  if (vbc !== undefined && vbc !== null) {
    const maxAge = (vbc as { maxAgeMs?: unknown }).maxAgeMs;
    if (typeof vbc !== 'object' || typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0)
      problems.push('verifyBeforeCutover must be null or { maxAgeMs } with maxAgeMs a positive number of ms');
  }
  problems.push(...cohortProblems(policy.cohorts));
  if (!Number.isInteger(policy.continueAsNewAfter) || policy.continueAsNewAfter < 1) {
    problems.push(`continueAsNewAfter must be a positive integer (got ${String(policy.continueAsNewAfter)})`);
  }
  return problems;
}

/** Every problem with a workflow input; empty when it is usable. */
export function inputProblems(input: MigrationInput | undefined): string[] {
  if (input === null || typeof input !== 'object') return ['input must be { env, policy }'];
  const problems: string[] = [];
  const env: unknown = input.env;
  if (typeof env !== 'string' || !ENV_NAME_PATTERN.test(env)) {
    problems.push(`env must match ${String(ENV_NAME_PATTERN)} (got ${JSON.stringify(env)})`);
  }
  problems.push(...policyProblems(String(env), input.policy));
  if (input.carried !== undefined) {
    const carried: unknown = input.carried;
    if (carried === null || typeof carried !== 'object') problems.push('carried must be a MigrationState');
    else {
      if (input.carried.env !== env) problems.push(`carried state is for env "${String(input.carried.env)}", not "${String(env)}"`);
      if (!(STAGES as readonly string[]).includes(input.carried.stage)) problems.push(`carried state has unknown stage "${String(input.carried.stage)}"`);
    }
  }
  return problems;
}

/** Why an actor cannot make a request, or null when it can. */
export function actorProblem(actor: Actor | undefined): string | null {
  if (actor === null || typeof actor !== 'object') return 'the request must carry an actor { identity, reason, requestId }';
  const { identity, reason, requestId } = actor as Partial<Record<keyof Actor, unknown>>;
  if (typeof identity !== 'string' || identity.trim() === '') return 'identity is required (who is asking)';
  if (identity.length > MAX_ID_LENGTH) return `identity is longer than ${MAX_ID_LENGTH} characters`;
  if (identity === AUTOMATIC_ACTOR) return `identity "${AUTOMATIC_ACTOR}" is reserved for the workflow's own actions`;
  if (typeof reason !== 'string' || reason.trim() === '') return 'reason is required (why; it goes into the audit log)';
  if (reason.length > MAX_REASON_LENGTH) return `reason is longer than ${MAX_REASON_LENGTH} characters`;
  if (typeof requestId !== 'string' || requestId.trim() === '') return 'requestId is required (it makes a repeated request take effect once)';
  if (requestId.length > MAX_ID_LENGTH) return `requestId is longer than ${MAX_ID_LENGTH} characters`;
  return null;
}
