/**
 * Migration policy defaults (production and demo scale), in one place. A JSON file named by
 * SWITCHYARD_POLICY_FILE may override any field, per environment: { "<env>": { ...fields } }
 * (`"cohorts": []` moves every app together, as the production defaults do).
 */
import fs from 'node:fs';
import type { CohortSpec, MigrationPolicy } from '../contract/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Production-scale defaults: a week of retention, hour-long bakes, 1→5→25→50→100 ramps. */
export function productionPolicy(promotionOrder: string[]): MigrationPolicy {
  return {
    promotionOrder,
    retentionMs: 7 * DAY,
    ttlGraceMs: DAY,
    rollbackWindowMs: 3 * DAY,
    bakeMs: { dualWrite: HOUR, science: 24 * HOUR, cutover: 24 * HOUR },
    scienceSteps: [1, 5, 25, 50, 100],
    cutoverSteps: [1, 5, 25, 50, 100],
    autoRamp: false,
    autoRampIntervalMs: HOUR,
    minComparisons: 10_000,
    maxMismatchRate: 0.0001,
    maxNewStoreErrorRate: 0.001,
    maxWriterLag: 10_000,
    // A writer further behind than this holds automatic ramping (never a rollback); five minutes
    // of it is an outage, audited and notified.
    maxWriterBehindMs: 30_000,
    writerOutageMs: 5 * MINUTE,
    // Two windows, as multi-window burn-rate alerting: the last minute catches a burst within
    // one evaluation or two, the last 10 minutes a trickle. Each tick is three small queries;
    // every 5 s keeps a rollback within 15 s of the first wrong point (docs/benchmarks-and-sizing.md).
    evaluationIntervalMs: 5_000,
    // The aged-out check scans the old table: every 5 minutes is plenty for a wait of days.
    ttlCheckIntervalMs: 5 * MINUTE,
    evaluationWindowMs: 10 * MINUTE,
    shortWindowMs: MINUTE,
    minSamplesForRollback: 200,
    rollbackMismatchRate: 0.01,
    rollbackErrorRate: 0.01,
    // The cutover gate needs reads the new store really served over its bake.
    minNewStoreReads: 10_000,
    minNewStoreShare: 0.8,
    ackTimeoutMs: 60_000,
    keepOldTables: false,
    tolerance: { relative: 1e-9, absolute: 0 },
    continueAsNewAfter: 500,
    // A full verify (npm run ops -- verify) of data at most a day old before reads move.
    verifyBeforeCutover: { maxAgeMs: 24 * 60 * MINUTE },
  };
}

/** Demo-scale defaults: minutes instead of days, so a whole migration fits in under an hour. */
export function demoPolicy(promotionOrder: string[]): MigrationPolicy {
  return {
    ...productionPolicy(promotionOrder),
    retentionMs: 10 * MINUTE,
    ttlGraceMs: MINUTE,
    rollbackWindowMs: 2 * MINUTE,
    bakeMs: { dualWrite: MINUTE, science: 2 * MINUTE, cutover: 2 * MINUTE },
    autoRamp: true,
    autoRampIntervalMs: 30_000,
    minComparisons: 50,
    maxMismatchRate: 0.001,
    maxNewStoreErrorRate: 0.01,
    maxWriterLag: 5_000,
    maxWriterBehindMs: 15_000,
    writerOutageMs: 2 * MINUTE,
    evaluationWindowMs: 2 * MINUTE,
    ttlCheckIntervalMs: 5_000,
    shortWindowMs: MINUTE,
    minSamplesForRollback: 20,
    minNewStoreReads: 100,
    rollbackMismatchRate: 0.05,
    rollbackErrorRate: 0.05,
    ackTimeoutMs: 30_000,
    continueAsNewAfter: 200,
    // The demo relies on science mode alone; set { maxAgeMs } to try the verify requirement.
    verifyBeforeCutover: null,
    // Reads move in three cohorts (npm start's apps are app-0001..app-0020): two internal apps
    // first, then the apps in a 25 % hash bucket, then everyone else.
    cohorts: DEMO_COHORTS,
  };
}

/** The demo's cohorts: two internal apps, a 25 % bucket of the others, everyone else. */
export const DEMO_COHORTS: CohortSpec[] = [
  { name: 'internal', apps: ['app-0001', 'app-0002'] },
  { name: 'low-risk', bucketPercent: 25 },
  { name: 'everyone-else' },
];

/** The policy of one environment: defaults of the chosen scale, then the override file. */
export function policyFor(env: string, promotionOrder: string[], scale: 'production' | 'demo', file = process.env.SWITCHYARD_POLICY_FILE): MigrationPolicy {
  const base = scale === 'demo' ? demoPolicy(promotionOrder) : productionPolicy(promotionOrder);
  if (!file) return base;
  let doc: Record<string, Partial<MigrationPolicy>>;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Partial<MigrationPolicy>>;
  } catch (err) {
    throw new Error(`SWITCHYARD_POLICY_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  const override = doc[env] ?? {};
  return { ...base, ...override, bakeMs: { ...base.bakeMs, ...(override.bakeMs ?? {}) }, tolerance: { ...base.tolerance, ...(override.tolerance ?? {}) } };
}
