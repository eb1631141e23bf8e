import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idleClosable } from '../../../../pipeline/jobs/aggregator/aggregator.js';

describe('idle close of a partition', () => {
  it('closes on the clock only a partition that was at its end and has been silent for idleMs', () => {
    assert.equal(idleClosable({ caughtUp: true, lastMessageAt: 0 }, 15_000, 15_000), true);
    assert.equal(idleClosable({ caughtUp: true, lastMessageAt: 0 }, 14_999, 15_000), false, 'not silent long enough');
    // A backlog drains partition by partition: one waiting for its next batch is behind, not idle.
    assert.equal(idleClosable({ caughtUp: false, lastMessageAt: 0 }, 60_000, 15_000), false);
  });
});
