/**
 * Representative runs of the migration workflow whose histories are kept in
 * test/fixtures/histories/ for replay tests. `RECORD_HISTORIES=1 node --import tsx --test
 * test/workflows/replay.test.ts` (or RECORD_HISTORIES=<name>,... for some) runs them against the time-skipping server and rewrites the
 * files; do that after a deliberate, compatible change (a patch() or a new workflow type for an
 * incompatible one), never to make a failing replay pass.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  advanceUpdate,
  approveDecommissionUpdate,
  pauseUpdate,
  resumeUpdate,
  rollbackUpdate,
  setFaultUpdate,
  setRampUpdate,
  startUpdate,
} from '../../../contract/migration-messages.js';
import { historyToJsonText } from './history-json.js';
import { DAY, MINUTE, MigrationTest, actor, driveTo, healthyScience, healthyWriters, testPolicy } from './migration-harness.js';

/** Where the recorded histories live. */
export const HISTORY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/histories');

interface Scenario {
  name: string;
  /** Drives the workflow; returns the run ids to record (the last run when omitted). */
  run: (t: MigrationTest) => Promise<string[] | void>;
}

const SCENARIOS: Scenario[] = [
  {
    // Every stage, with automatic ramping, the TTL timer and a four-eyes approval.
    name: 'full-run',
    run: async (t) => {
      const policy = testPolicy(t.env, { autoRamp: true, bakeMs: { dualWrite: 10 * MINUTE, science: 20 * MINUTE, cutover: 20 * MINUTE } });
      const handle = await t.start(policy);
      await t.update(startUpdate, actor('alice', 'OPS-1'));
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      await t.update(advanceUpdate, { ...actor('alice', 'writers healthy'), from: 'dual_write' });
      await t.advanceTime(policy.autoRampIntervalMs + policy.evaluationIntervalMs);
      await t.waitFor((s) => s.ramp === 5, 'an automatic ramp step');
      await t.update(setRampUpdate, { ...actor('alice', 'skip ahead'), percent: 100 });
      await t.advanceTime(policy.bakeMs.science + MINUTE);
      await t.update(advanceUpdate, { ...actor('alice', 'science clean'), from: 'science' });
      await t.update(setRampUpdate, { ...actor('alice', 'all reads'), percent: 100 });
      await t.advanceTime(policy.bakeMs.cutover + MINUTE);
      await t.update(advanceUpdate, { ...actor('alice', 'cutover clean'), from: 'cutover' });
      const { ttlGateAt } = await t.state();
      await t.advanceTime((ttlGateAt ?? 0) - (await t.testEnv.currentTimeMs()) + MINUTE);
      await t.waitFor((s) => s.gates[0]?.passed === true, 'the TTL gate');
      await t.update(advanceUpdate, { ...actor('alice', 'aged out'), from: 'ttl_wait' });
      await t.update(approveDecommissionUpdate, actor('bob', 'approved'));
      await handle.result();
    },
  },
  {
    // Automatic rollback in science and in cutover, operator pause, resume and rollback.
    name: 'rollbacks',
    run: async (t) => {
      const policy = testPolicy(t.env);
      await t.start(policy);
      await driveTo(t, policy, 'science');
      await t.update(setRampUpdate, { ...actor('alice', 'more'), percent: 50 });
      t.world.science = healthyScience({ comparisons: 2000, mismatches: 100, mismatchRate: 0.05 });
      await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((s) => s.rolledBack !== null, 'the automatic rollback in science');
      t.world.science = healthyScience();
      await t.update(resumeUpdate, actor('bob', 'fixed'));
      await t.update(pauseUpdate, actor('bob', 'hold'));
      await t.update(setRampUpdate, { ...actor('bob', 'full'), percent: 100 });
      await t.advanceTime(policy.bakeMs.science + MINUTE);
      await t.update(advanceUpdate, { ...actor('bob', 'clean'), from: 'science' });
      t.world.science = healthyScience({ comparisons: 3000, newStoreErrorRate: 0.2 });
      await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((s) => s.rolledBack !== null, 'the automatic rollback in cutover');
      t.world.science = healthyScience();
      await t.update(resumeUpdate, actor('bob', 'capacity raised'));
      await t.update(rollbackUpdate, actor('bob', 'one more look'));
    },
  },
  {
    // Rejections the handler makes (gates, promotion order), repeats, an unacknowledged publication.
    name: 'rejections-and-repeats',
    run: async (t) => {
      const policy = testPolicy(t.env, { promotionOrder: ['pred', t.env] });
      t.world.envStages.pred = 'planned';
      await t.start(policy);
      await t.update(startUpdate, actor('alice')).catch(() => undefined);
      const start = { ...actor('alice', 'override: pred frozen'), overridePromotionOrder: true };
      await t.update(startUpdate, start);
      await t.handle().executeUpdate(startUpdate, { args: [start], updateId: 'repeat-of-start' });
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      t.world.envStages.pred = 'complete';
      t.world.writers = healthyWriters({ dynamodbLag: 50_000 });
      await t.update(advanceUpdate, { ...actor('alice'), from: 'dual_write' }).catch(() => undefined);
      t.world.writers = healthyWriters();
      t.world.failPublish = (input) => (input.patch.sciencePercent === 1 ? 'query-b still on version 2' : undefined);
      await t.update(advanceUpdate, { ...actor('alice'), from: 'dual_write' }).catch(() => undefined);
      t.world.failPublish = () => undefined;
      await t.update(advanceUpdate, { ...actor('alice'), from: 'dual_write' });
      await t.update(rollbackUpdate, actor('alice', 'changed my mind')).catch(() => undefined);
    },
  },
  {
    // Continue-as-new: both runs of the chain.
    name: 'continue-as-new',
    run: async (t) => {
      const policy = testPolicy(t.env, { autoRamp: true, continueAsNewAfter: 3, rollbackWindowMs: DAY });
      const handle = await t.start(policy);
      await driveTo(t, policy, 'science');
      for (let i = 0; i < 4; i++) await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((st) => st.evaluations.length >= 4, 'evaluations across runs');
      await t.update(pauseUpdate, actor('alice', 'hold'));
      const last = (await t.handle().describe()).runId;
      if (last === handle.firstExecutionRunId) throw new Error('the continue-as-new scenario did not continue as new');
      return [handle.firstExecutionRunId, last];
    },
  },
  {
    // Refusals judged by the handler and audited (audit-rejections): stale page, promotion order,
    // a gate not met, self-approval.
    name: 'audited-rejections',
    run: async (t) => {
      const policy = testPolicy(t.env, { promotionOrder: ['pred', t.env] });
      t.world.envStages.pred = 'planned';
      await t.start(policy);
      await t.update(advanceUpdate, { ...actor('alice'), from: 'science' }).catch(() => undefined);
      await t.update(startUpdate, actor('alice')).catch(() => undefined);
      t.world.envStages.pred = 'complete';
      await t.update(startUpdate, actor('alice'));
      await t.update(startUpdate, actor('alice')).catch(() => undefined);
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      t.world.writers = healthyWriters({ dynamodbLag: 50_000 });
      await t.update(advanceUpdate, { ...actor('alice'), from: 'dual_write' }).catch(() => undefined);
      await t.update(setFaultUpdate, { ...actor('alice', 'demo'), newWriterCorruptionRate: 0.2 });
      await t.update(setFaultUpdate, { ...actor('alice', 'typo'), newWriterCorruptionRate: 7 }).catch(() => undefined);
    },
  },
  {
    // Two-window evaluation (gates-v2): a quiet step ramped on its own comparisons, then a burst
    // in cutover rolled back on the short window.
    name: 'gates-v2-windows',
    run: async (t) => {
      const policy = testPolicy(t.env, { autoRamp: true, shortWindowMs: MINUTE, minNewStoreReads: 100 });
      await t.start(policy);
      await driveTo(t, policy, 'science');
      t.world.scienceFor = (windowMs) => healthyScience({ comparisons: windowMs === policy.evaluationWindowMs || windowMs === MINUTE ? 3 : 150 });
      await t.tickUntil(policy.evaluationIntervalMs, (s) => s.ramp === 5, 'a quiet step ramped on its own comparisons');
      t.world.scienceFor = null;
      await t.update(setRampUpdate, { ...actor('alice', 'full'), percent: 100 });
      await t.advanceTime(policy.bakeMs.science + MINUTE);
      await t.update(advanceUpdate, { ...actor('alice', 'clean'), from: 'science' });
      t.world.scienceFor = (windowMs) =>
        windowMs <= MINUTE
          ? healthyScience({ comparisons: 300, mismatches: 60, mismatchRate: 0.2 })
          : healthyScience({ comparisons: 100_000, mismatches: 60, mismatchRate: 0.0006 });
      await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((s) => s.rolledBack !== null, 'the burst rolled back on the short window');
    },
  },
  {
    // ttl-wait-rollback: the TTL wait watched while its rollback window is open (healthy ticks,
    // then a burst rolls every read back to the old store by itself), then resumed.
    name: 'ttl-wait-watch',
    run: async (t) => {
      const policy = testPolicy(t.env, { shortWindowMs: MINUTE });
      await t.start(policy);
      await driveTo(t, policy, 'ttl_wait');
      await t.advanceTime(3 * policy.evaluationIntervalMs);
      t.world.scienceFor = (windowMs) =>
        windowMs <= MINUTE
          ? healthyScience({ comparisons: 400, mismatches: 80, mismatchRate: 0.2 })
          : healthyScience({ comparisons: 100_000, mismatches: 80, mismatchRate: 0.0008 });
      await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((s) => s.rolledBack !== null && s.stage === 'cutover', 'the watch rolled ttl_wait back');
      t.world.scienceFor = null;
      await t.update(resumeUpdate, actor('alice', 'new writer fixed, store repaired'));
    },
  },
  {
    // Cohorts: science and cutover cohort by cohort (automatic steps in order), an automatic
    // rollback of one cohort on its own comparisons, a resume, a hold and a move to cutover.
    name: 'cohorts',
    run: async (t) => {
      const policy = testPolicy(t.env, {
        autoRamp: true,
        scienceSteps: [50, 100],
        cutoverSteps: [50, 100],
        cohorts: [{ name: 'internal', apps: ['app-0001', 'app-0002'] }, { name: 'low-risk', bucketPercent: 25 }, { name: 'everyone-else' }],
      });
      await t.start(policy);
      await driveTo(t, policy, 'dual_write');
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      await t.update(advanceUpdate, { ...actor('alice', 'writers healthy'), from: 'dual_write' });
      await t.tickUntil(policy.evaluationIntervalMs, (s) => (s.cohorts?.[1]?.ramp ?? 0) > 0, 'low-risk begins science', 12);
      await t.update(pauseUpdate, { ...actor('alice', 'hold everyone else'), cohort: 'everyone-else' });
      t.world.cohortScience = (cohort) =>
        cohort === 'low-risk' ? healthyScience({ comparisons: 2000, mismatches: 200, mismatchRate: 0.1 }) : healthyScience();
      await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((s) => s.cohorts?.[1]?.rolledBack != null, 'low-risk rolled back');
      t.world.cohortScience = null;
      await t.update(resumeUpdate, { ...actor('bob', 'fixed'), cohort: 'low-risk' });
      await t.advanceTime(policy.bakeMs.science);
      await t.update(advanceUpdate, { ...actor('alice', 'internal first'), from: 'science' });
      await t.update(setRampUpdate, { ...actor('alice', 'internal all'), percent: 100, cohort: 'internal' });
    },
  },
];

/**
 * Runs the scenarios and writes their histories as <scenario>[-<n>].json: all of them with
 * RECORD_HISTORIES=1, or only those named (RECORD_HISTORIES=gates-v2-windows,...), so a new
 * scenario can be recorded without rewriting the histories of the code before a patch.
 */
export async function recordHistories(testEnv: TestWorkflowEnvironment, bundle: WorkflowBundleWithSourceMap): Promise<string[]> {
  fs.mkdirSync(HISTORY_DIR, { recursive: true });
  const written: string[] = [];
  const only = process.env.RECORD_HISTORIES && process.env.RECORD_HISTORIES !== '1' ? process.env.RECORD_HISTORIES.split(',') : null;
  for (const [i, scenario] of SCENARIOS.entries()) {
    if (only && !only.includes(scenario.name)) continue;
    const t = new MigrationTest(testEnv, bundle, `replay-${i + 1}`);
    let runIds: string[] | void = undefined;
    await t.run(async () => {
      runIds = await scenario.run(t);
    });
    const ids: (string | undefined)[] = runIds ?? [undefined];
    for (const [n, runId] of ids.entries()) {
      const history = await testEnv.client.workflow.getHandle(t.workflowId, runId).fetchHistory();
      const file = path.join(HISTORY_DIR, `${scenario.name}${ids.length > 1 ? `-${n + 1}` : ''}.json`);
      fs.writeFileSync(file, historyToJsonText(history));
      written.push(file);
    }
  }
  return written;
}
