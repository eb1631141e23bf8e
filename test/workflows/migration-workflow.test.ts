import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
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
} from '../../contract/migration-messages.js';
import type { AdvanceInput, MigrationPolicy, MigrationStateView, SetRampInput, Stage } from '../../contract/index.js';
import {
  DAY,
  HOUR,
  MINUTE,
  MigrationTest,
  actor,
  assertRejected,
  bundleWorkflows,
  createTestEnvironment,
  driveTo,
  healthyScience,
  healthyWriters,
  testPolicy,
} from './support/migration-harness.js';

const advance = (identity: string, from: Stage, extra: Partial<AdvanceInput> = {}): AdvanceInput => ({ ...actor(identity), from, ...extra });
const ramp = (identity: string, percent: number): SetRampInput => ({ ...actor(identity), percent });
/** Per test: a stuck workflow fails its test instead of the run. */
const TIMEOUT = { timeout: 60_000 };
const minuteAfter = (ms: number): number => Math.floor(ms / MINUTE) * MINUTE + MINUTE;

describe('migration workflow', () => {
  let testEnv: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;
  let envCounter = 0;
  const newTest = (): MigrationTest => new MigrationTest(testEnv, bundle, `wf-${++envCounter}`);

  before(async () => {
    testEnv = await createTestEnvironment();
    bundle = await bundleWorkflows();
  });
  after(async () => {
    await testEnv?.teardown();
  });

  it('runs every stage from planned to complete, publishing and auditing each transition', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      const handle = await t.start(policy);
      assert.equal((await t.state()).stage, 'planned');

      const started = await t.update(startUpdate, actor('alice', 'ticket OPS-1'));
      assert.equal(started.stage, 'dual_write');
      const [dualWrite, horizonPublication] = t.world.publications;
      assert.deepEqual(dualWrite?.patch, { oldWriter: true, newWriter: true, retentionMs: policy.retentionMs, tolerance: policy.tolerance });
      const H = minuteAfter(dualWrite?.acknowledgedAt ?? 0);
      assert.deepEqual(horizonPublication?.patch, { coverageHorizon: H });
      let s = await t.state();
      assert.equal(s.coverageHorizon, H);
      assert.deepEqual(await t.searchAttributes(), { SwitchyardEnv: t.env, SwitchyardStage: 'dual_write', SwitchyardRampPercent: 0 });

      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      assert.equal((await t.update(advanceUpdate, advance('alice', 'dual_write'))).stage, 'science');
      assert.equal(t.world.writerChecks >= 1, true);
      assert.deepEqual(t.world.patches().at(-1), { sciencePercent: 1 });

      await t.update(setRampUpdate, ramp('alice', 100));
      await t.advanceTime(policy.bakeMs.science + MINUTE);
      const cutover = await t.update(advanceUpdate, advance('alice', 'science'));
      assert.deepEqual([cutover.stage, cutover.ramp], ['cutover', 10]);
      assert.deepEqual(t.world.patches().at(-1), { sciencePercent: 100, cutoverPercent: 10 });
      // The science gate read a window of max(bake, evaluation window).
      assert.ok(t.world.scienceReads.includes(policy.bakeMs.science));

      await t.update(setRampUpdate, ramp('alice', 100));
      const cutoverFull = (await t.state()).fullRampSince ?? 0;
      await t.advanceTime(policy.bakeMs.cutover + MINUTE);
      assert.equal((await t.update(advanceUpdate, advance('alice', 'cutover'))).stage, 'ttl_wait');
      assert.deepEqual(t.world.patches().at(-1), { cutoverPercent: 100 });
      s = await t.state();
      const ttlGateAt = Math.max(H + policy.retentionMs + policy.ttlGraceMs, cutoverFull + policy.rollbackWindowMs);
      assert.equal(s.ttlGateAt, ttlGateAt);
      assert.equal(s.fullRampSince, cutoverFull);

      // The TTL timer fires at ttlGateAt; then the old store is verified and the gate opens.
      await t.advanceTime(ttlGateAt - (await testEnv.currentTimeMs()) + MINUTE);
      s = await t.waitFor((st) => st.gates[0]?.passed === true, 'the TTL gate to pass');
      assert.deepEqual(t.world.oldStoreChecks, [H]);
      const requested = await t.update(advanceUpdate, advance('alice', 'ttl_wait'));
      assert.equal(requested.stage, 'decommission');
      s = await t.state();
      assert.equal(s.pendingApproval, true);
      assert.equal(s.approvalRequestedBy, 'alice');
      const publishedBeforeApproval = t.world.publications.length;

      const approved = await t.update(approveDecommissionUpdate, actor('bob', 'four eyes'));
      assert.equal(approved.stage, 'decommission');
      assert.deepEqual(t.world.patches().at(-1), { oldWriter: false, oldStoreAvailable: false, sciencePercent: 0 });
      assert.equal(t.world.publications.length, publishedBeforeApproval + 1);

      const final = (await handle.result()) as MigrationStateView;
      assert.equal(final.stage, 'complete');
      assert.equal(final.pendingApproval, false);
      assert.deepEqual(t.world.decommissions, [{ keepTables: false }]);
      assert.deepEqual(await t.searchAttributes(), { SwitchyardEnv: t.env, SwitchyardStage: 'complete', SwitchyardRampPercent: 0 });

      assert.deepEqual(t.world.auditTrail(), [
        'alice:start',
        'automatic:record_coverage_horizon',
        'alice:advance',
        'alice:set_ramp',
        'alice:advance',
        'alice:set_ramp',
        'alice:advance',
        'alice:advance',
        'bob:approve_decommission',
        'automatic:decommission_old_store',
      ]);
      assert.deepEqual(
        t.world.audits.map((a) => [a.from, a.to]),
        [
          ['planned', 'dual_write'],
          ['dual_write', 'dual_write'],
          ['dual_write', 'science'],
          ['science', 'science'],
          ['science', 'cutover'],
          ['cutover', 'cutover'],
          ['cutover', 'ttl_wait'],
          ['ttl_wait', 'decommission'],
          ['decommission', 'decommission'],
          ['decommission', 'complete'],
        ],
      );
      assert.deepEqual(
        t.world.audits.map((a) => a.seq),
        t.world.audits.map((_, i) => i + 1),
      );
      // Each publishing transition's audit entry names the version it published, under its transition id.
      for (const p of t.world.publications) {
        const seq = Number(p.transitionId.split(':').at(-1));
        assert.equal(p.transitionId, `${t.workflowId}:${seq}`);
        assert.equal(t.world.audits.find((a) => a.seq === seq)?.controlVersion, p.version);
      }
      const gateEvidence = t.world.audits[2]?.evidence.gate as { name: string; evidence: Record<string, unknown> };
      assert.equal(gateEvidence.name, 'dual_write->science');
      assert.equal(gateEvidence.evidence.dynamodbLag, healthyWriters().dynamodbLag);
      assert.equal(t.world.audits[8]?.evidence.requestedBy, 'alice');
      assert.equal(t.world.audits[9]?.evidence.dropped, true);
    });
  });

  it('fails on invalid input, naming every problem', TIMEOUT, async () => {
    const t = newTest();
    await t.run(async () => {
      const policy: MigrationPolicy = { ...testPolicy(t.env), scienceSteps: [5, 1, 50], maxMismatchRate: 1.5, evaluationIntervalMs: 0 };
      const handle = await t.start(policy);
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const message = err.cause?.message ?? '';
        assert.match(message, /^invalid migration input: /);
        assert.match(message, /scienceSteps must be strictly ascending/);
        assert.match(message, /scienceSteps must end at 100/);
        assert.match(message, /maxMismatchRate must be a rate in \[0, 1\] \(got 1.5\)/);
        assert.match(message, /evaluationIntervalMs must be a positive number of ms \(got 0\)/);
        return true;
      });
    });
  });

  it('rejects stale, malformed and out-of-stage requests, and gates not met with their numbers, changing nothing', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await assertRejected(t.update(rollbackUpdate, actor('alice')), /nothing to roll back: the migration has not started/);
      await assertRejected(t.update(pauseUpdate, actor('alice')), /nothing to pause in planned/);
      await assertRejected(t.update(resumeUpdate, actor('alice')), /nothing to resume in planned/);
      await assertRejected(t.update(setRampUpdate, ramp('alice', 5)), /the ramp can only be set in science or cutover; the migration is in planned/);
      await assertRejected(t.update(approveDecommissionUpdate, actor('bob')), /nothing to approve: no decommission is pending \(the migration is in planned\)/);
      await assertRejected(t.update(advanceUpdate, advance('alice', 'science')), /stale page or double click: the wf-\d+ migration is in planned, not science/);
      await assertRejected(t.update(advanceUpdate, { ...actor('alice'), from: 'nowhere' as Stage }), /from must name a stage/);
      await assertRejected(t.update(startUpdate, { ...actor('alice'), reason: ' ' }), /reason is required/);
      await assertRejected(t.update(startUpdate, { ...actor('alice'), requestId: '' }), /requestId is required/);
      await assertRejected(t.update(startUpdate, actor('automatic')), /identity "automatic" is reserved/);
      assert.equal(t.world.publications.length, 0);
      // Nothing changed, and every refusal of a well-formed request is in the audit history with
      // its reason (a request without an identity, reason or request id is refused before that).
      assert.deepEqual(
        t.world.audits.map((a) => [a.actor, a.action, a.from, a.to]),
        ['rollback', 'pause', 'resume', 'set_ramp', 'approve_decommission', 'advance', 'advance'].map((k) => [
          k === 'approve_decommission' ? 'bob' : 'alice',
          `${k}_rejected`,
          'planned',
          'planned',
        ]),
      );
      assert.equal(t.world.audits[5]?.reason, `stale page or double click: the ${t.env} migration is in planned, not science; nothing was changed`);
      assert.deepEqual(
        [t.world.audits[5]?.evidence.request, t.world.audits[5]?.evidence.input, t.world.audits[5]?.controlVersion],
        ['advance', { from: 'science' }, null],
      );
      const changes = () => t.world.audits.filter((a) => !a.action.endsWith('_rejected'));
      assert.equal(changes().length, 0);

      // A double click: the second start names a stage the migration has left.
      await t.update(startUpdate, actor('alice'));
      await assertRejected(t.update(startUpdate, actor('alice')), /stale page or double click: the wf-\d+ migration is in dual_write, not planned/);
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'dual_write')),
        /cannot leave dual_write: gate dual_write->science not met: dual write for \d+ms of 10m bake time/,
      );

      // Past the bake time, the writers' figures decide, and the rejection carries them.
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      t.world.writers = healthyWriters({ dynamodbWriters: 0, dynamodbLag: 5000 });
      const before = await t.state();
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'dual_write')),
        /gate dual_write->science not met: 0 live DynamoDB writer\(s\) \(need at least 1\); DynamoDB writer lag 5000 \(max 1000\)/,
      );
      const after = await t.state();
      assert.deepEqual([after.stage, after.controlVersion, after.auditSeq], [before.stage, before.controlVersion, before.auditSeq + 1]);
      assert.equal(after.gates[0]?.passed, false);
      assert.equal(after.gates[0]?.evidence.dynamodbLag, 5000);
      assert.equal(changes().length, 2);
      assert.match(t.world.audits.at(-1)?.reason ?? '', /^cannot leave dual_write: gate dual_write->science not met: 0 live DynamoDB writer/);

      t.world.writers = healthyWriters();
      await t.update(advanceUpdate, advance('alice', 'dual_write'));
      await assertRejected(t.update(setRampUpdate, ramp('alice', 101)), /percent must be an integer from 0 to 100, got 101/);
      await assertRejected(t.update(setRampUpdate, ramp('alice', -1)), /percent must be an integer from 0 to 100, got -1/);
      await assertRejected(t.update(setRampUpdate, ramp('alice', 2.5)), /percent must be an integer from 0 to 100, got 2.5/);
      await assertRejected(t.update(advanceUpdate, advance('alice', 'science')), /science at 1% \(must be 100%\); not yet at 100%/);
      await t.update(setRampUpdate, ramp('alice', 100));
      await assertRejected(t.update(advanceUpdate, advance('alice', 'science')), /at 100% for \d+ms of 30m bake time/);

      await t.advanceTime(policy.bakeMs.science + MINUTE);
      t.world.science = healthyScience({ comparisons: 10, mismatches: 0, mismatchRate: 0.002 });
      const audits = changes().length;
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'science')),
        /cannot leave science: gate science->cutover not met: 10 comparisons over 30m \(need at least 1000\); mismatch rate 0.2% \(max 0.1%\)/,
      );
      assert.equal(changes().length, audits);
      assert.deepEqual([t.world.audits.at(-1)?.action, t.world.audits.at(-1)?.actor], ['advance_rejected', 'alice']);
      assert.equal((await t.state()).stage, 'science');
      await assertRejected(t.update(approveDecommissionUpdate, actor('bob')), /nothing to approve: no decommission is pending \(the migration is in science\)/);
    });
  });

  it('lets a repeated request id take effect once and return the original result', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      const start = actor('alice', 'go');
      const first = await t.update(startUpdate, start);
      // Same request id, a different Temporal update id: only the workflow's own de-duplication can help.
      const again = await t.handle().executeUpdate(startUpdate, { args: [start], updateId: 'another-update-id' });
      assert.deepEqual(again, first);
      assert.equal(t.world.publications.length, 2);
      assert.equal(t.world.audits.length, 2);

      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      // Two operators (or two tabs) advance at once with different request ids: both pass the
      // validator, the transitions are serialized, and the second finds the stage already left.
      const both = await Promise.allSettled([t.update(advanceUpdate, advance('alice', 'dual_write')), t.update(advanceUpdate, advance('bob', 'dual_write'))]);
      assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const loser = both.find((r) => r.status === 'rejected');
      await assertRejected(Promise.reject(loser?.reason), /stale page or double click: the wf-\d+ migration is in science, not dual_write/);
      assert.equal(t.world.audits.filter((a) => a.action === 'advance').length, 1);
      assert.equal((await t.state()).ramp, 1);
      // After the stage has moved on, the repeat still returns what the first request did.
      const late = await t.handle().executeUpdate(startUpdate, { args: [start], updateId: 'a-third-update-id' });
      assert.deepEqual(late, first);
      // (A fresh Temporal update id: with the same one the server itself would answer with the start's result.)
      await assertRejected(
        t.handle().executeUpdate(pauseUpdate, { args: [{ ...actor('alice'), requestId: start.requestId }], updateId: 'reused-request-id' }),
        /request id alice-\d+ was already used for a start request/,
      );

      // Two copies of one request in flight at once (double click with a fresh update id each).
      const setRamp = ramp('alice', 25);
      const [a, b] = await Promise.all([
        t.handle().executeUpdate(setRampUpdate, { args: [setRamp], updateId: 'click-1' }),
        t.handle().executeUpdate(setRampUpdate, { args: [setRamp], updateId: 'click-2' }),
      ]);
      assert.deepEqual(a, b);
      assert.equal(t.world.publications.filter((p) => p.patch.sciencePercent === 25).length, 1);
      assert.equal(t.world.auditTrail().filter((x) => x === 'alice:set_ramp').length, 1);
      const s = await t.state();
      assert.ok(s.recentRequestIds.includes(start.requestId) && s.recentRequestIds.includes(setRamp.requestId));
    });
  });

  it('enforces the promotion order unless overridden with a reason, recorded in the audit log', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { promotionOrder: ['pred', t.env] });
    t.world.envStages.pred = 'planned';
    await t.run(async () => {
      await t.start(policy);
      await assertRejected(
        t.update(startUpdate, actor('alice')),
        new RegExp(
          `promotion order: ${t.env} may not enter dual_write before pred has \\(pred is in planned\\); to override, repeat with overridePromotionOrder and a reason`,
        ),
      );
      assert.equal((await t.state()).stage, 'planned');
      assert.equal(t.world.publications.length, 0);

      // The refusal is recorded, with the reason the operator was given.
      assert.deepEqual([t.world.audits[0]?.actor, t.world.audits[0]?.action], ['alice', 'start_rejected']);
      assert.match(t.world.audits[0]?.reason ?? '', /promotion order: .* may not enter dual_write before pred has/);
      await t.update(startUpdate, { ...actor('alice', 'pred is blocked on a frozen cluster; CAB-42'), overridePromotionOrder: true });
      assert.deepEqual(t.world.audits[1]?.evidence.promotionOrder, {
        predecessor: 'pred',
        predecessorStage: 'planned',
        entering: 'dual_write',
        overridden: true,
        overrideReason: 'pred is blocked on a frozen cluster; CAB-42',
      });

      t.world.envStages.pred = 'dual_write';
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      await assertRejected(t.update(advanceUpdate, advance('alice', 'dual_write')), /may not enter science before pred has \(pred is in dual_write\)/);
      t.world.envStages.pred = 'cutover';
      await t.update(advanceUpdate, advance('alice', 'dual_write'));
      assert.deepEqual(t.world.audits.at(-1)?.evidence.promotionOrder, { predecessor: 'pred', predecessorStage: 'cutover', entering: 'science' });
    });
  });

  it('rolls science back to 0% on a bad mismatch rate, records the evidence, and waits for an operator', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'science');
      await t.update(setRampUpdate, ramp('alice', 25));

      // Too few samples: recorded, never acted on.
      t.world.science = healthyScience({ comparisons: 50, mismatches: 25, mismatchRate: 0.5 });
      await t.advanceTime(policy.evaluationIntervalMs);
      let s = await t.waitFor((st) => st.evaluations.at(-1)?.verdict === 'insufficient_samples', 'an evaluation with too few samples');
      assert.equal(s.ramp, 25);

      t.world.science = healthyScience({ comparisons: 2000, mismatches: 100, mismatchRate: 0.05 });
      await t.advanceTime(policy.evaluationIntervalMs);
      s = await t.waitFor((st) => st.rolledBack !== null, 'the automatic rollback');
      assert.deepEqual([s.stage, s.ramp, s.paused], ['science', 0, true]);
      assert.match(s.rolledBack?.reason ?? '', /mismatch rate 5% > rollback threshold 1% over 2000 comparisons in the last 1m \(short window\) at science 25%/);
      assert.equal(s.rolledBack?.evidence.mismatchRate, 0.05);
      assert.equal(s.rolledBack?.evidence.comparisons, 2000);
      assert.equal(s.evaluations.at(-1)?.verdict, 'rollback');
      const publication = t.world.publications.at(-1);
      assert.deepEqual([publication?.patch, publication?.actor], [{ sciencePercent: 0 }, 'automatic']);
      const entry = t.world.audits.at(-1);
      assert.deepEqual([entry?.actor, entry?.action, entry?.from, entry?.to], ['automatic', 'automatic_rollback', 'science', 'science']);
      assert.equal(entry?.evidence.mismatchRate, 0.05);
      assert.equal(entry?.evidence.rollbackMismatchRate, policy.rollbackMismatchRate);
      assert.equal(entry?.controlVersion, publication?.version);
      assert.equal((await t.searchAttributes()).SwitchyardRampPercent, 0);

      // Waits for an operator: no further automatic action, and ramping up needs a resume first.
      const published = t.world.publications.length;
      const reads = t.world.scienceReads.length;
      await t.advanceTime(3 * policy.evaluationIntervalMs);
      await t.waitUntil(() => t.world.scienceReads.length >= reads + 3, 'three more evaluations');
      assert.equal(t.world.publications.length, published);
      await assertRejected(t.update(setRampUpdate, ramp('alice', 5)), /an automatic rollback is in effect \(mismatch rate 5%.*\): resume first/);
      await assertRejected(t.update(advanceUpdate, advance('alice', 'science')), /automatic rollback in effect since .*resume first/);

      t.world.science = healthyScience();
      const resumed = await t.update(resumeUpdate, actor('bob', 'fixed the float rounding in the writer'));
      assert.deepEqual([resumed.stage, resumed.ramp], ['science', 1]);
      s = await t.state();
      assert.deepEqual([s.paused, s.rolledBack], [false, null]);
      assert.deepEqual(t.world.patches().at(-1), { sciencePercent: 1 });
      assert.deepEqual(t.world.auditTrail().slice(-4), ['automatic:automatic_rollback', 'alice:set_ramp_rejected', 'alice:advance_rejected', 'bob:resume']);
    });
  });

  it('judges a resume on the evidence gathered since it, not on the minutes that rolled it back', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { shortWindowMs: MINUTE, evaluationIntervalMs: 5_000 });
    const bad = healthyScience({ comparisons: 2000, mismatches: 100, mismatchRate: 0.05 });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'science');
      await t.update(setRampUpdate, ramp('alice', 25));
      t.world.science = bad;
      await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((st) => st.rolledBack !== null, 'the automatic rollback');

      // At 0 % nothing new is compared: any window reaching back before the resume still holds the
      // bad minutes that rolled it back; what comes after the resume is clean.
      t.world.scienceFor = (windowMs) => (windowMs > 20_000 ? bad : healthyScience({ comparisons: 300 }));
      const resumed = await t.update(resumeUpdate, actor('bob', 'fixed the float rounding in the writer'));
      assert.deepEqual([resumed.stage, resumed.ramp], ['science', 1]);
      const reads = t.world.scienceReads.length;
      await t.advanceTime(3 * policy.evaluationIntervalMs);
      await t.waitUntil(() => t.world.scienceReads.length >= reads + 9, 'three evaluations after the resume');
      let s = await t.state();
      assert.equal(s.rolledBack, null, `rolled back again right after the resume: ${s.rolledBack?.reason}`);
      assert.equal(s.ramp, 1);
      const windows = t.world.scienceReads.slice(reads);
      assert.ok(
        windows.every((w) => w <= 20_000),
        `every window read after the resume reaches back no further than it: ${windows.join(', ')}`,
      );

      // Still armed: bad evidence gathered after the resume rolls it back at the next tick.
      t.world.scienceFor = null;
      t.world.science = bad;
      await t.advanceTime(policy.evaluationIntervalMs);
      s = await t.waitFor((st) => st.rolledBack !== null, 'a rollback on evidence gathered since the resume');
      assert.deepEqual([s.stage, s.ramp, s.paused], ['science', 0, true]);
    });
  });

  it('rolls cutover back (all reads to the old store) on a bad new-store error rate', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'cutover');
      await t.update(setRampUpdate, ramp('alice', 50));
      t.world.science = healthyScience({ comparisons: 3000, newStoreErrorRate: 0.2 });
      await t.advanceTime(policy.evaluationIntervalMs);
      const s = await t.waitFor((st) => st.rolledBack !== null, 'the automatic rollback');
      assert.deepEqual([s.stage, s.ramp, s.paused], ['cutover', 0, true]);
      assert.match(s.rolledBack?.reason ?? '', /new-store error rate 20% > rollback threshold 1%/);
      assert.deepEqual(t.world.patches().at(-1), { cutoverPercent: 0 });
      const entry = t.world.audits.at(-1);
      assert.deepEqual([entry?.actor, entry?.action], ['automatic', 'automatic_rollback']);
      assert.equal(entry?.evidence.newStoreErrorRate, 0.2);
      assert.equal(entry?.evidence.rollbackErrorRate, policy.rollbackErrorRate);

      t.world.science = healthyScience();
      const resumed = await t.update(resumeUpdate, actor('bob', 'new store capacity raised'));
      assert.deepEqual([resumed.stage, resumed.ramp], ['cutover', 10]);
      assert.deepEqual(t.world.patches().at(-1), { cutoverPercent: 10 });
    });
  });

  it('ramps automatically through every step while healthy, not on too few samples, and not while paused', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { autoRamp: true });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'science');
      assert.equal((await t.state()).ramp, 1);

      t.world.science = healthyScience({ comparisons: 10 });
      await t.advanceTime(policy.autoRampIntervalMs + policy.evaluationIntervalMs);
      await t.waitFor((st) => st.evaluations.length >= 2, 'two evaluations');
      assert.equal((await t.state()).ramp, 1);

      t.world.science = healthyScience();
      await t.advanceTime(policy.evaluationIntervalMs);
      await t.waitFor((st) => st.ramp === 5, 'the ramp to reach 5%');

      await t.update(pauseUpdate, actor('carol', 'holiday freeze'));
      await assertRejected(t.update(pauseUpdate, actor('carol')), /already paused/);
      const reads = t.world.scienceReads.length;
      await t.advanceTime(2 * policy.autoRampIntervalMs);
      await t.waitUntil(() => t.world.scienceReads.length >= reads + 4, 'evaluations while paused');
      const paused = await t.state();
      assert.equal(paused.ramp, 5);
      assert.ok(paused.evaluations.slice(-4).every((e) => e.verdict === 'healthy'));

      // Resume after a plain pause keeps the ramp (nothing to publish), then ramping goes on.
      const published = t.world.publications.length;
      const resumed = await t.update(resumeUpdate, actor('carol', 'freeze over'));
      assert.equal(resumed.ramp, 5);
      assert.equal(t.world.publications.length, published);
      for (const step of [25, 50, 100]) {
        // One evaluation interval at a time: a step is stamped a moment after its tick, so the
        // tick autoRampIntervalMs later can fall just short of it, and the first step after the
        // pause is due at once. Stepping by ticks never skips past a ramp step.
        await t.tickUntil(policy.evaluationIntervalMs, (st) => st.ramp === step, `the ramp to reach ${step}%`);
      }
      const automatic = t.world.audits.filter((a) => a.action === 'auto_ramp');
      assert.deepEqual(
        automatic.map((a) => [a.actor, a.evidence.from, a.evidence.to]),
        [
          ['automatic', 1, 5],
          ['automatic', 5, 25],
          ['automatic', 25, 50],
          ['automatic', 50, 100],
        ],
      );
      assert.deepEqual(
        t.world.patches().slice(-4),
        [5, 25, 50, 100].map((p) => ({ sciencePercent: p })),
      );
      assert.deepEqual(
        t.world.auditTrail().filter((x) => x.startsWith('carol')),
        ['carol:pause', 'carol:pause_rejected', 'carol:resume'],
      );
      // At 100% the science gate is reported with its figures at the first tick after the bake time
      // (ticks run every evaluationIntervalMs from the last one, a few ms before the step was applied).
      await t.advanceTime(policy.bakeMs.science + policy.evaluationIntervalMs);
      const s = await t.waitFor((st) => st.gates[0]?.passed === true, 'the science gate to pass');
      assert.equal(s.gates[0]?.name, 'science->cutover');
      assert.equal(s.gates[0]?.evidence.comparisons, healthyScience().comparisons);
    });
  });

  it('rolls a burst back on the short window at the next tick, with no ramp step in between', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { autoRamp: true, shortWindowMs: MINUTE });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'cutover');
      await t.update(setRampUpdate, ramp('alice', 25));
      // A fresh burst of mismatches: the last minute is bad, the 10-minute window is diluted
      // below the rollback threshold (and below the gate's, so the old rule would ramp on).
      const published = t.world.publications.length;
      t.world.scienceFor = (windowMs) =>
        windowMs <= MINUTE
          ? healthyScience({ comparisons: 300, mismatches: 60, mismatchRate: 0.2 })
          : healthyScience({ comparisons: 100_000, mismatches: 60, mismatchRate: 0.0006 });
      await t.advanceTime(policy.evaluationIntervalMs);
      const s = await t.waitFor((st) => st.rolledBack !== null, 'the automatic rollback');
      assert.deepEqual([s.stage, s.ramp], ['cutover', 0]);
      assert.match(s.rolledBack?.reason ?? '', /mismatch rate 20% > rollback threshold 1% over 300 comparisons in the last 1m \(short window\) at cutover 25%/);
      assert.equal(s.rolledBack?.evidence.window, 'short');
      assert.deepEqual(
        t.world.publications.slice(published).map((p) => p.patch),
        [{ cutoverPercent: 0 }],
        'the only publication after the burst is the rollback',
      );
      assert.ok(t.world.scienceReads.includes(MINUTE), 'the short window was read');
    });
  });

  it('holds automatic ramping while the fault switch is on, says so, and ramps again once it is off', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { autoRamp: true });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'science');
      // Healthy figures in every window: only the fault switch holds the step.
      t.world.scienceFor = () => healthyScience({ comparisons: 5_000 });
      await t.update(setFaultUpdate, { ...actor('alice', 'drill'), newWriterCorruptionRate: 0.5 });
      const published = t.world.publications.length;
      await t.advanceTime(policy.autoRampIntervalMs);
      const held = await t.tickUntil(
        policy.evaluationIntervalMs,
        (st) => /the fault switch is on/.test(st.evaluations.at(-1)?.waitingFor ?? ''),
        'the wait text naming the fault switch',
      );
      assert.equal(held.ramp, 1, 'no automatic step while the fault switch is on');
      assert.equal(
        held.evaluations.at(-1)?.waitingFor,
        'the fault switch is on (the new-store writer corrupts 50% of points): no automatic step to 5% until it is off',
      );
      assert.equal(t.world.publications.length, published, 'nothing was published while held');
      await t.update(setFaultUpdate, { ...actor('alice', 'drill over'), newWriterCorruptionRate: 0 });
      const ramped = await t.tickUntil(policy.evaluationIntervalMs, (st) => st.ramp === 5, 'the ramp to reach 5% once the switch is off');
      assert.equal(ramped.stage, 'science');
    });
  });

  it(
    'holds automatic ramping while a writer lags beyond the limit, never rolls back for it, audits the hold, an outage and its end, and ramps again after',
    TIMEOUT,
    async () => {
      const t = newTest();
      const policy = testPolicy(t.env, { autoRamp: true, maxWriterBehindMs: 15_000, writerOutageMs: 30 * MINUTE });
      await t.run(async () => {
        await t.start(policy);
        await driveTo(t, policy, 'science');
        t.world.scienceFor = () => healthyScience({ comparisons: 5_000 });
        // The DynamoDB writer was killed: its oldest unwritten record is 34 s old.
        t.world.lag = { old: { behindMs: 400, messages: 3 }, new: { behindMs: 34_000, messages: 5_200 } };
        const published = t.world.publications.length;
        await t.advanceTime(policy.autoRampIntervalMs);
        const held = await t.tickUntil(
          policy.evaluationIntervalMs,
          (st) => /writer is behind/.test(st.evaluations.at(-1)?.waitingFor ?? ''),
          'the wait text naming the lagging writer',
        );
        assert.equal(held.ramp, 1, 'no automatic step while the writer lags');
        assert.equal(held.rolledBack, null, 'a lagging writer is no reason to roll back');
        assert.equal(
          held.evaluations.at(-1)?.waitingFor,
          'the DynamoDB (new-store) writer is behind by 34s (limit 15s): no automatic step to 5% until it catches up',
        );
        assert.deepEqual(held.writerLag?.new, { behindMs: 34_000, messages: 5_200 }, 'the state shows the lag');
        assert.deepEqual([held.writerHold?.store, held.writerHold?.behindMs, held.writerHold?.outage], ['new', 34_000, false]);
        assert.equal(t.world.publications.length, published, 'nothing was published while held');
        const began = t.world.audits.filter((a) => a.action === 'writer_lag_hold');
        assert.equal(began.length, 1, 'the hold\u2019s beginning is audited once');
        assert.match(began[0]!.reason, /behind by 34s \(limit 15s\): automatic ramping holds/);
        assert.equal(began[0]!.evidence.newBehindMs, 34_000);
        // Long enough to be an outage: audited (and so notified) once.
        await t.advanceTime(policy.writerOutageMs!);
        await t.tickUntil(policy.evaluationIntervalMs, (st) => st.writerHold?.outage === true, 'the outage');
        await t.advanceTime(policy.evaluationIntervalMs * 3);
        assert.equal(t.world.audits.filter((a) => a.action === 'writer_outage').length, 1);
        // It restarts and catches up: the hold ends, the ramp goes on.
        t.world.lag = { old: { behindMs: 300, messages: 2 }, new: { behindMs: 600, messages: 40 } };
        const ramped = await t.tickUntil(policy.evaluationIntervalMs, (st) => st.ramp === 5, 'the ramp to reach 5% once the writer caught up');
        assert.equal(ramped.writerHold, null);
        const ended = t.world.audits.filter((a) => a.action === 'writer_lag_hold_ended');
        assert.equal(ended.length, 1);
        assert.match(ended[0]!.reason, /the writers caught up after \d/);
        assert.ok(
          t.world.audits.findIndex((a) => a.action === 'writer_lag_hold_ended') < t.world.audits.findIndex((a) => a.action === 'auto_ramp'),
          'the hold ended before the next step',
        );
        assert.equal(t.world.audits.filter((a) => a.action === 'automatic_rollback').length, 0);
      });
    },
  );

  it('holds automatic ramping while the writers\u2019 lag cannot be measured', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { autoRamp: true });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'science');
      t.world.scienceFor = () => healthyScience({ comparisons: 5_000 });
      t.world.lag = { old: null, new: null, error: 'broker down' };
      await t.advanceTime(policy.autoRampIntervalMs);
      const held = await t.tickUntil(
        policy.evaluationIntervalMs,
        (st) => /could not be measured/.test(st.evaluations.at(-1)?.waitingFor ?? ''),
        'the wait text',
      );
      assert.equal(held.ramp, 1);
      t.world.lag = { old: { behindMs: 0, messages: 0 }, new: { behindMs: 0, messages: 0 } };
      await t.tickUntil(policy.evaluationIntervalMs, (st) => st.ramp === 5, 'the ramp to reach 5%');
    });
  });

  it('ramps a quiet environment on the comparisons since the step began, and says what it waits for', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { autoRamp: true });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'science');
      // Few comparisons in any window; since the step began they add up.
      let stepComparisons = 30;
      t.world.scienceFor = (windowMs) =>
        windowMs === policy.evaluationWindowMs || windowMs === MINUTE ? healthyScience({ comparisons: 3 }) : healthyScience({ comparisons: stepComparisons });
      await t.advanceTime(policy.autoRampIntervalMs);
      const waiting = await t.waitFor((st) => /of 100 comparisons since 1% began/.test(st.evaluations.at(-1)?.waitingFor ?? ''), 'the wait text');
      assert.equal(waiting.ramp, 1);
      assert.match(waiting.evaluations.at(-1)?.waitingFor ?? '', /^to step to 5%: 30 of 100 comparisons since 1% began, at about [\d.]+ a minute: about /);
      stepComparisons = 120;
      const ramped = await t.tickUntil(policy.evaluationIntervalMs, (st) => st.ramp === 5, 'the ramp to reach 5%');
      assert.equal(ramped.stage, 'science');
      const entry = t.world.audits.filter((a) => a.action === 'auto_ramp').at(-1);
      assert.equal(entry?.evidence.stepComparisons, 120);
      assert.match(entry?.reason ?? '', /120 comparisons since the step began/);
    });
  });

  it('sets the fault switch through the workflow: published, acknowledged and audited like every change', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'science');
      const on = await t.update(setFaultUpdate, { ...actor('alice', 'demo fault'), newWriterCorruptionRate: 0.5 });
      assert.match(on.message, /fault switch on: the new-store writer corrupts 50% of points/);
      const published = t.world.publications.at(-1);
      assert.deepEqual([published?.patch, published?.actor, published?.reason], [{ faults: { newWriterCorruptionRate: 0.5 } }, 'alice', 'demo fault']);
      const entry = t.world.audits.at(-1);
      assert.deepEqual(
        [entry?.actor, entry?.action, entry?.evidence.from, entry?.evidence.to, entry?.controlVersion],
        ['alice', 'set_fault', null, 0.5, published?.version],
      );
      await t.update(setFaultUpdate, { ...actor('alice', 'fixed'), newWriterCorruptionRate: 0 });
      assert.deepEqual([t.world.audits.at(-1)?.evidence.from, t.world.audits.at(-1)?.evidence.to], [0.5, 0]);
      await assertRejected(
        t.update(setFaultUpdate, { ...actor('alice', 'typo'), newWriterCorruptionRate: 2 }),
        /newWriterCorruptionRate must be a number from 0 to 1, got 2/,
      );
      // Every control-state version the workflow published has its audit entry.
      const audited = new Set(t.world.audits.map((x) => x.controlVersion).filter((v) => v !== null));
      assert.deepEqual(
        t.world.publications.map((x) => x.version).filter((v) => !audited.has(v)),
        [],
      );
      assert.deepEqual([(await t.state()).stage, (await t.state()).ramp], ['science', 1], 'the stage and ramp are untouched');
    });
  });

  it('continues as new after continueAsNewAfter ticks, carrying its state', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { autoRamp: true, continueAsNewAfter: 3 });
    await t.run(async () => {
      const handle = await t.start(policy);
      const firstRunId = handle.firstExecutionRunId;
      await driveTo(t, policy, 'science');
      const advanced = t.world.audits.at(-1);
      const before = await t.state();

      for (let i = 0; i < 8; i++) await t.advanceTime(policy.evaluationIntervalMs);
      const s = await t.waitFor((st) => st.ramp >= 25 && st.evaluations.length >= 8, 'ramping across runs');
      const description = await t.handle().describe();
      assert.notEqual(description.runId, firstRunId);
      assert.equal(s.coverageHorizon, before.coverageHorizon);
      assert.equal(s.stageEnteredAt, before.stageEnteredAt);
      assert.ok(s.auditSeq > before.auditSeq);
      assert.ok(s.recentRequestIds.length >= before.recentRequestIds.length);
      assert.deepEqual(
        t.world.audits.map((a) => a.seq),
        t.world.audits.map((_, i) => i + 1),
      );
      assert.ok(new Set(t.world.audits.map((a) => a.runId)).size >= 2, 'audit entries come from more than one run');
      assert.equal(t.world.lastSeqReads, 1, 'only the fresh start reads the last audit seq; continue-as-new carries it');

      // A request repeated after continue-as-new still takes effect once.
      const audits = t.world.audits.length;
      const repeat = await t.handle().executeUpdate(advanceUpdate, {
        args: [{ ...actor('alice'), requestId: before.recentRequestIds.at(-1) ?? '', from: 'dual_write' }],
        updateId: 'after-continue-as-new',
      });
      assert.equal(repeat.stage, 'science');
      assert.equal(t.world.audits.length, audits);
      assert.equal(advanced?.action, 'advance');
    });
  });

  it('numbers a fresh run after the audit log of earlier runs under the same workflow id', TIMEOUT, async () => {
    const t = newTest();
    t.world.lastSeq = 41;
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await t.update(startUpdate, actor('alice', 'started again after a termination'));
      assert.equal(t.world.lastSeqReads, 1);
      assert.equal(t.world.audits[0]?.seq, 42);
      assert.equal(t.world.publications[0]?.transitionId, `${t.workflowId}:42`);
      assert.equal(t.world.audits.find((a) => a.seq === 42)?.controlVersion, t.world.publications[0]?.version);
    });
  });

  it('numbers a start request that arrives with the workflow start after the existing log too', TIMEOUT, async () => {
    const t = newTest();
    t.world.lastSeq = 7;
    const policy = testPolicy(t.env);
    // No worker yet: the start request is queued with the workflow start, so both reach the
    // workflow in its first task (what a busy worker sees), and the handler runs as soon as it is set.
    await t.start(policy);
    const started = t.update(startUpdate, actor('alice', 'start at once'));
    await new Promise((r) => setTimeout(r, 500));
    await t.run(async () => {
      assert.equal((await started).stage, 'dual_write');
      assert.equal(t.world.lastSeqReads, 1);
      // The start and its coverage-horizon publication, numbered after the existing log.
      assert.deepEqual(
        t.world.audits.map((a) => a.seq),
        [8, 9],
      );
      assert.equal(t.world.publications[0]?.transitionId, `${t.workflowId}:8`);
    });
  });

  it('waits on a durable timer in ttl_wait, then verifies the old store before the gate opens', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { keepOldTables: true, rollbackWindowMs: 2 * DAY, ttlCheckIntervalMs: 10 * MINUTE });
    t.world.oldStore = { agedOut: false, oldestMinute: null };
    await t.run(async () => {
      const handle = await t.start(policy);
      await driveTo(t, policy, 'ttl_wait');
      let s = await t.state();
      const H = s.coverageHorizon ?? 0;
      assert.equal(s.ttlGateAt, Math.max(H + policy.retentionMs + policy.ttlGraceMs, (s.fullRampSince ?? 0) + policy.rollbackWindowMs));
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'ttl_wait')),
        /gate ttl_wait->decommission not met: old data ages out at \d{4}-\d\d-\d\dT.*from now/,
      );

      t.world.oldStore = { agedOut: false, oldestMinute: H - DAY };
      await t.advanceTime(3 * DAY);
      assert.deepEqual(t.world.oldStoreChecks, [], 'nothing is checked before the timer fires');
      await t.advanceTime((s.ttlGateAt ?? 0) - (await testEnv.currentTimeMs()) + MINUTE);
      s = await t.waitFor((st) => st.gates[0]?.evidence.agedOut === false, 'the first old-store check');
      assert.match(s.gates[0]?.detail ?? '', /old store still holds data from .* older than H/);
      assert.deepEqual(t.world.oldStoreChecks, [H]);
      await assertRejected(t.update(advanceUpdate, advance('alice', 'ttl_wait')), /old store still holds data from/);
      // The scan runs every ttlCheckIntervalMs (10 min here), not every evaluation (5 s).
      const [checks, since] = [t.world.oldStoreChecks.length, await testEnv.currentTimeMs()]; // the refused advance checked too
      await t.advanceTime(25 * MINUTE);
      const scans = t.world.oldStoreChecks.length - checks;
      const elapsed = (await testEnv.currentTimeMs()) - since;
      assert.ok(scans >= 1 && scans <= Math.ceil(elapsed / (10 * MINUTE)) + 1, `${scans} old-store scans in ${elapsed / 1000} s`);

      t.world.oldStore = { agedOut: true, oldestMinute: H };
      await t.advanceTime(10 * MINUTE);
      await t.waitFor((st) => st.gates[0]?.passed === true, 'the TTL gate to pass');
      await assertRejected(t.update(rollbackUpdate, actor('alice')), /the rollback window closed at/);

      await t.update(advanceUpdate, advance('alice', 'ttl_wait'));
      await assertRejected(t.update(advanceUpdate, advance('alice', 'decommission')), /decommission is waiting for approval/);
      await assertRejected(t.update(rollbackUpdate, actor('alice')), /decommission has been requested/);
      await assertRejected(
        t.update(approveDecommissionUpdate, actor('alice')),
        /the approval must come from someone other than alice, who requested the decommission/,
      );
      await t.update(approveDecommissionUpdate, actor('bob'));
      const final = (await handle.result()) as MigrationStateView;
      assert.equal(final.stage, 'complete');
      assert.deepEqual(t.world.decommissions, [{ keepTables: true }]);
      const last = t.world.audits.at(-1);
      assert.deepEqual([last?.actor, last?.action, last?.evidence.dropped, last?.evidence.keepTables], ['automatic', 'decommission_old_store', false, true]);
    });
  });

  it('rolls back from ttl_wait within the rollback window to cutover at 0%, and from dual_write to planned', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'ttl_wait');
      const back = await t.update(rollbackUpdate, actor('bob', 'p99 regression in the new store'));
      assert.deepEqual([back.stage, back.ramp], ['cutover', 0]);
      assert.deepEqual(t.world.patches().at(-1), { cutoverPercent: 0 });
      let s = await t.state();
      assert.deepEqual([s.paused, s.ttlGateAt, s.fullRampSince, s.rolledBack], [true, null, null, null]);
      assert.deepEqual(t.world.auditTrail().at(-1), 'bob:rollback');
      assert.deepEqual([t.world.audits.at(-1)?.from, t.world.audits.at(-1)?.to], ['ttl_wait', 'cutover']);
      const resumed = await t.update(resumeUpdate, actor('bob', 'regression fixed'));
      assert.deepEqual([resumed.stage, resumed.ramp], ['cutover', 10]);

      // Dual write back to planned: the new writer off and the horizon cleared.
      const u = newTest();
      const uPolicy = testPolicy(u.env);
      await u.run(async () => {
        await u.start(uPolicy);
        await u.update(startUpdate, actor('alice'));
        const planned = await u.update(rollbackUpdate, actor('alice', 'wrong table capacity'));
        assert.equal(planned.stage, 'planned');
        assert.deepEqual(u.world.patches().at(-1), { newWriter: false, coverageHorizon: null });
        s = await u.state();
        assert.deepEqual([s.stage, s.coverageHorizon], ['planned', null]);
        assert.equal((await u.searchAttributes()).SwitchyardStage, 'planned');
      });
    });
  });

  it('watches ttl_wait while its rollback window is open: a burst sends every read back to the old store by itself', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { shortWindowMs: MINUTE });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'ttl_wait');
      const published = t.world.publications.length;
      t.world.scienceFor = (windowMs) =>
        windowMs <= MINUTE
          ? healthyScience({ comparisons: 400, mismatches: 80, mismatchRate: 0.2 })
          : healthyScience({ comparisons: 100_000, mismatches: 80, mismatchRate: 0.0008 });
      await t.advanceTime(policy.evaluationIntervalMs);
      const s = await t.waitFor((st) => st.rolledBack !== null, 'the automatic rollback from ttl_wait');
      assert.deepEqual([s.stage, s.ramp, s.paused, s.ttlGateAt], ['cutover', 0, true, null]);
      assert.match(
        s.rolledBack?.reason ?? '',
        /mismatch rate 20% > rollback threshold 1% over 400 comparisons in the last 1m \(short window\) at ttl_wait 100%/,
      );
      assert.deepEqual(
        t.world.publications.slice(published).map((p) => p.patch),
        [{ cutoverPercent: 0 }],
      );
      const entry = t.world.audits.at(-1)!;
      assert.deepEqual([entry.actor, entry.action, entry.from, entry.to], ['automatic', 'automatic_rollback', 'ttl_wait', 'cutover']);
    });
  });

  it('stops watching ttl_wait once its rollback window has closed', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { shortWindowMs: MINUTE });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'ttl_wait');
      await t.advanceTime(policy.rollbackWindowMs + MINUTE);
      const reads = t.world.scienceReads.length;
      t.world.scienceFor = () => healthyScience({ comparisons: 400, mismatches: 80, mismatchRate: 0.2 });
      await t.advanceTime(10 * policy.evaluationIntervalMs);
      const s = await t.state();
      assert.deepEqual([s.stage, s.rolledBack], ['ttl_wait', null]);
      assert.equal(t.world.scienceReads.length, reads, 'no science read after the window closed');
    });
  });

  it('audits an unacknowledged transition, reverts it, and changes nothing', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await t.update(startUpdate, actor('alice'));
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      const before = await t.state();
      t.world.failPublish = (input) => (input.patch.sciencePercent === 1 ? 'instance query-b (query-service) still applies version 2' : undefined);
      await assertRejected(
        t.update(advanceUpdate, advance('alice', 'dual_write')),
        /advance did not happen: the control state was not acknowledged \(instance query-b \(query-service\) still applies version 2\); the previous control state was published again as v3/,
      );
      const after = await t.state();
      assert.equal(after.stage, 'dual_write');
      assert.equal(after.ramp, 0);
      assert.deepEqual(t.world.patches().at(-1), { sciencePercent: 0 });
      assert.deepEqual(t.world.auditTrail().slice(-2), ['alice:advance_failed', 'automatic:revert']);
      assert.equal(after.auditSeq, before.auditSeq + 2);

      t.world.failPublish = () => undefined;
      assert.equal((await t.update(advanceUpdate, advance('alice', 'dual_write'))).stage, 'science');
      assert.deepEqual(t.world.patches().at(-1), { sciencePercent: 1 });
      // Every transition id was used once: a failed one is never reused for a different patch.
      const ids = t.world.publications.map((p) => p.transitionId);
      assert.equal(new Set(ids).size, ids.length);
    });
  });

  it('audits the version an unacknowledged publication put on the topic, so every version has its entry', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env);
    await t.run(async () => {
      await t.start(policy);
      await t.update(startUpdate, actor('alice'));
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      t.world.failPublish = (input) =>
        input.patch.sciencePercent === 1 ? { message: 'instance query-b (query-service) did not acknowledge version 3', published: true } : undefined;
      await assertRejected(t.update(advanceUpdate, advance('alice', 'dual_write')), /advance did not happen: .*published again as v4/);
      const failed = t.world.audits.find((e) => e.action === 'advance_failed')!;
      assert.equal(failed.controlVersion, 3, 'the unacknowledged version is audited');
      const versions = t.world.audits.map((e) => e.controlVersion).filter((v): v is number => v !== null);
      assert.deepEqual(
        [...versions].sort((a, b) => a - b),
        t.world.publications.map((p) => p.version),
      );
    });
  });

  it('reverts a start whose coverage horizon is not acknowledged', TIMEOUT, async () => {
    const t = newTest();
    const policy = testPolicy(t.env, { ttlGraceMs: 0, rollbackWindowMs: HOUR });
    await t.run(async () => {
      await t.start(policy);
      t.world.failPublish = (input) => (typeof input.patch.coverageHorizon === 'number' ? 'writer-b did not acknowledge' : undefined);
      await assertRejected(t.update(startUpdate, actor('alice')), /record_coverage_horizon did not happen/);
      const s = await t.state();
      assert.deepEqual([s.stage, s.coverageHorizon], ['planned', null]);
      assert.deepEqual(t.world.auditTrail(), ['alice:start', 'automatic:record_coverage_horizon_failed', 'automatic:start_reverted']);
      assert.deepEqual(t.world.patches().at(-1), { newWriter: false, coverageHorizon: null });
    });
  });
});
