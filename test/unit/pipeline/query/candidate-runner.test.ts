import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CandidateRunner } from '../../../../pipeline/jobs/query/candidate-runner.js';

describe('candidate runner', () => {
  it('returns values, records errors instead of throwing, and times out slow reads', async () => {
    const r = new CandidateRunner(4, 50);
    const ok = await r.tryRun(async () => 42)!;
    assert.equal(ok.kind, 'ok');
    const err = await r.tryRun(async () => {
      throw new Error('store down');
    })!;
    assert.deepEqual([err.kind, err.kind === 'error' ? err.error.message : ''], ['error', 'store down']);
    const slow = await r.tryRun(() => sleep(500).then(() => 1))!;
    assert.equal(slow.kind, 'timeout');
    assert.ok(slow.ms < 200);
  });

  it('skips, never queues, when the in-flight cap is reached, and frees the slot when the read really ends', async () => {
    const r = new CandidateRunner(2, 20);
    const a = r.tryRun(() => sleep(150));
    const b = r.tryRun(() => sleep(150));
    assert.ok(a && b);
    assert.equal(
      r.tryRun(() => sleep(1)),
      undefined,
      'third is skipped',
    );
    assert.equal((await a).kind, 'timeout');
    assert.equal(r.running, 2, 'timed-out reads still hold their slot until they end');
    await sleep(200);
    assert.equal(r.running, 0);
    assert.ok(r.tryRun(async () => 1));
  });
});
