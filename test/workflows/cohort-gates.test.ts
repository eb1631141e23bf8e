import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cohortBucket, cohortOf, cohortProblems, type CohortSpec, type CohortState, type MigrationState } from '../../contract/index.js';
import { cohortControlFields } from '../../control/model.js';
import { cohortNextText, cutoverOrderHold, initialCohorts, orderHold, syncEnvironmentRamp } from '../../workflows/cohort-gates.js';
import { testPolicy } from './support/test-policy.js';

const COHORTS: CohortSpec[] = [
  { name: 'internal', apps: ['app-0001', 'app-0002'] },
  { name: 'int-prefix', prefix: 'int-' },
  { name: 'low-risk', bucketPercent: 25 },
  { name: 'everyone-else' },
];

const cohort = (name: string, stage: 'science' | 'cutover', ramp: number, over: Partial<CohortState> = {}): CohortState => ({
  name,
  stage,
  ramp,
  paused: false,
  rolledBack: null,
  resumedAt: null,
  stageEnteredAt: 0,
  rampSince: 0,
  fullRampSince: ramp === 100 ? 0 : null,
  gate: null,
  evaluation: null,
  next: null,
  ...over,
});

describe('cohort membership', () => {
  it('hashes app names into stable buckets (FNV-1a of the UTF-8 bytes, mod 100)', () => {
    // Fixed values: a change of the hash would move apps between cohorts of running migrations.
    assert.equal(cohortBucket(''), 2166136261 % 100);
    assert.equal(cohortBucket('a'), 3826002220 % 100);
    assert.equal(cohortBucket('é'), 513665217 % 100);
    assert.equal(cohortBucket('日本'), 2670128721 % 100);
    assert.deepEqual(['app-0001', 'app-0005', 'app-0008', 'app-0015'].map(cohortBucket), [40, 16, 11, 1]);
  });

  it('puts an app in the first cohort whose selector takes it, and everyone else in the last', () => {
    const of = (app: string): string | undefined => cohortOf(app, COHORTS)?.name;
    assert.equal(of('app-0001'), 'internal');
    assert.equal(of('int-billing'), 'int-prefix');
    assert.equal(of('app-0015'), 'low-risk', 'bucket 1 < 25');
    assert.equal(of('app-0001-clone'), 'everyone-else', 'bucket 40, no name, no prefix');
    assert.equal(of('app-0003'), 'everyone-else', 'bucket 78');
    // Order matters: an app both named and in the bucket is in the first cohort that takes it.
    assert.equal(cohortOf('app-0015', [{ name: 'b', bucketPercent: 25 }, { name: 'rest' }])?.name, 'b');
    assert.equal(cohortOf('x', []), undefined);
    // About a quarter of many apps fall in a 25 % bucket.
    const share = Array.from({ length: 4000 }, (_, i) => cohortBucket(`tenant-${i}`) < 25).filter(Boolean).length / 4000;
    assert.ok(share > 0.22 && share < 0.28, `share ${share}`);
  });

  it('names every problem of a cohort list', () => {
    assert.deepEqual(cohortProblems(undefined), []);
    assert.deepEqual(cohortProblems([]), []);
    assert.deepEqual(cohortProblems(COHORTS), []);
    const problems = cohortProblems([
      { name: 'a', apps: ['x'], prefix: 'y' },
      { name: 'a', bucketPercent: 100 },
      { name: 'B!' },
      { name: 'last', apps: ['z'] },
    ]);
    assert.deepEqual(problems, [
      'cohorts[0] needs exactly one of apps, prefix or bucketPercent (got apps, prefix)',
      'cohort name a is used twice',
      'cohorts[1].bucketPercent must be an integer from 1 to 99 (got 100)',
      'cohorts[2].name must match /^[a-z][a-z0-9-]{0,30}$/ (got "B!")',
      'cohorts[2] needs exactly one of apps, prefix or bucketPercent (got none)',
      'cohorts[3] (the last cohort) is everyone else: it takes no apps',
    ]);
    assert.deepEqual(cohortProblems([{ name: 'only' }]), ['cohorts must list at least two cohorts (the last one is everyone else)']);
  });
});

describe('cohort rows of the control state', () => {
  const state = (stage: MigrationState['stage'], cohorts?: CohortState[]) => ({ stage, ramp: 0, coverageHorizon: 1, pendingApproval: false, cohorts });

  it('gives each cohort its own place of the stage table in science and cutover, and the environment’s elsewhere', () => {
    const specs = COHORTS.slice(0, 2);
    assert.equal(cohortControlFields(state('science'), undefined), undefined, 'no cohorts: no rows');
    assert.deepEqual(
      cohortControlFields(state('science', [cohort('internal', 'cutover', 50), cohort('int-prefix', 'science', 25)]), specs)?.map((r) => [
        r.name,
        r.sciencePercent,
        r.cutoverPercent,
      ]),
      [
        ['internal', 100, 50],
        ['int-prefix', 25, 0],
      ],
    );
    // In ttl_wait every cohort is where the environment is, whatever it was before.
    assert.deepEqual(
      cohortControlFields(state('ttl_wait', [cohort('internal', 'cutover', 0), cohort('int-prefix', 'cutover', 100)]), specs)?.map((r) => [
        r.sciencePercent,
        r.cutoverPercent,
      ]),
      [
        [100, 100],
        [100, 100],
      ],
    );
    // The rows carry the selectors, so the data plane knows who is in each cohort.
    assert.deepEqual(cohortControlFields(state('dual_write'), specs)?.[0], {
      name: 'internal',
      apps: ['app-0001', 'app-0002'],
      sciencePercent: 0,
      cutoverPercent: 0,
    });
  });
});

describe('cohort order and the environment ramp', () => {
  it('starts science with the first cohort only', () => {
    const policy = testPolicy('e', { scienceSteps: [5, 100], cohorts: COHORTS });
    assert.deepEqual(
      initialCohorts(policy, 7).map((c) => [c.name, c.stage, c.ramp]),
      COHORTS.map((c, i) => [c.name, 'science', i === 0 ? 5 : 0]),
    );
  });

  it('lets a cohort ramp only when every cohort before it is at 100 % of its stage or in a later one', () => {
    const cohorts = [cohort('a', 'cutover', 50), cohort('b', 'science', 100), cohort('c', 'science', 0)];
    assert.equal(orderHold(cohorts, 'a'), null);
    assert.equal(orderHold(cohorts, 'b'), null, 'a is in a later stage');
    assert.equal(orderHold(cohorts, 'c'), null, 'a later, b at science 100');
    assert.match(orderHold([cohort('a', 'science', 50), cohort('b', 'science', 0)], 'b') ?? '', /cohort a is at science 50 %/);
    // Moving to cutover needs every cohort before at cutover 100 %.
    assert.match(cutoverOrderHold(cohorts, 'b') ?? '', /cohort a is at cutover 50 %/);
    assert.equal(cutoverOrderHold([cohort('a', 'cutover', 100), cohort('b', 'science', 100)], 'b'), null);
  });

  it('keeps the environment’s ramp at the least exposed cohort’s', () => {
    const s = {
      stage: 'science' as const,
      ramp: 7,
      rampSince: 0,
      fullRampSince: null as number | null,
      cohorts: [cohort('a', 'cutover', 50), cohort('b', 'science', 25, { rampSince: 9 })],
    };
    syncEnvironmentRamp(s);
    assert.deepEqual([s.ramp, s.rampSince, s.fullRampSince], [25, 9, null]);
    s.stage = 'cutover' as never;
    s.cohorts = [cohort('a', 'cutover', 100, { fullRampSince: 3 }), cohort('b', 'cutover', 100, { fullRampSince: 8 })];
    syncEnvironmentRamp(s);
    assert.deepEqual([s.ramp, s.fullRampSince], [100, 8], 'at 100 % since the last cohort got there');
  });

  it('says what happens next to a cohort in words', () => {
    const policy = testPolicy('e', { autoRamp: true, scienceSteps: [5, 100] });
    const o = { policy, envPaused: false, faultRate: 0, writerBehind: null, order: null, envStage: 'science' as const };
    assert.equal(cohortNextText(cohort('c', 'science', 0), null, o), 'begins science at 5 % on the next evaluation');
    assert.match(
      cohortNextText(cohort('c', 'science', 0), null, { ...o, order: 'cohort a is at science 5 %' }),
      /^begins science at 5 % once every cohort before it/,
    );
    assert.match(cohortNextText(cohort('c', 'science', 5, { rolledBack: { at: 1, reason: 'r', evidence: {} } }), null, o), /^rolled back automatically/);
    assert.match(cohortNextText(cohort('c', 'science', 5), null, { ...o, envPaused: true }), /^the environment is paused/);
    assert.match(
      cohortNextText(cohort('c', 'science', 100, { gate: { name: 'g', passed: true, detail: 'met', evidence: {} } }), null, o),
      /^science gate met: an operator may move it to cutover/,
    );
    assert.match(cohortNextText(cohort('c', 'cutover', 100, { gate: { name: 'g', passed: true, detail: 'met', evidence: {} } }), null, o), /^cut over/);
    assert.match(cohortNextText(cohort('c', 'science', 0), null, { ...o, policy: { ...policy, autoRamp: false } }), /set its ramp to 5 % by hand/);
  });
});
