/**
 * Policies and healthy figures for migration-workflow tests (plain data: importing this starts
 * nothing, so unit tests of the pure workflow modules use it too).
 */
import type { ScienceFigures, WriterHealth } from '../../../contract/index.js';
import type { MigrationPolicy } from '../../../contract/index.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A policy with production-like durations (time is skipped) and the given overrides. */
export function testPolicy(env: string, overrides: Partial<MigrationPolicy> = {}): MigrationPolicy {
  return {
    promotionOrder: [env],
    retentionMs: 7 * DAY,
    ttlGraceMs: HOUR,
    rollbackWindowMs: DAY,
    bakeMs: { dualWrite: 10 * MINUTE, science: 30 * MINUTE, cutover: 30 * MINUTE },
    scienceSteps: [1, 5, 25, 50, 100],
    cutoverSteps: [10, 50, 100],
    autoRamp: false,
    autoRampIntervalMs: 10 * MINUTE,
    minComparisons: 1000,
    maxMismatchRate: 0.001,
    maxNewStoreErrorRate: 0.001,
    maxWriterLag: 1000,
    evaluationIntervalMs: 5 * MINUTE,
    evaluationWindowMs: 10 * MINUTE,
    minSamplesForRollback: 100,
    rollbackMismatchRate: 0.01,
    rollbackErrorRate: 0.01,
    ackTimeoutMs: 10_000,
    keepOldTables: false,
    tolerance: { relative: 1e-9, absolute: 0 },
    continueAsNewAfter: 500,
    ...overrides,
  };
}

/** Science figures of a healthy new store. */
export function healthyScience(overrides: Partial<ScienceFigures> = {}): ScienceFigures {
  return {
    windowMs: 0,
    comparisons: 5000,
    mismatches: 0,
    mismatchRate: 0,
    newStoreErrorRate: 0,
    servedOld: 5000,
    servedNew: 0,
    candidateErrors: 0,
    candidateTimeouts: 0,
    p99OldMs: 12,
    p99NewMs: 9,
    ...overrides,
  };
}

/** Writers of a healthy dual write. */
export function healthyWriters(overrides: Partial<WriterHealth> = {}): WriterHealth {
  return { cassandraWriters: 2, dynamodbWriters: 2, cassandraLag: 10, dynamodbLag: 12, parityGap: 3, ...overrides };
}
