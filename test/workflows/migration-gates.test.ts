import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScienceFigures } from '../../contract/index.js';
import {
  allowsRampUp,
  allowsRampUpWindows,
  coverageHorizonAfter,
  judgeWindow,
  judgeWindows,
  exitGate,
  formatDuration,
  formatRate,
  gateWindowMs,
  localGateFailures,
  nextRampStep,
  nextStage,
  rampWaitText,
  rollbackReason,
  stageIndex,
  ttlGateAt,
  windowRollbackReason,
} from '../../workflows/migration-gates.js';
import type { MigrationState } from '../../contract/index.js';
import { DAY, HOUR, MINUTE, healthyScience, healthyWriters, testPolicy } from './support/test-policy.js';

const policy = testPolicy('test');
const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const H = T0 + MINUTE;

function state(overrides: Partial<MigrationState>): MigrationState {
  return {
    env: 'test',
    stage: 'planned',
    ramp: 0,
    paused: false,
    rolledBack: null,
    coverageHorizon: H,
    stageEnteredAt: T0,
    fullRampSince: null,
    ttlGateAt: null,
    gates: [],
    evaluations: [],
    pendingApproval: false,
    controlVersion: 1,
    auditSeq: 1,
    recentRequestIds: [],
    lastTransitionAt: T0,
    ...overrides,
  };
}

const figures = (f: Partial<ScienceFigures>): ScienceFigures => healthyScience({ windowMs: 30 * MINUTE, ...f });

describe('coverage horizon and stage order', () => {
  it('takes the first full minute after the acknowledgement', () => {
    assert.equal(coverageHorizonAfter(Date.UTC(2026, 10, 26, 10, 20, 30, 500)), Date.UTC(2026, 10, 26, 10, 21));
    assert.equal(coverageHorizonAfter(Date.UTC(2026, 10, 26, 10, 20, 59, 999)), Date.UTC(2026, 10, 26, 10, 21));
    // A writer acknowledged exactly on a minute may have missed points of that minute written just before.
    assert.equal(coverageHorizonAfter(Date.UTC(2026, 10, 26, 10, 21)), Date.UTC(2026, 10, 26, 10, 22));
  });

  it('orders stages and ramp steps', () => {
    assert.equal(nextStage('planned'), 'dual_write');
    assert.equal(nextStage('ttl_wait'), 'decommission');
    assert.equal(nextStage('complete'), null);
    assert.ok(stageIndex('not_started') < stageIndex('planned'));
    assert.equal(nextRampStep([1, 5, 25, 50, 100], 0), 1);
    assert.equal(nextRampStep([1, 5, 25, 50, 100], 7), 25);
    assert.equal(nextRampStep([1, 5, 25, 50, 100], 100), null);
  });
});

describe('exit gates', () => {
  it('dual_write: bake time first, then writer figures', () => {
    const s = state({ stage: 'dual_write', stageEnteredAt: T0 });
    assert.deepEqual(localGateFailures({ state: s, policy, now: T0 + 4 * MINUTE }), ['dual write for 4m of 10m bake time']);
    assert.deepEqual(localGateFailures({ state: { ...s, coverageHorizon: null }, policy, now: T0 + 11 * MINUTE }), ['coverage horizon not recorded']);
    const now = T0 + 11 * MINUTE;
    const bad = exitGate({ state: s, policy, now }, { kind: 'writers', health: healthyWriters({ cassandraWriters: 0, parityGap: 1500 }) });
    assert.equal(bad.passed, false);
    assert.equal(bad.name, 'dual_write->science');
    assert.equal(bad.detail, 'not met: 0 live Cassandra writer(s) (need at least 1); write parity gap 1500 (max 1000)');
    assert.equal(bad.evidence.parityGap, 1500);
    const good = exitGate({ state: s, policy, now }, { kind: 'writers', health: healthyWriters() });
    assert.equal(good.passed, true);
    assert.match(good.detail, /^met: coverage horizon 2026-11-26T09:01:00.000Z; dual write for 11m of 10m bake time; 2 live Cassandra/);
    // Without the figures a gate that needs them never passes.
    assert.equal(exitGate({ state: s, policy, now }, null).passed, false);
  });

  it('science: 100% for the bake time, enough comparisons, mismatch rate within the threshold', () => {
    const s = state({ stage: 'science', ramp: 50 });
    assert.deepEqual(localGateFailures({ state: s, policy, now: T0 + HOUR }), ['science at 50% (must be 100%)', 'not yet at 100% (bake time 30m)']);
    const full = state({ stage: 'science', ramp: 100, fullRampSince: T0 });
    assert.deepEqual(localGateFailures({ state: full, policy, now: T0 + 10 * MINUTE }), ['at 100% for 10m of 30m bake time']);
    const now = T0 + 31 * MINUTE;
    const gate = exitGate({ state: full, policy, now }, { kind: 'science', figures: figures({ comparisons: 999, mismatchRate: 0.0011 }) });
    assert.equal(gate.detail, 'not met: 999 comparisons over 30m (need at least 1000); mismatch rate 0.11% (max 0.1%)');
    assert.equal(gate.evidence.newStoreErrorRate, undefined, 'science does not judge the new-store error rate');
    assert.equal(exitGate({ state: full, policy, now }, { kind: 'science', figures: figures({ newStoreErrorRate: 0.5 }) }).passed, true);
    const rolledBack = { ...full, rolledBack: { at: T0, reason: 'mismatch rate 5%', evidence: {} } };
    assert.match(
      localGateFailures({ state: rolledBack, policy, now })[0] ?? '',
      /automatic rollback in effect since 2026-11-26T09:00:00.000Z \(mismatch rate 5%\); resume first/,
    );
    assert.equal(gateWindowMs('science', policy), 30 * MINUTE);
    assert.equal(gateWindowMs('science', { ...policy, evaluationWindowMs: HOUR }), HOUR);
  });

  it('science: with verifyBeforeCutover, a clean verify of the whole range, recent enough', () => {
    const strict = { ...policy, verifyBeforeCutover: { maxAgeMs: DAY } };
    const now = T0 + 31 * MINUTE;
    const full = state({ stage: 'science', ramp: 100, fullRampSince: T0 });
    assert.deepEqual(localGateFailures({ state: full, policy: strict, now }), ['no verify run yet (a clean verify of data no older than 1d is required)']);
    assert.deepEqual(localGateFailures({ state: full, policy, now }), [], 'off when the policy does not ask for it');
    const verified = (v: Partial<NonNullable<MigrationState['lastVerify']>>) =>
      state({
        stage: 'science',
        ramp: 100,
        fullRampSince: T0,
        lastVerify: {
          workflowId: 'v1',
          range: { fromMinute: H, toMinute: T0 + 20 * MINUTE },
          clean: true,
          finishedAt: T0 + 25 * MINUTE,
          compared: 5000,
          mismatches: 0,
          ...v,
        },
      });
    assert.deepEqual(localGateFailures({ state: verified({}), policy: strict, now }), []);
    const gate = exitGate({ state: verified({}), policy: strict, now }, { kind: 'science', figures: figures({}) });
    assert.equal(gate.passed, true);
    assert.equal(gate.evidence.verifyWorkflowId, 'v1');
    assert.equal(gate.evidence.verifyCompared, 5000);
    assert.deepEqual(localGateFailures({ state: verified({ clean: false, mismatches: 3 }), policy: strict, now }), [
      'latest verify v1 found 3 differences in 5000 minutes: repair and verify again',
    ]);
    assert.match(
      localGateFailures({ state: verified({ range: { fromMinute: H + 10 * MINUTE, toMinute: T0 + 20 * MINUTE } }), policy: strict, now })[0]!,
      /began at .* verify the whole range/,
    );
    assert.match(localGateFailures({ state: verified({}), policy: strict, now: T0 + 2 * DAY })[0]!, /clean over 5000 minutes .* old, max 1d\)/);
  });

  it('cutover: also the new-store error rate', () => {
    const s = state({ stage: 'cutover', ramp: 100, fullRampSince: T0 });
    const gate = exitGate({ state: s, policy, now: T0 + HOUR }, { kind: 'science', figures: figures({ newStoreErrorRate: 0.002 }) });
    assert.equal(gate.passed, false);
    assert.equal(gate.detail, 'not met: new-store error rate 0.2% (max 0.1%)');
    assert.equal(gate.evidence.newStoreErrorRate, 0.002);
  });

  it('cutover: enough reads really served by the new store, at a share consistent with the ramp', () => {
    const p = { ...policy, minNewStoreReads: 1000 };
    const s = state({ stage: 'cutover', ramp: 100, fullRampSince: T0 });
    const gate = (f: Partial<ScienceFigures>) => exitGate({ state: s, policy: p, now: T0 + HOUR }, { kind: 'science', figures: figures(f) });
    // Every read went to the old store (the horizon was never reached): the gate says so in numbers.
    const none = gate({ servedOld: 5000, servedNew: 0, queries: 5000 });
    assert.equal(none.passed, false);
    assert.equal(
      none.detail,
      'not met: 0 reads served by the new store over 30m (need at least 1000); new store served 0% of 5000 queries (need at least 80% at cutover 100%)',
    );
    assert.deepEqual([none.evidence.servedNew, none.evidence.queries, none.evidence.minNewStoreReads, none.evidence.minNewStoreShare], [0, 5000, 1000, 0.8]);
    // Too few reads, although all of them new.
    assert.match(gate({ servedOld: 0, servedNew: 999, queries: 999 }).detail, /^not met: 999 reads served by the new store over 30m \(need at least 1000\)$/);
    // Split queries: the old store serves the minutes before H as well; the share counts queries.
    const split = gate({ servedOld: 4000, servedNew: 4900, queries: 5000 });
    assert.equal(split.passed, true, split.detail);
    assert.match(split.detail, /4900 reads served by the new store over 30m \(need at least 1000\); new store served 98% of 5000 queries/);
    // A policy written before the rule does not check it.
    assert.equal(exitGate({ state: s, policy, now: T0 + HOUR }, { kind: 'science', figures: figures({ servedNew: 0 }) }).passed, true);
  });

  it('ttl_wait: H + retention + grace, the rollback window, and an aged-out old store', () => {
    const cutoverFull = T0 + 2 * HOUR;
    const s = state({ stage: 'ttl_wait', fullRampSince: cutoverFull });
    const at = ttlGateAt(s, policy);
    assert.equal(at, H + 7 * DAY + HOUR);
    assert.equal(ttlGateAt(s, { ...policy, rollbackWindowMs: 8 * DAY }), cutoverFull + 8 * DAY);
    const early = localGateFailures({ state: s, policy, now: H + 7 * DAY });
    assert.deepEqual(early, ['old data ages out at 2026-12-03T10:01:00.000Z (H 2026-11-26T09:01:00.000Z + retention 7d + grace 1h), 1h from now']);
    const now = (at ?? 0) + MINUTE;
    const notAged = exitGate({ state: s, policy, now }, { kind: 'old_store', agedOut: false, oldestMinute: H - DAY });
    assert.equal(notAged.detail, 'not met: old store still holds data from 2026-11-25T09:01:00.000Z, older than H 2026-11-26T09:01:00.000Z');
    assert.equal(exitGate({ state: s, policy, now }, { kind: 'old_store', agedOut: true, oldestMinute: H }).passed, true);
  });
});

describe('evaluations', () => {
  it('rolls back only with enough samples; in science on mismatches only, in cutover on errors too', () => {
    const e = (stage: 'science' | 'cutover', f: Partial<ScienceFigures>) => judgeWindow(stage, 25, figures(f), policy, T0).verdict;
    assert.equal(e('science', { comparisons: 99, mismatchRate: 0.9 }), 'insufficient_samples');
    assert.equal(e('science', { comparisons: 100, mismatchRate: 0.011 }), 'rollback');
    assert.equal(e('science', { comparisons: 100, mismatchRate: 0.01 }), 'healthy');
    assert.equal(e('science', { comparisons: 100, newStoreErrorRate: 0.9 }), 'healthy');
    assert.equal(e('cutover', { comparisons: 100, newStoreErrorRate: 0.011 }), 'rollback');
    const rollback = judgeWindow('cutover', 50, figures({ comparisons: 3000, mismatchRate: 0.02, newStoreErrorRate: 0.2 }), policy, T0);
    assert.equal(
      rollbackReason(rollback, policy),
      'mismatch rate 2% > rollback threshold 1% and new-store error rate 20% > rollback threshold 1% over 3000 comparisons in the last 10m at cutover 50%',
    );
  });

  it('ramps up only on rates within the gate thresholds, not merely below the rollback ones', () => {
    assert.equal(allowsRampUp(judgeWindow('science', 5, figures({ mismatchRate: 0.0005 }), policy, T0), policy), true);
    assert.equal(allowsRampUp(judgeWindow('science', 5, figures({ mismatchRate: 0.005 }), policy, T0), policy), false);
    assert.equal(allowsRampUp(judgeWindow('cutover', 10, figures({ newStoreErrorRate: 0.005 }), policy, T0), policy), false);
    assert.equal(allowsRampUp(judgeWindow('science', 5, figures({ comparisons: 10 }), policy, T0), policy), false);
  });

  it('two windows: a burst rolls back on the short window, a trickle on the long one, neither on too few samples', () => {
    const w = (long: Partial<ScienceFigures>, short: Partial<ScienceFigures>, step: Partial<ScienceFigures> = {}) =>
      judgeWindows(
        'cutover',
        25,
        {
          long: figures({ windowMs: 10 * MINUTE, ...long }),
          short: figures({ windowMs: MINUTE, ...short }),
          step: figures({ windowMs: 20 * MINUTE, ...step }),
        },
        policy,
        T0,
      );
    // A fresh burst: 40 bad of 200 in the last minute, diluted to 0.8% over 10 minutes.
    const burst = w({ comparisons: 5000, mismatches: 40, mismatchRate: 0.008 }, { comparisons: 200, mismatches: 40, mismatchRate: 0.2 });
    assert.deepEqual([burst.verdict, burst.rollbackWindow], ['rollback', 'short']);
    assert.equal(
      windowRollbackReason(burst, policy),
      'mismatch rate 20% > rollback threshold 1% over 200 comparisons in the last 1m (short window) at cutover 25%',
    );
    const trickle = w({ comparisons: 5000, mismatches: 60, mismatchRate: 0.012 }, { comparisons: 300, mismatches: 0, mismatchRate: 0 });
    assert.deepEqual([trickle.verdict, trickle.rollbackWindow], ['rollback', 'long']);
    assert.match(windowRollbackReason(trickle, policy), /over 5000 comparisons in the last 10m \(long window\)/);
    assert.equal(w({}, { comparisons: 99, mismatchRate: 1, mismatches: 99 }).verdict, 'healthy', 'a short window with too few samples does not roll back');
    assert.equal(w({}, { newStoreErrorRate: 0.5 }).verdict, 'rollback', 'in cutover errors count too');
  });

  it('ramps on the comparisons since the step began, never while any window is above the gate threshold', () => {
    const w = (long: Partial<ScienceFigures>, short: Partial<ScienceFigures>, step: Partial<ScienceFigures>) =>
      judgeWindows(
        'science',
        5,
        {
          long: figures({ windowMs: 10 * MINUTE, ...long }),
          short: figures({ windowMs: MINUTE, ...short }),
          step: figures({ windowMs: 20 * MINUTE, ...step }),
        },
        policy,
        T0 + 20 * MINUTE,
      );
    // A quiet environment: the long window has too few samples, the step has gathered enough.
    const quiet = w({ comparisons: 40 }, { comparisons: 4 }, { comparisons: 100 });
    assert.equal(quiet.verdict, 'healthy');
    assert.equal(allowsRampUpWindows(quiet, policy), true);
    // Not enough since the step began: wait, and say for what.
    const early = w({ comparisons: 40 }, { comparisons: 4 }, { comparisons: 12 });
    assert.equal(early.verdict, 'insufficient_samples');
    assert.equal(allowsRampUpWindows(early, policy), false);
    const ctx = { policy: { ...policy, autoRamp: true }, paused: false, rolledBack: false, rampSince: T0, next: 25 };
    assert.equal(rampWaitText(early, ctx), 'to step to 25%: 12 of 100 comparisons since 5% began, at about 0.6 a minute: about 2h 26m');
    assert.equal(
      rampWaitText(early, { ...ctx, rampSince: T0 + 19 * MINUTE }),
      'to step to 25%: 12 of 100 comparisons since 5% began, at about 12.0 a minute: about 7m 20s; 1m of 10m at 5%',
    );
    assert.equal(
      rampWaitText({ ...early, step: { ...early.step!, comparisons: 0 } }, ctx),
      'to step to 25%: 0 of 100 comparisons since 5% began, at about 0.0 a minute: none yet, so no estimate',
    );
    assert.equal(rampWaitText(quiet, ctx), 'ready: the next evaluation steps to 25%');
    assert.equal(rampWaitText(quiet, { ...ctx, paused: true }), 'paused: no automatic step to 25% until resumed');
    assert.equal(rampWaitText(quiet, { ...ctx, next: null }), null);
    // A mismatch in the short window above the gate's threshold (below the rollback one) holds the ramp.
    const blip = w({}, { comparisons: 200, mismatches: 1, mismatchRate: 0.005 }, { comparisons: 5000 });
    assert.equal(blip.verdict, 'healthy');
    assert.equal(allowsRampUpWindows(blip, policy), false);
    assert.match(rampWaitText(blip, ctx) ?? '', /mismatch rate 0\.5% in the short window \(1m\) is above the gate's 0\.1%/);
  });

  it('formats durations and rates for operators', () => {
    assert.deepEqual([250, 45_000, 10 * MINUTE, 2 * HOUR + 5 * MINUTE + 7_000, 7 * DAY + 3 * HOUR].map(formatDuration), [
      '250ms',
      '45s',
      '10m',
      '2h 5m',
      '7d 3h',
    ]);
    assert.deepEqual([0, 0.001, 0.0125, 0.2, 1].map(formatRate), ['0%', '0.1%', '1.25%', '20%', '100%']);
  });
});
