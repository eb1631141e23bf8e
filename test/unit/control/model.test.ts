import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controlFields, revertPatch, transitionPatch } from '../../../control/model.js';

const H = Date.UTC(2026, 10, 26, 9, 1);

describe('control fields per stage', () => {
  it('says what the data plane applies at each point of the migration', () => {
    const at = (stage: Parameters<typeof controlFields>[0]['stage'], ramp = 0, pendingApproval = false) =>
      controlFields({ stage, ramp, coverageHorizon: H, pendingApproval });
    assert.deepEqual(at('planned'), {
      oldWriter: true,
      newWriter: false,
      sciencePercent: 0,
      cutoverPercent: 0,
      coverageHorizon: null,
      oldStoreAvailable: true,
    });
    assert.deepEqual(at('science', 25), {
      oldWriter: true,
      newWriter: true,
      sciencePercent: 25,
      cutoverPercent: 0,
      coverageHorizon: H,
      oldStoreAvailable: true,
    });
    assert.deepEqual(at('cutover', 50), {
      oldWriter: true,
      newWriter: true,
      sciencePercent: 100,
      cutoverPercent: 50,
      coverageHorizon: H,
      oldStoreAvailable: true,
    });
    assert.deepEqual(at('decommission', 0, true), at('ttl_wait'));
    assert.deepEqual(at('decommission', 0, false), {
      oldWriter: false,
      newWriter: true,
      sciencePercent: 0,
      cutoverPercent: 100,
      coverageHorizon: H,
      oldStoreAvailable: false,
    });
    assert.deepEqual(at('complete'), at('decommission', 0, false));
  });

  it('reverts exactly the fields a patch touched', () => {
    const before = controlFields({ stage: 'dual_write', ramp: 0, coverageHorizon: H, pendingApproval: false });
    assert.deepEqual(revertPatch(before, { sciencePercent: 1 }), { sciencePercent: 0 });
    assert.deepEqual(revertPatch(before, { oldWriter: false, oldStoreAvailable: false, retentionMs: 5 }), { oldWriter: true, oldStoreAvailable: true });
  });

  it('derives a transition\u2019s patch from the table: what differs, what is re-asserted, what lies outside it', () => {
    const at = (stage: Parameters<typeof controlFields>[0]['stage'], ramp = 0, pendingApproval = false) =>
      controlFields({ stage, ramp, coverageHorizon: H, pendingApproval });
    assert.deepEqual(transitionPatch(at('dual_write'), at('science', 1)), { sciencePercent: 1 });
    assert.deepEqual(transitionPatch(at('science', 100), at('cutover', 10)), { cutoverPercent: 10 });
    assert.deepEqual(transitionPatch(at('science', 100), at('cutover', 10), ['sciencePercent']), { sciencePercent: 100, cutoverPercent: 10 });
    assert.deepEqual(transitionPatch(at('ttl_wait'), at('decommission', 0, false)), { oldWriter: false, sciencePercent: 0, oldStoreAvailable: false });
    assert.deepEqual(transitionPatch(at('ttl_wait'), at('cutover', 0)), { cutoverPercent: 0 });
    assert.deepEqual(transitionPatch(at('science', 5), at('science', 5), [], { faults: { newWriterCorruptionRate: 0.5 } }), {
      faults: { newWriterCorruptionRate: 0.5 },
    });
    assert.equal(transitionPatch(at('ttl_wait'), at('decommission', 0, true)), null, 'nothing to publish: the data plane sees no change');
  });
});
