import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { advanceUpdate, pauseUpdate, resumeUpdate, rollbackUpdate, setFaultUpdate, setRampUpdate, startUpdate } from '../../contract/migration-messages.js';
import type { AdvanceInput, CohortState, ControlCohort, MigrationPolicy, MigrationStateView, Stage } from '../../contract/index.js';
import {
  MINUTE,
  MigrationTest,
  actor,
  assertRejected,
  bundleWorkflows,
  createTestEnvironment,
  healthyScience,
  testPolicy,
} from './support/migration-harness.js';

// A migration that moves its apps in cohorts (internal apps, a hash bucket, everyone else): the
// cohorts ramp in order, each judged on its own comparisons, an automatic rollback takes back
// only the cohort whose evidence failed, and the operator acts on one cohort or on all of them.

const advance = (identity: string, from: Stage, extra: Partial<AdvanceInput> = {}): AdvanceInput => ({ ...actor(identity), from, ...extra });
const TIMEOUT = { timeout: 90_000 };

const COHORTS = [{ name: 'internal', apps: ['app-0001', 'app-0002'] }, { name: 'low-risk', bucketPercent: 25 }, { name: 'everyone-else' }];

/** A policy with three cohorts and short ramps (autoRamp as given). */
function cohortPolicy(env: string, overrides: Partial<MigrationPolicy> = {}): MigrationPolicy {
  return testPolicy(env, { scienceSteps: [50, 100], cutoverSteps: [50, 100], cohorts: COHORTS, ...overrides });
}

/** "<stage> <ramp>" of every cohort, in order. */
const places = (s: MigrationStateView): string[] => (s.cohorts ?? []).map((c: CohortState) => `${c.name} ${c.stage} ${c.ramp}`);

/** The cohorts' rows of the last publication that carried them: "name science/cutover". */
function publishedRows(t: MigrationTest): string[] {
  const rows = t.world
    .patches()
    .map((p) => p.cohorts)
    .filter((c): c is ControlCohort[] => c !== undefined)
    .at(-1);
  return (rows ?? []).map((r) => `${r.name} ${r.sciencePercent}/${r.cutoverPercent}`);
}

describe('migration workflow with cohorts', () => {
  let testEnv: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;
  let envCounter = 0;
  const newTest = (): MigrationTest => new MigrationTest(testEnv, bundle, `coh-${++envCounter}`);

  before(async () => {
    testEnv = await createTestEnvironment();
    bundle = await bundleWorkflows();
  });
  after(async () => {
    await testEnv?.teardown();
  });

  /** Starts, bakes dual write and enters science. */
  async function intoScience(t: MigrationTest, policy: MigrationPolicy): Promise<void> {
    await t.start(policy);
    await t.update(startUpdate, actor('alice', 'begin'));
    await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
    await t.update(advanceUpdate, advance('alice', 'dual_write'));
  }

  it('ramps the cohorts in order, each on its own comparisons, and moves the environment when the last one leaves science', TIMEOUT, async () => {
    const t = newTest();
    const policy = cohortPolicy(t.env, { autoRamp: true });
    await t.run(async () => {
      await intoScience(t, policy);
      let s = await t.state();
      assert.equal(s.stage, 'science');
      assert.deepEqual(places(s), ['internal science 50', 'low-risk science 0', 'everyone-else science 0']);
      // The environment-wide fields stay those of the least exposed cohort; the rows carry each one's.
      assert.equal(s.ramp, 0);
      assert.deepEqual(t.world.patches().at(-1), {
        cohorts: [
          { ...COHORTS[0], sciencePercent: 50, cutoverPercent: 0 },
          { ...COHORTS[1], sciencePercent: 0, cutoverPercent: 0 },
          { ...COHORTS[2], sciencePercent: 0, cutoverPercent: 0 },
        ],
      });
      const advanced = t.world.audits.at(-1);
      assert.deepEqual([advanced?.action, advanced?.evidence.cohort], ['advance', 'internal']);

      // Automatic ramping: internal to 100, and only then low-risk begins; everyone else waits for low-risk.
      s = await t.tickUntil(policy.evaluationIntervalMs, (st) => st.cohorts?.[0]?.ramp === 100, 'internal at science 100', 8);
      assert.equal(s.cohorts?.[2]?.ramp, 0);
      s = await t.tickUntil(policy.evaluationIntervalMs, (st) => (st.cohorts?.[1]?.ramp ?? 0) > 0, 'low-risk begins science', 4);
      assert.deepEqual(places(s).slice(0, 2), ['internal science 100', 'low-risk science 50']);
      assert.equal(s.cohorts?.[2]?.ramp, 0, 'everyone else waits until low-risk is at 100 %');
      assert.match(s.cohorts?.[2]?.next ?? '', /cohort low-risk is at science 50 %/);
      // Each cohort was judged on its own figures (readScience named it).
      assert.ok(t.world.scienceCohorts.includes('internal'));
      assert.ok(t.world.scienceCohorts.includes('low-risk'));
      const autoRamps = t.world.audits.filter((a) => a.action === 'auto_ramp').map((a) => `${String(a.evidence.cohort)} ${String(a.evidence.to)}`);
      assert.deepEqual(autoRamps.slice(0, 2), ['internal 100', 'low-risk 50']);

      // Moving a cohort to cutover goes in order: low-risk may not go before internal is at cutover 100 %.
      s = await t.tickUntil(policy.evaluationIntervalMs, (st) => (st.cohorts ?? []).every((c) => c.ramp === 100), 'every cohort at science 100', 12);
      await t.advanceTime(policy.bakeMs.science + MINUTE);
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'science', { cohort: 'low-risk' })),
        /cohorts move to cutover in order: cohort internal is at science 100 %/,
      );
      const moved = await t.update(advanceUpdate, advance('alice', 'science'));
      assert.equal(moved.cohort, 'internal');
      assert.equal(moved.stage, 'science', 'the environment stays in science while a cohort is left in it');
      assert.deepEqual(publishedRows(t), ['internal 100/50', 'low-risk 100/0', 'everyone-else 100/0']);
      assert.ok(t.world.scienceCohorts.includes('internal'));
      const entry = t.world.audits.at(-1);
      assert.deepEqual(
        [entry?.action, entry?.evidence.cohort, entry?.evidence.cohortFrom, entry?.evidence.cohortTo],
        ['advance', 'internal', 'science', 'cutover'],
      );

      // internal ramps its cutover to 100; then low-risk, then everyone else (the environment with it).
      await t.tickUntil(policy.evaluationIntervalMs, (st) => st.cohorts?.[0]?.ramp === 100 && st.cohorts[0].stage === 'cutover', 'internal at cutover 100', 6);
      await t.advanceTime(policy.bakeMs.science);
      assert.equal((await t.update(advanceUpdate, advance('alice', 'science', { cohort: 'low-risk' }))).cohort, 'low-risk');
      await t.tickUntil(policy.evaluationIntervalMs, (st) => st.cohorts?.[1]?.ramp === 100 && st.cohorts[1].stage === 'cutover', 'low-risk at cutover 100', 6);
      const last = await t.update(advanceUpdate, advance('alice', 'science'));
      assert.deepEqual([last.cohort, last.stage], ['everyone-else', 'cutover']);
      // The environment's cutover: science stays at 100 %, the rows carry each cohort's cutover.
      assert.deepEqual(t.world.patches().at(-1)?.sciencePercent, 100);
      assert.deepEqual(publishedRows(t), ['internal 100/100', 'low-risk 100/100', 'everyone-else 100/50']);
      s = await t.state();
      assert.equal(s.ramp, 50, "the environment's ramp is the least exposed cohort's");
    });
  });

  it('rolls back only the cohort whose comparisons failed, leaving the cohort already cut over in place', TIMEOUT, async () => {
    const t = newTest();
    const policy = cohortPolicy(t.env, { autoRamp: false });
    await t.run(async () => {
      await intoScience(t, policy);
      await t.update(setRampUpdate, { ...actor('alice', 'internal all'), percent: 100, cohort: 'internal' });
      await t.advanceTime(policy.bakeMs.science + MINUTE);
      await t.update(advanceUpdate, advance('alice', 'science'));
      await t.update(setRampUpdate, { ...actor('alice', 'internal cut over'), percent: 100, cohort: 'internal' });
      await t.update(setRampUpdate, { ...actor('alice', 'low-risk compared'), percent: 50, cohort: 'low-risk' });
      const publishedBefore = t.world.publications.length;

      // Cohort 2's comparisons go bad; internal's and everyone else's stay clean.
      t.world.cohortScience = (cohort) =>
        cohort === 'low-risk' ? healthyScience({ comparisons: 2000, mismatches: 200, mismatchRate: 0.1 }) : healthyScience();
      await t.advanceTime(policy.evaluationIntervalMs);
      const s = await t.waitFor((st) => st.cohorts?.[1]?.rolledBack != null, 'low-risk rolled back');
      assert.deepEqual(places(s), ['internal cutover 100', 'low-risk science 0', 'everyone-else science 0']);
      assert.equal(s.cohorts?.[1]?.paused, true);
      assert.equal(s.cohorts?.[0]?.rolledBack, null);
      assert.equal(s.rolledBack, null, 'the environment itself is not rolled back');
      assert.equal(t.world.publications.length, publishedBefore + 1, 'one publication: the rollback');
      assert.deepEqual(publishedRows(t), ['internal 100/100', 'low-risk 0/0', 'everyone-else 0/0']);
      const rb = t.world.audits.find((a) => a.action === 'automatic_rollback');
      assert.equal(rb?.actor, 'automatic');
      assert.equal(rb?.evidence.cohort, 'low-risk');
      assert.match(rb?.reason ?? '', /^cohort low-risk: mismatch rate 10% > rollback threshold 1%/);

      // A later tick keeps it so (nothing else rolls back; internal's evidence is clean).
      await t.advanceTime(2 * policy.evaluationIntervalMs);
      assert.deepEqual(places(await t.state()), ['internal cutover 100', 'low-risk science 0', 'everyone-else science 0']);
      assert.equal(t.world.audits.filter((a) => a.action === 'automatic_rollback').length, 1);
      await assertRejected(
        t.update(setRampUpdate, { ...actor('alice'), percent: 50, cohort: 'low-risk' }),
        /cohort low-risk was rolled back automatically .*: resume it first/,
      );

      // Internal's own evidence failing rolls internal back too (its cutover to 0 %).
      t.world.cohortScience = (cohort) => healthyScience(cohort === 'everyone-else' ? {} : { comparisons: 2000, mismatches: 200, mismatchRate: 0.1 });
      await t.advanceTime(policy.evaluationIntervalMs);
      const after = await t.waitFor((st) => st.cohorts?.[0]?.rolledBack != null, 'internal rolled back on its own evidence');
      assert.deepEqual(places(after).slice(0, 1), ['internal cutover 0']);

      // Resuming one cohort restarts it at its stage's first step.
      t.world.cohortScience = null;
      const resumed = await t.update(resumeUpdate, { ...actor('bob', 'fixed'), cohort: 'low-risk' });
      assert.equal(resumed.cohort, 'low-risk');
      assert.deepEqual(places(await t.state()).slice(1, 2), ['low-risk science 50']);
      assert.equal((await t.state()).cohorts?.[0]?.rolledBack !== null, true, 'internal stays rolled back until it is resumed');
    });
  });

  it('lets the operator hold, roll back and ramp one cohort, and refuses what does not fit', TIMEOUT, async () => {
    const t = newTest();
    const policy = cohortPolicy(t.env, { autoRamp: true });
    await t.run(async () => {
      await intoScience(t, policy);
      await assertRejected(
        t.update(setRampUpdate, { ...actor('alice'), percent: 100 }),
        /ramps by cohort: name the cohort whose ramp to set \(internal, low-risk, everyone-else\)/,
      );
      await assertRejected(
        t.update(pauseUpdate, { ...actor('alice'), cohort: 'nobody' }),
        /unknown cohort "nobody" \(the cohorts are internal, low-risk, everyone-else\)/,
      );
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'science', { cohort: 'internal' })),
        /cohort internal cannot leave science: .*at 50% \(must be 100%\)/,
      );

      // Held, internal does not ramp although its evidence is healthy.
      const held = await t.update(pauseUpdate, { ...actor('alice', 'hold internal'), cohort: 'internal' });
      assert.equal(held.cohort, 'internal');
      await t.advanceTime(3 * policy.evaluationIntervalMs);
      let s = await t.state();
      assert.deepEqual(places(s).slice(0, 1), ['internal science 50']);
      assert.match(s.cohorts?.[0]?.next ?? '', /^paused/);
      await assertRejected(t.update(pauseUpdate, { ...actor('alice'), cohort: 'internal' }), /cohort internal is already paused/);
      await t.update(resumeUpdate, { ...actor('alice', 'go on'), cohort: 'internal' });
      s = await t.tickUntil(policy.evaluationIntervalMs, (st) => st.cohorts?.[0]?.ramp === 100, 'internal ramps after its resume', 4);

      // Rolling back one cohort by hand leaves the others where they are.
      await t.update(setRampUpdate, { ...actor('alice', 'low-risk too'), percent: 50, cohort: 'low-risk' });
      const rb = await t.update(rollbackUpdate, { ...actor('alice', 'look at low-risk'), cohort: 'low-risk' });
      assert.match(rb.message, /cohort low-risk back to 0%, paused; the other cohorts stay where they are/);
      s = await t.state();
      assert.deepEqual(places(s).slice(0, 2), ['internal science 100', 'low-risk science 0']);
      const entry = t.world.audits.at(-1);
      assert.deepEqual([entry?.action, entry?.evidence.cohort], ['rollback', 'low-risk']);
      await assertRejected(t.update(rollbackUpdate, { ...actor('alice'), cohort: 'low-risk' }), /cohort low-risk is already at science 0% and paused/);

      // Rolling back without a cohort takes every cohort back and pauses the environment.
      await t.update(rollbackUpdate, actor('alice', 'everything back'));
      s = await t.state();
      assert.deepEqual(places(s), ['internal science 0', 'low-risk science 0', 'everyone-else science 0']);
      assert.equal(s.paused, true);
      // Resuming everything restarts only the first cohort; the others follow in order.
      const resumed = await t.update(resumeUpdate, actor('alice', 'again'));
      assert.match(resumed.message, /restarted internal at science 50%/);
      assert.deepEqual(places(await t.state()), ['internal science 50', 'low-risk science 0', 'everyone-else science 0']);

      // The fault switch may be limited to a cohort: published with it, audited with it.
      await t.update(setFaultUpdate, { ...actor('alice', 'drill on low-risk'), newWriterCorruptionRate: 0.5, cohort: 'low-risk' });
      assert.deepEqual(t.world.patches().at(-1), { faults: { newWriterCorruptionRate: 0.5, cohort: 'low-risk' } });
      assert.equal((await t.state()).faultCohort, 'low-risk');
    });
  });

  it('leaves cutover when every cohort gate is met, and in the TTL wait rolls back only the failing cohort', TIMEOUT, async () => {
    const t = newTest();
    const policy = cohortPolicy(t.env, { autoRamp: false, shortWindowMs: MINUTE });
    await t.run(async () => {
      await intoScience(t, policy);
      for (const c of COHORTS) {
        await t.update(setRampUpdate, { ...actor('alice', 'all'), percent: 100, cohort: c.name });
        await t.advanceTime(policy.bakeMs.science + MINUTE);
        await t.update(advanceUpdate, advance('alice', 'science'));
        await t.update(setRampUpdate, { ...actor('alice', 'all'), percent: 100, cohort: c.name });
      }
      assert.equal((await t.state()).stage, 'cutover');
      // The gate is judged per cohort: one cohort short of comparisons keeps the environment in cutover.
      await t.advanceTime(policy.bakeMs.cutover + MINUTE);
      t.world.cohortScience = (cohort) => healthyScience(cohort === 'low-risk' ? { comparisons: 10 } : {});
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'cutover')),
        /cannot leave cutover: gate cutover->ttl_wait \(cohort low-risk\) not met: 10 comparisons/,
      );
      t.world.cohortScience = null;
      const ttl = await t.update(advanceUpdate, advance('alice', 'cutover'));
      assert.equal(ttl.stage, 'ttl_wait');
      assert.deepEqual(t.world.patches().at(-1), { cutoverPercent: 100 });

      // A burst in everyone else's reads: back to cutover with that cohort at 0 %, the others still at 100 %.
      t.world.cohortScience = (cohort, windowMs) =>
        cohort === 'everyone-else' && windowMs <= MINUTE ? healthyScience({ comparisons: 400, mismatches: 80, mismatchRate: 0.2 }) : healthyScience();
      await t.advanceTime(policy.evaluationIntervalMs);
      const s = await t.waitFor((st) => st.stage === 'cutover', 'the watch rolled ttl_wait back');
      assert.deepEqual(places(s), ['internal cutover 100', 'low-risk cutover 100', 'everyone-else cutover 0']);
      assert.equal(s.cohorts?.[2]?.rolledBack !== null, true);
      assert.deepEqual(publishedRows(t), ['internal 100/100', 'low-risk 100/100', 'everyone-else 100/0']);
      const rb = t.world.audits.at(-1);
      assert.deepEqual([rb?.action, rb?.from, rb?.to, rb?.evidence.cohort], ['automatic_rollback', 'ttl_wait', 'cutover', 'everyone-else']);
    });
  });

  it('refuses a cohort named in a migration without cohorts, and a policy with a bad cohort list', TIMEOUT, async () => {
    const t = newTest();
    await t.run(async () => {
      const plain = testPolicy(t.env);
      await t.start(plain);
      await t.update(startUpdate, actor('alice'));
      await assertRejected(
        t.update(setFaultUpdate, { ...actor('alice'), newWriterCorruptionRate: 0.1, cohort: 'internal' }),
        /the coh-\d+ migration has no cohorts/,
      );
    });
    const u = newTest();
    await u.run(async () => {
      const handle = await u.start(
        testPolicy(u.env, {
          cohorts: [
            { name: 'internal', apps: [] },
            { name: 'Rest', prefix: 'x' },
          ],
        }),
      );
      await assert.rejects(handle.result(), (err: Error & { cause?: { message?: string } }) => {
        const message = err.cause?.message ?? '';
        assert.match(message, /cohorts\[0\]\.apps must be a non-empty array of app names/);
        assert.match(message, /cohorts\[1\]\.name must match/);
        assert.match(message, /cohorts\[1\] \(the last cohort\) is everyone else: it takes no prefix/);
        return true;
      });
    });
  });
});
