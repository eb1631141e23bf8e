import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry, MigrationStateView } from '../../../contract/index.js';
import { instanceWords, migrationSummary, routingWords, stageSpans } from '../../../web/lib/status-words.js';
import { axisScale, axisTop, fitWindow, formatValue } from '../../../web/components/chart-scale.js';

const state = (over: Partial<MigrationStateView>): MigrationStateView =>
  ({ stage: 'cutover', ramp: 50, paused: false, rolledBack: null, pendingApproval: false, ...over }) as MigrationStateView;
const entry = (seq: number, at: number, action: string, from: string, to: string, actor = 'olivia'): AuditEntry => ({
  env: 'staging',
  seq,
  at,
  actor,
  action,
  from,
  to,
  reason: `r${seq}`,
  evidence: {},
  workflowId: 'w',
  runId: 'r',
  controlVersion: seq,
});

describe('status in plain words', () => {
  it('says where reads go in cutover, and after an automatic rollback that they are back on Cassandra, with when and why', () => {
    assert.equal(routingWords(state({})).reads, '50 % DynamoDB, 50 % Cassandra (every read compared)');
    const rolled = routingWords(
      state({ ramp: 0, paused: true, rolledBack: { at: Date.UTC(2026, 11, 5, 13, 22), reason: 'mismatch rate 20% above 5%', evidence: {} } }),
    );
    assert.equal(rolled.rollback, 'reads back on Cassandra: rolled back automatically at 13:22 UTC because mismatch rate 20% above 5%');
    assert.equal(routingWords(state({ stage: 'complete', ramp: 0 })).writes, 'DynamoDB only');
    assert.match(routingWords(state({ stage: 'dual_write', ramp: 0 })).reads, /^100 % Cassandra/);
  });

  it('with cohorts, says where each cohort\u2019s reads go', () => {
    const c = (name: string, stage: 'science' | 'cutover', ramp: number, over = {}) => ({
      name,
      stage,
      ramp,
      paused: false,
      rolledBack: null,
      resumedAt: null,
      stageEnteredAt: 0,
      rampSince: 0,
      fullRampSince: null,
      gate: null,
      evaluation: null,
      next: null,
      ...over,
    });
    const words = routingWords(
      state({
        stage: 'science',
        ramp: 0,
        cohorts: [
          c('internal', 'cutover', 100),
          c('low-risk', 'science', 0, { paused: true, rolledBack: { at: 1, reason: 'r', evidence: {} } }),
          c('rest', 'science', 0),
        ],
      }),
    );
    assert.equal(words.reads, 'by cohort: internal 100 % DynamoDB; low-risk Cassandra, not compared yet, rolled back; rest Cassandra, not compared yet');
    assert.equal(
      routingWords(state({ stage: 'ttl_wait', ramp: 0, cohorts: [c('internal', 'cutover', 100)] })).reads,
      '100 % DynamoDB (Cassandra still written, so a rollback stays possible)',
    );
  });

  it('summarizes a completed migration: each stage began and ended, rollbacks, who requested and approved', () => {
    const entries = [
      entry(1, 1000, 'start', 'planned', 'dual_write'),
      entry(2, 2000, 'advance', 'dual_write', 'science'),
      entry(3, 2500, 'automatic_rollback', 'science', 'science', 'automatic'),
      entry(4, 3000, 'advance', 'science', 'cutover'),
      entry(5, 4000, 'advance', 'cutover', 'ttl_wait'),
      entry(6, 5000, 'advance', 'ttl_wait', 'decommission', 'olivia'),
      entry(7, 5500, 'approve_decommission', 'decommission', 'decommission', 'alma'),
      entry(8, 6000, 'decommission_old_store', 'decommission', 'complete', 'automatic'),
    ].reverse();
    const sum = migrationSummary(entries);
    assert.deepEqual(
      sum.spans.map((s) => [s.stage, s.from, s.to]),
      [
        ['dual_write', 1000, 2000],
        ['science', 2000, 3000],
        ['cutover', 3000, 4000],
        ['ttl_wait', 4000, 5000],
        ['decommission', 5000, 6000],
        ['complete', 6000, null],
      ],
    );
    assert.deepEqual(
      sum.rollbacks.map((r) => [r.actor, r.stage]),
      [['automatic', 'science']],
    );
    assert.equal(sum.requestedBy, 'olivia');
    assert.equal(sum.approvedBy, 'alma');
    assert.equal(sum.completedAt, 6000);
    assert.deepEqual(stageSpans([], { stage: 'science', stageEnteredAt: 42 }), [{ stage: 'science', from: 42, to: null }]);
  });
});

describe('chart scales', () => {
  it('fits a percent axis to the data and never goes above 100 %', () => {
    assert.equal(axisTop([0.19, 0.02], 'percent'), 0.2);
    assert.equal(axisTop([0.004], 'percent'), 0.006);
    assert.equal(axisTop([0.97, 1], 'percent'), 1);
    assert.equal(axisTop([], 'percent'), 0.01);
    assert.equal(axisTop([37], 'ms'), 40);
    assert.equal(formatValue(0.1234, 'percent'), '12%');
    assert.equal(formatValue(13.21, 'ms'), '13.2 ms');
    assert.equal(formatValue(1234, 'per-minute'), '1,234/min');
  });

  it('spaces the ticks evenly from 0 and gives every label of an axis the same decimals', () => {
    const even = (ticks: number[]): boolean => ticks.every((t, i) => i < 2 || Math.abs(t - ticks[i - 1]! - (ticks[1]! - ticks[0]!)) < 1e-9);
    for (const [values, unit] of [
      [[4800], 'ms'],
      [[0.3, 480], 'ms'],
      [[0.004], 'percent'],
      [[1], 'percent'],
      [[3], 'per-minute'],
    ] as const) {
      const a = axisScale([...values], unit);
      assert.equal(a.ticks[0], 0);
      assert.equal(a.ticks.at(-1), a.top);
      assert.ok(even(a.ticks), `${unit} ${values}: ${a.ticks.join(', ')}`);
      assert.ok(a.ticks.length >= 3 && a.ticks.length <= 6, a.ticks.join(', '));
      const labels = a.ticks.map((t) => formatValue(t, unit, a.decimals));
      const decimals = new Set(labels.map((l) => (/\.(\d+)/.exec(l)?.[1] ?? '').length));
      assert.equal(decimals.size, 1, labels.join(', '));
    }
    // Not 0 / 1500 / 3000 / 5000.
    assert.deepEqual(axisScale([4800], 'ms').ticks, [0, 2000, 4000, 6000]);
    assert.deepEqual(
      axisScale([0.3, 480], 'ms').ticks.map((t) => formatValue(t, 'ms', axisScale([0.3, 480], 'ms').decimals)),
      ['0 ms', '200 ms', '400 ms', '600 ms'],
    );
  });

  it('fits the time window to the minutes with data, never shorter than asked', () => {
    const rows = Array.from({ length: 60 }, (_, i) => ({ time: i * 60_000, v: i >= 40 ? 1 : null }));
    assert.equal(fitWindow(rows, { minMinutes: 15 }).length, 21, 'from a minute before the first figure');
    assert.equal(fitWindow(rows, { minMinutes: 30 }).length, 30);
    assert.equal(
      fitWindow(
        rows.map((r) => ({ ...r, v: null })),
        { minMinutes: 15 },
      ).length,
      15,
    );
  });
});

describe('instances in words', () => {
  it('calls a writer idle when the control state no longer writes its store', () => {
    const inst = [
      { role: 'writer-cassandra', appliedVersion: 9, current: true },
      { role: 'writer-dynamodb', appliedVersion: 9, current: true },
      { role: 'query', appliedVersion: 8, current: false },
    ];
    assert.equal(
      instanceWords(inst, { oldWriter: false, newWriter: true }),
      'query v8 (1 behind), writer-cassandra v9 (idle: Cassandra is not written), writer-dynamodb v9',
    );
    assert.equal(instanceWords([], undefined), 'none live');
  });
});
