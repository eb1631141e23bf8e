import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScienceFigures } from '../../activities/activity-types.js';
import {
  allowsRampUp,
  coverageHorizonAfter,
  evaluate,
  exitGate,
  formatDuration,
  formatRate,
  gateWindowMs,
  localGateFailures,
  nextRampStep,
  nextStage,
  rollbackReason,
  stageIndex,
  ttlGateAt,
} from '../../workflows/migration-gates.js';
import type { MigrationState } from '../../workflows/migration-types.js';
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
    assert.match(localGateFailures({ state: rolledBack, policy, now })[0] ?? '', /automatic rollback in effect since 2026-11-26T09:00:00.000Z \(mismatch rate 5%\); resume first/);
    assert.equal(gateWindowMs('science', policy), 30 * MINUTE);
    assert.equal(gateWindowMs('science', { ...policy, evaluationWindowMs: HOUR }), HOUR);
  });

  it('cutover: also the new-store error rate', () => {
    const s = state({ stage: 'cutover', ramp: 100, fullRampSince: T0 });
    const gate = exitGate({ state: s, policy, now: T0 + HOUR }, { kind: 'science', figures: figures({ newStoreErrorRate: 0.002 }) });
    assert.equal(gate.passed, false);
    assert.equal(gate.detail, 'not met: new-store error rate 0.2% (max 0.1%)');
    assert.equal(gate.evidence.newStoreErrorRate, 0.002);
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
    const e = (stage: 'science' | 'cutover', f: Partial<ScienceFigures>) => evaluate(stage, 25, figures(f), policy, T0).verdict;
    assert.equal(e('science', { comparisons: 99, mismatchRate: 0.9 }), 'insufficient_samples');
    assert.equal(e('science', { comparisons: 100, mismatchRate: 0.011 }), 'rollback');
    assert.equal(e('science', { comparisons: 100, mismatchRate: 0.01 }), 'healthy');
    assert.equal(e('science', { comparisons: 100, newStoreErrorRate: 0.9 }), 'healthy');
    assert.equal(e('cutover', { comparisons: 100, newStoreErrorRate: 0.011 }), 'rollback');
    const rollback = evaluate('cutover', 50, figures({ comparisons: 3000, mismatchRate: 0.02, newStoreErrorRate: 0.2 }), policy, T0);
    assert.equal(
      rollbackReason(rollback, policy),
      'mismatch rate 2% > rollback threshold 1% and new-store error rate 20% > rollback threshold 1% over 3000 comparisons in the last 10m at cutover 50%',
    );
  });

  it('ramps up only on rates within the gate thresholds, not merely below the rollback ones', () => {
    assert.equal(allowsRampUp(evaluate('science', 5, figures({ mismatchRate: 0.0005 }), policy, T0), policy), true);
    assert.equal(allowsRampUp(evaluate('science', 5, figures({ mismatchRate: 0.005 }), policy, T0), policy), false);
    assert.equal(allowsRampUp(evaluate('cutover', 10, figures({ newStoreErrorRate: 0.005 }), policy, T0), policy), false);
    assert.equal(allowsRampUp(evaluate('science', 5, figures({ comparisons: 10 }), policy, T0), policy), false);
  });

  it('formats durations and rates for operators', () => {
    assert.deepEqual(
      [250, 45_000, 10 * MINUTE, 2 * HOUR + 5 * MINUTE + 7_000, 7 * DAY + 3 * HOUR].map(formatDuration),
      ['250ms', '45s', '10m', '2h 5m', '7d 3h'],
    );
    assert.deepEqual([0, 0.001, 0.0125, 0.2, 1].map(formatRate), ['0%', '0.1%', '1.25%', '20%', '100%']);
  });
});
