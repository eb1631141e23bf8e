import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  REPAIR_PROGRESS_QUERY,
  REPAIR_WORKFLOW_TYPE,
  repairWorkflowId,
  VERIFY_WORKFLOW_TYPE,
  VerifyFailureType,
  verifyWorkflowId,
  type RepairInput,
  type RepairReport,
  type VerifyInput,
  type VerifyReport,
} from '../../contract/index.js';
import { advanceUpdate, setRampUpdate } from '../../workflows/migration-messages.js';
import { actor, assertRejected, bundleWorkflows, createTestEnvironment, DAY, driveTo, MigrationTest, MINUTE, testPolicy } from './support/migration-harness.js';
import { counts, FakeVerifyWorld, RANGE } from './support/verify-fakes.js';

const TIMEOUT = { timeout: 60_000 };

describe('verify and repair workflows', () => {
  let testEnv: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;
  let n = 0;
  const setup = (): { t: MigrationTest; v: FakeVerifyWorld } => {
    const t = new MigrationTest(testEnv, bundle, `vf-${++n}`);
    const v = new FakeVerifyWorld(() => testEnv.client);
    t.extraActivities = v.activities();
    return { t, v };
  };
  const verify = (t: MigrationTest, input: Partial<VerifyInput> = {}) => {
    const full = { ...actor('alice', 'check before cutover'), env: t.env, ...input } as VerifyInput;
    return testEnv.client.workflow.execute(VERIFY_WORKFLOW_TYPE, { workflowId: verifyWorkflowId(t.env, full.requestId), taskQueue: t.taskQueue, args: [full] });
  };
  const repair = (t: MigrationTest, input: Partial<RepairInput> = {}) => {
    const full = { ...actor('alice', 'rewrite from the log'), env: t.env, range: RANGE, ...input } as RepairInput;
    return testEnv.client.workflow.execute(REPAIR_WORKFLOW_TYPE, { workflowId: repairWorkflowId(t.env, full.requestId), taskQueue: t.taskQueue, args: [full] });
  };

  before(async () => {
    testEnv = await createTestEnvironment();
    bundle = await bundleWorkflows();
  });
  after(async () => {
    await testEnv?.teardown();
  });

  it('compares every slice chunk by chunk, resuming each after the last series, and records start and outcome', TIMEOUT, async () => {
    const { t, v } = setup();
    v.chunks[1]![0] = {
      ...v.chunks[1]![0]!,
      counts: counts({ series: 5, oldPoints: 300, newPoints: 299, compared: 300, matched: 299, missing: 1 }),
      samples: [{ kind: 'missing', app: 'b', metric: 'm', minute: RANGE.fromMinute, old: { count: 1 } }],
    };
    await t.run(async () => {
      await t.start(testPolicy(t.env));
      const r: VerifyReport = await verify(t);
      assert.equal(r.status, 'mismatched');
      assert.equal(r.counts.compared, 600);
      assert.equal(r.counts.matched, 599);
      assert.equal(r.counts.missing, 1);
      assert.equal(r.counts.series, 10);
      assert.deepEqual(r.seriesDoneBySlice, [5, 5]);
      assert.equal(r.progress, 1);
      assert.equal(r.samples.missing.length, 1);
      // Slice 0 took two chunks: the second resumed where the first one's walk stood.
      assert.deepEqual(
        v.sliceCalls.filter((c) => c.slice === 0).map((c) => c.position?.cursor ?? null),
        [null, 'tok-a'],
      );
      assert.deepEqual(
        v.records.map((x) => `${x.operation}_${x.event}`),
        ['verify_started', 'verify_finished'],
      );
      const s = await t.state();
      assert.deepEqual(t.world.auditTrail().slice(-2), ['alice:verify_started', 'alice:verify_finished']);
      const done = t.world.audits.at(-1)!;
      assert.equal(done.evidence.workflowId, r.workflowId);
      assert.equal(done.evidence.mismatches, 1);
      assert.deepEqual(done.evidence.range, RANGE);
      assert.equal(s.lastVerify?.clean, false);
      assert.equal(s.lastVerify?.mismatches, 1);
    });
  });

  it('refuses a bad request before doing anything, and records the refusal with its reason', TIMEOUT, async () => {
    const { t, v } = setup();
    await t.run(async () => {
      await t.start(testPolicy(t.env));
      for (const bad of [{ slices: 0 }, { env: 'Not An Env' }, { reason: '' }, { pointsPerSecond: -5 }]) {
        await assert.rejects(verify(t, bad), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.equal((err.cause as { type?: string }).type, VerifyFailureType.invalidInput);
          return true;
        });
      }
      await assert.rejects(repair(t, { deleteExtras: true }), /verifyWorkflowId/);
      // Refusals of requests that name an env and an actor are in the audit history; the others cannot be.
      assert.deepEqual(
        v.records.map((x) => `${x.operation}_${x.event}`),
        ['verify_failed', 'verify_failed', 'repair_failed'],
      );
      const refused = t.world.audits.filter((a) => a.action.endsWith('_failed'));
      assert.equal(refused.length, 3);
      assert.ok(refused.every((a) => a.evidence.refused === true && /invalid (verify|repair) request/.test(String(a.evidence.error))));
      assert.match(String(refused[0]!.evidence.error), /slices/);
      assert.deepEqual(v.sliceCalls, []);
    });
  });

  it('repair: a preview changes nothing; a run replays, verifies again by itself and records both', TIMEOUT, async () => {
    const { t, v } = setup();
    await t.run(async () => {
      await t.start(testPolicy(t.env));
      const preview: RepairReport = await repair(t, { planOnly: true });
      assert.equal(preview.status, 'planned');
      assert.equal(preview.plan?.messages, 600);
      assert.equal(v.replays, 0);
      assert.deepEqual(v.records, [] as typeof v.records);

      const done: RepairReport = await repair(t);
      assert.equal(done.status, 'repaired');
      assert.equal(done.replay?.written, 600);
      assert.equal(done.progress, 1);
      // The replay ran in chunks, each resuming where the previous one stopped.
      assert.deepEqual(
        v.replayCalls.filter((c) => c.workflowId === done.workflowId).map((c) => c.positions?.[0]?.start ?? null),
        [null, '310'],
      );
      assert.equal(done.verify?.status, 'clean');
      assert.deepEqual(done.verify?.plan?.range, RANGE);
      assert.deepEqual(
        v.records.map((x) => `${x.operation}_${x.event}`),
        ['repair_started', 'verify_started', 'verify_finished', 'repair_finished'],
      );
      const last = t.world.audits.at(-1)!;
      assert.equal(last.action, 'repair_finished');
      assert.equal(last.evidence.status, 'repaired');
      assert.equal((await t.state()).lastVerify?.clean, true);
      const q = await testEnv.client.workflow.getHandle(done.workflowId).query<RepairReport>(REPAIR_PROGRESS_QUERY);
      assert.equal(q.status, 'repaired');

      v.driftAfterRepair = 2;
      const still: RepairReport = await repair(t);
      assert.equal(still.status, 'still_mismatched');
      assert.equal(still.verify?.counts.value_drift, 2);
    });
  });

  it('repair: a range the topic no longer holds is refused with the reason, recorded, and nothing is replayed', TIMEOUT, async () => {
    const { t, v } = setup();
    v.refuseRepair = { type: VerifyFailureType.notCovered, message: 'minutes before X are no longer in the log' };
    await t.run(async () => {
      await t.start(testPolicy(t.env));
      await assert.rejects(repair(t), (err: unknown) => err instanceof WorkflowFailedError && /no longer in the log/.test(String(err.cause?.message)));
      assert.equal(v.replays, 0);
      assert.deepEqual(
        v.records.map((x) => `${x.operation}_${x.event}`),
        ['repair_failed'],
      );
      const entry = t.world.audits.at(-1)!;
      assert.equal(entry.action, 'repair_failed');
      assert.equal(entry.evidence.refused, true);
      assert.match(String(entry.evidence.error), /no longer in the log/);
      // A preview refused the same way records nothing.
      await assert.rejects(repair(t, { planOnly: true }), /no longer in the log/);
      assert.equal(v.records.length, 1);
    });
  });

  it('with verifyBeforeCutover, science cannot be left before a clean verify, and can after one', TIMEOUT, async () => {
    const { t } = setup();
    const policy = testPolicy(t.env, { verifyBeforeCutover: { maxAgeMs: DAY } });
    await t.run(async () => {
      await t.start(policy);
      await driveTo(t, policy, 'dual_write');
      await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
      await t.update(advanceUpdate, { ...actor('alice', 'writers healthy'), from: 'dual_write' });
      await t.update(setRampUpdate, { ...actor('alice', 'full science'), percent: 100 });
      await t.advanceTime(policy.bakeMs.science + MINUTE);
      await assertRejected(t.update(advanceUpdate, { ...actor('alice', 'science clean'), from: 'science' }), /no verify run yet/);
      const horizon = (await t.state()).coverageHorizon!;
      const now = await testEnv.currentTimeMs();
      const settled = Math.floor(now / MINUTE) * MINUTE - 2 * MINUTE;
      const r: VerifyReport = await verify(t, { range: { fromMinute: horizon, toMinute: settled } });
      assert.equal(r.status, 'clean');
      const moved = await t.update(advanceUpdate, { ...actor('alice', 'science clean, verified'), from: 'science' });
      assert.equal(moved.stage, 'cutover');
      const entry = t.world.audits.find((a) => a.action === 'advance' && a.from === 'science')!;
      assert.equal(entry.evidence.verifyWorkflowId, r.workflowId);
      assert.equal(entry.evidence.verifyClean, true);
    });
  });
});
