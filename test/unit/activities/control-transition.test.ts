import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alreadyPublished, baseControlState, DEFAULT_RETENTION_MS, nextControlState } from '../../../activities/control-transition.js';
import { controlStateSchema, initialControlState, type ControlState } from '../../../pipeline/kernel/control/control-state.js';

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
});
