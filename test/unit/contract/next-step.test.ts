import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoPolicy } from '../../../config/migration-policy.js';
import { nextStep, nextStepLine, type Evaluation, type GateStatus, type MigrationStateView, type NextStep } from '../../../contract/index.js';

// What happens next, at every stage and at the moments between two refreshes of the workflow's
// own figures: the line the environment page, the overview and `ops status` show.

const T0 = Date.UTC(2026, 11, 5, 14, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const policy = demoPolicy(['test', 'staging']);

const state = (over: Partial<MigrationStateView>): MigrationStateView => ({
  env: 'test',
  stage: 'planned',
  ramp: 0,
  paused: false,
  rolledBack: null,
  coverageHorizon: null,
  stageEnteredAt: T0,
  fullRampSince: null,
  ttlGateAt: null,
  gates: [],
  evaluations: [],
  pendingApproval: false,
  controlVersion: 3,
  auditSeq: 4,
  recentRequestIds: [],
  lastTransitionAt: T0,
  approvalRequestedBy: null,
  rampSince: T0,
  policy,
  ...over,
});
const next = (over: Partial<MigrationStateView>, now: number): NextStep => nextStep({ kind: 'running', state: state(over) }, now);
const gate = (passed: boolean, detail: string, evidence: GateStatus['evidence']): GateStatus => ({ name: 'x->y', passed, detail, evidence });
/** An evaluation at `at` with `stepComparisons` since the step began at rampSince (its window) and a clean record. */
const evaluation = (o: { at: number; stage: 'science' | 'cutover'; ramp: number; rampSince: number; step: number; rate?: number }): Evaluation => ({
  at: o.at,
  stage: o.stage,
  ramp: o.ramp,
  comparisons: o.step,
  mismatches: 0,
  mismatchRate: o.rate ?? 0,
  newStoreErrorRate: 0,
  verdict: 'healthy',
  short: { windowMs: MINUTE, comparisons: o.step, mismatches: 0, mismatchRate: o.rate ?? 0, newStoreErrorRate: 0 },
  step: { windowMs: o.at - o.rampSince, comparisons: o.step, mismatches: 0, mismatchRate: o.rate ?? 0, newStoreErrorRate: 0 },
});

describe('the next step of a migration', () => {
  it('says who creates or restarts a migration, and that nobody knows when Temporal is unreachable', () => {
    assert.equal(nextStep({ kind: 'none' }, T0).actor, 'operator');
    assert.equal(nextStep({ kind: 'none' }, T0).action, 'Create migration');
    assert.match(nextStep({ kind: 'closed', status: 'TERMINATED' }, T0).text, /ended \(terminated\): an operator creates a new one/);
    assert.equal(nextStep({ kind: 'unreachable', message: 'timeout' }, T0).actor, 'unknown');
  });

  it('in planned: an operator starts dual write', () => {
    const n = next({}, T0);
    assert.equal(n.actor, 'operator');
    assert.equal(n.action, 'Start dual write');
  });

  it('in dual write: automatic with the bake time left, then a check that is not stale, then the operator once the gate is met', () => {
    const h = T0 + MINUTE;
    // Right after the start, before the horizon is recorded: the workflow's own step.
    assert.equal(next({ stage: 'dual_write' }, T0 + SECOND).actor, 'automatic');
    const baking = next({ stage: 'dual_write', coverageHorizon: h }, T0 + 20 * SECOND);
    assert.equal(baking.actor, 'automatic');
    assert.equal(baking.etaMs, policy.bakeMs.dualWrite - 20 * SECOND);
    assert.match(baking.text, /bakes.*then an operator advances to science/);
    // The bake time is over, but the gate's last check (5 s ago) still says "not met: bake": not the operator's turn yet, nor a failure.
    const stale = gate(false, 'not met: dual write for 58s of 1m bake time', { coverageHorizon: h, bakedMs: 58 * SECOND, bakeMs: MINUTE });
    const checking = next({ stage: 'dual_write', coverageHorizon: h, gates: [stale] }, T0 + MINUTE + SECOND);
    assert.equal(checking.actor, 'automatic');
    assert.match(checking.text, /checks the writers within 5 s/);
    const met = next(
      { stage: 'dual_write', coverageHorizon: h, gates: [gate(true, 'met: ...', { cassandraWriters: 1, dynamodbWriters: 1 })] },
      T0 + 2 * MINUTE,
    );
    assert.deepEqual([met.actor, met.action], ['operator', 'Advance to science']);
    const noWriter = next(
      {
        stage: 'dual_write',
        coverageHorizon: h,
        gates: [gate(false, 'not met: 0 live DynamoDB writer(s) (need at least 1)', { cassandraWriters: 1, dynamodbWriters: 0 })],
      },
      T0 + 2 * MINUTE,
    );
    assert.equal(noWriter.actor, 'operator');
    assert.match(noWriter.text, /0 live DynamoDB writer/);
    assert.doesNotMatch(noWriter.text, /not met: not met|met: met/, 'the verdict is said once');
  });

  it('in science: ramps by itself with an estimate that counts down between evaluations and covers the steps left and the bake', () => {
    const rampSince = T0;
    // 5 comparisons a minute at 5 % (100 a minute at 100 %), 10 of the 20 needed after 2 minutes.
    const e = evaluation({ at: T0 + 2 * MINUTE, stage: 'science', ramp: 5, rampSince, step: 10 });
    const s = { stage: 'science' as const, ramp: 5, rampSince, coverageHorizon: T0 - MINUTE, evaluations: [e] };
    const n = next(s, T0 + 2 * MINUTE);
    assert.equal(n.actor, 'automatic');
    assert.match(n.text, /ramps by itself \(5% → 25% → 50% → 100%\), then bakes at 100%; then an operator advances to cutover/);
    assert.match(n.detail ?? '', /to step to 25%: 10 of 20 comparisons since 5% began/);
    // This step: 10 more at 5 a minute (2 min); 25 %: 20 at 25 a minute (48 s, over the 30 s interval); 50 %: 20 at 50 a minute
    // (24 s, so the 30 s interval); then the 2-minute bake; and half an evaluation interval per step.
    const expected = 2 * MINUTE + 48 * SECOND + 30 * SECOND + policy.bakeMs.science + 3 * (policy.evaluationIntervalMs / 2);
    assert.ok(Math.abs(n.etaMs! - expected) < SECOND, `${n.etaMs} vs ${expected}`);
    const later = next(s, T0 + 2 * MINUTE + 20 * SECOND);
    assert.ok(later.etaMs! < n.etaMs!, `the estimate counts down: ${later.etaMs} after ${n.etaMs}`);
    assert.match(nextStepLine(n), /^automatic: Nothing to do: .* \(about \d+ min\)$/);
  });

  it('right after a step or a stage begins (no evaluation of it yet) still says it ramps by itself, judged on the previous figures', () => {
    const science100 = evaluation({ at: T0 - 5 * SECOND, stage: 'science', ramp: 100, rampSince: T0 - 3 * MINUTE, step: 300 });
    const cutover = next(
      { stage: 'cutover', ramp: 1, rampSince: T0, fullRampSince: null, evaluations: [science100], coverageHorizon: T0 - 9 * MINUTE },
      T0 + SECOND,
    );
    assert.equal(cutover.actor, 'automatic');
    assert.notEqual(cutover.etaMs, null, 'an estimate from the science figures (every read is compared in cutover)');
    assert.match(cutover.text, /cutover ramps by itself \(1% → 5% → 25% → 50% → 100%\)/);
  });

  it('before the first evaluation with figures, estimates the ramp from the reads served', () => {
    const entered = { stage: 'science' as const, ramp: 50, rampSince: T0, coverageHorizon: T0 - MINUTE };
    assert.equal(next(entered, T0 + SECOND).etaMs, null, 'no figures at all: no estimate');
    // 600 reads a minute: 300 compared a minute at 50 %, so the 5 needed come within the 30 s step interval.
    const n = nextStep({ kind: 'running', state: state(entered) }, T0 + SECOND, { readsPerMinute: 600 });
    assert.equal(n.etaMs, 29 * SECOND + policy.evaluationIntervalMs / 2 + policy.bakeMs.science);
  });

  it('hands science and cutover to a person when ramping cannot go on by itself', () => {
    const base = { stage: 'science' as const, ramp: 25, coverageHorizon: T0 - MINUTE };
    const rolled = next({ ...base, ramp: 0, paused: true, rolledBack: { at: T0, reason: 'mismatch rate 20% > rollback threshold 5%', evidence: {} } }, T0);
    assert.deepEqual([rolled.actor, rolled.action], ['operator', 'Resume']);
    assert.match(rolled.text, /Rolled back automatically at 14:00:00 UTC \(mismatch rate 20%/);
    assert.deepEqual([next({ ...base, paused: true }, T0).actor, next({ ...base, paused: true }, T0).action], ['operator', 'Resume']);
    const manual = nextStep({ kind: 'running', state: state({ ...base, policy: { ...policy, autoRamp: false } }) }, T0);
    assert.deepEqual([manual.actor, manual.action], ['operator', 'Set ramp']);
    assert.match(manual.text, /sets the ramp to 50%/);
    assert.match(next({ ...base, faultRate: 0.2 }, T0).text, /fault switch is on \(the new-store writer corrupts 20% of points\)/);
    const dirty = evaluation({ at: T0 + MINUTE, stage: 'science', ramp: 25, rampSince: T0, step: 40, rate: 0.025 });
    const held = next({ ...base, rampSince: T0, evaluations: [dirty] }, T0 + MINUTE);
    assert.equal(held.actor, 'operator');
    assert.match(held.text, /mismatch rate in the last minute is 2\.5% of 40 comparisons, above the gate's 0\.1%/);
  });

  it('at 100 %: automatic while it bakes and while the gate gathers comparisons; the operator once it is met or when it fails on its figures', () => {
    const base = { stage: 'cutover' as const, ramp: 100, rampSince: T0, fullRampSince: T0, coverageHorizon: T0 - 5 * MINUTE };
    const baking = next(base, T0 + 30 * SECOND);
    assert.deepEqual([baking.actor, baking.etaMs], ['automatic', policy.bakeMs.cutover - 30 * SECOND]);
    const after = T0 + policy.bakeMs.cutover + SECOND;
    const few = next(
      {
        ...base,
        gates: [
          gate(false, 'not met: 30 comparisons over 2m (need at least 50)', { comparisons: 30, minComparisons: 50, mismatchRate: 0, maxMismatchRate: 0.001 }),
        ],
      },
      after,
    );
    assert.equal(few.actor, 'automatic');
    assert.match(few.text, /30 of 50 so far/);
    const met = next({ ...base, gates: [gate(true, 'met: ...', { comparisons: 900, minComparisons: 50 })] }, after);
    assert.deepEqual([met.actor, met.action], ['operator', 'Advance to ttl wait']);
    const bad = next(
      { ...base, gates: [gate(false, 'not met: mismatch rate 2%', { comparisons: 900, minComparisons: 50, mismatchRate: 0.02, maxMismatchRate: 0.001 })] },
      after,
    );
    assert.equal(bad.actor, 'operator');
    assert.match(bad.text, /mismatch rate is 2% of 900 comparisons, above its 0\.1%/);
  });

  it('in TTL wait: automatic until the gate opens (with when) and while the old store is checked; then an operator asks to decommission', () => {
    const gateAt = T0 + 4 * MINUTE;
    const waiting = next({ stage: 'ttl_wait', ttlGateAt: gateAt, coverageHorizon: T0 - 10 * MINUTE }, T0);
    assert.deepEqual([waiting.actor, waiting.etaMs], ['automatic', 4 * MINUTE]);
    assert.match(waiting.text, /gate opens at 2026-12-05 14:04:00 UTC/);
    // Entered with the gate time already past (nothing checked yet): still the workflow's step.
    assert.equal(next({ stage: 'ttl_wait', ttlGateAt: T0 - MINUTE }, T0).actor, 'automatic');
    const met = next({ stage: 'ttl_wait', ttlGateAt: T0 - MINUTE, gates: [gate(true, 'met: ...', { agedOut: true })] }, T0);
    assert.deepEqual([met.actor, met.action], ['operator', 'Advance to decommission']);
  });

  it('in decommission: the approver (not the requester) while it waits; right after the approval, automatic (the workflow drops the old store)', () => {
    const waiting = next({ stage: 'decommission', pendingApproval: true, approvalRequestedBy: 'olivia' }, T0);
    assert.deepEqual([waiting.actor, waiting.action], ['approver', 'Approve decommission']);
    assert.match(waiting.text, /other than olivia .*cannot be undone/);
    const dropping = next({ stage: 'decommission', pendingApproval: false }, T0);
    assert.equal(dropping.actor, 'automatic');
    assert.match(dropping.text, /drops the old store's data and completes/);
    assert.doesNotMatch(dropping.text, /operator advances/);
    assert.equal(next({ stage: 'complete' }, T0).actor, 'nobody');
  });

  it('says the right thing without a policy (a worker that predates it), only without estimates', () => {
    const n = next({ stage: 'science', ramp: 5, policy: undefined }, T0);
    assert.equal(n.actor, 'automatic');
    assert.equal(n.etaMs, null);
    assert.equal(next({ stage: 'ttl_wait', ttlGateAt: T0 + MINUTE, policy: undefined }, T0).etaMs, MINUTE);
  });
});
