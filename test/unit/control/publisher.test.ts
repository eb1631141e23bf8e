import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controlStateSchema, initialControlState, type ControlState } from '../../../control/index.js';
import { alreadyPublished, baseControlState, DEFAULT_RETENTION_MS, nextControlState } from '../../../control/publisher.js';

const now = new Date('2026-11-26T10:00:00.000Z');
const latest = (): ControlState => ({
  ...initialControlState('staging', 86_400_000),
  version: 7,
  newWriter: true,
  sciencePercent: 25,
  coverageHorizon: 1_800_000_000_000,
  faults: { newWriterCorruptionRate: 0.1 },
  transitionId: 'switchyard-migration-staging#6',
});

describe('control transition', () => {
  it('lays the patch over the newest state, bumps the version and stamps the transition', () => {
    const next = nextControlState(
      latest(),
      { transitionId: 'switchyard-migration-staging#7', patch: { sciencePercent: 50 }, actor: 'alice', reason: 'ramp' },
      now,
    );
    assert.deepEqual(next, {
      ...latest(),
      version: 8,
      sciencePercent: 50,
      transitionId: 'switchyard-migration-staging#7',
      updatedAt: '2026-11-26T10:00:00.000Z',
      updatedBy: 'alice',
      reason: 'ramp',
    });
    assert.ok(controlStateSchema.safeParse(next).success);
  });

  it('keeps what the patch leaves out: undefined changes nothing, null clears', () => {
    const next = nextControlState(
      latest(),
      { transitionId: 't', patch: { coverageHorizon: null, sciencePercent: undefined, cutoverPercent: 10 }, actor: 'automatic', reason: 'rollback' },
      now,
    );
    assert.equal(next.coverageHorizon, null);
    assert.equal(next.sciencePercent, 25);
    assert.equal(next.cutoverPercent, 10);
    assert.deepEqual(next.faults, { newWriterCorruptionRate: 0.1 });
    assert.equal(next.env, 'staging');
  });

  it('starts from the initial state (old store only) when nothing was published, with the patch retention or 7 days', () => {
    assert.equal(baseControlState(undefined, { env: 'test', patch: {} }).retentionMs, DEFAULT_RETENTION_MS);
    const base = baseControlState(undefined, { env: 'test', patch: { retentionMs: 3_600_000 } });
    assert.deepEqual(base, initialControlState('test', 3_600_000));
    assert.equal(nextControlState(base, { transitionId: 't1', patch: { newWriter: true }, actor: 'a', reason: 'r' }, now).version, 1);
    assert.equal(baseControlState(latest(), { env: 'staging', patch: { retentionMs: 1 } }).version, 7, 'the newest state wins');
  });

  it('recognises only its own transition as already published', () => {
    assert.equal(alreadyPublished(latest(), 'switchyard-migration-staging#6'), true);
    assert.equal(alreadyPublished(latest(), 'switchyard-migration-staging#7'), false);
    assert.equal(alreadyPublished(undefined, 'x'), false);
    assert.equal(alreadyPublished({ ...latest(), transitionId: undefined }, ''), false, 'a hand-published state matches no transition');
  });

  it('carries the cohorts\u2019 rows and a fault switch limited to a cohort; a state from before cohorts still decodes', () => {
    const cohorts = [
      { name: 'internal', apps: ['app-0001'], sciencePercent: 100, cutoverPercent: 50 },
      { name: 'everyone-else', sciencePercent: 0, cutoverPercent: 0 },
    ];
    const next = nextControlState(
      latest(),
      { transitionId: 't', patch: { cohorts, faults: { newWriterCorruptionRate: 0.5, cohort: 'internal' } }, actor: 'alice', reason: 'cohort' },
      now,
    );
    const decoded = controlStateSchema.safeParse(JSON.parse(JSON.stringify(next)));
    assert.ok(decoded.success);
    assert.deepEqual(decoded.data.cohorts, cohorts);
    assert.deepEqual(decoded.data.faults, { newWriterCorruptionRate: 0.5, cohort: 'internal' });
    // Published before cohorts existed: no cohorts field, a fault switch without a cohort.
    const before = JSON.parse(JSON.stringify(latest())) as Record<string, unknown>;
    assert.equal('cohorts' in before, false);
    assert.ok(controlStateSchema.safeParse(before).success);
    // A cohort row that says nothing sensible is refused like any other bad field.
    assert.equal(controlStateSchema.safeParse({ ...next, cohorts: [{ name: 'x', sciencePercent: 150, cutoverPercent: 0 }] }).success, false);
  });
});
