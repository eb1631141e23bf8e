import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { ActivityFailureType } from '../../../contract/index.js';
import { toActivityFailure } from '../../../activities/activity-failures.js';
import { AuditSeqConflictError } from '../../../audit/audit-log.js';
import { AcknowledgementTimeoutError, ControlReadTimeoutError, InvalidControlStateError } from '../../../control/index.js';

describe('activity failures', () => {
  it('turns an acknowledgement timeout into a retryable failure naming each laggard', () => {
    const err = new AcknowledgementTimeoutError(
      'staging',
      12,
      [{ instanceId: 'writer-dynamodb-a', role: 'writer-dynamodb', appliedVersion: 11, lastHeartbeatAgoMs: 400 }],
      5000,
    );
    const f = toActivityFailure(err);
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.nonRetryable, false);
    assert.equal(f.type, ActivityFailureType.acknowledgementTimeout);
    assert.match(f.message, /writer-dynamodb-a \(role writer-dynamodb, applies version 11/);
    assert.deepEqual((f.details?.[0] as { laggards: unknown[] }).laggards, err.laggards);
  });

  it('turns errors marked not retriable into non-retryable failures of their name', () => {
    const invalid = toActivityFailure(new InvalidControlStateError('bad percent'));
    assert.ok(invalid instanceof ApplicationFailure);
    assert.deepEqual([invalid.nonRetryable, invalid.type, invalid.message], [true, ActivityFailureType.invalidControlState, 'bad percent']);
    const conflict = toActivityFailure(
      new AuditSeqConflictError({ env: 'test', seq: 3, workflowId: 'w', action: 'advance' }, { workflowId: 'v', action: 'rollback', runId: 'r', at: 0 }),
    );
    assert.ok(conflict instanceof ApplicationFailure);
    assert.equal(conflict.type, ActivityFailureType.auditSeqConflict);
    assert.equal(conflict.nonRetryable, true);
  });

  it('lets transient errors through unchanged, for the retry policy', () => {
    const transient = new ControlReadTimeoutError('switchyard.control', 1000);
    assert.equal(toActivityFailure(transient), transient);
    const plain = new Error('ECONNREFUSED');
    assert.equal(toActivityFailure(plain), plain);
    const already = ApplicationFailure.nonRetryable('x');
    assert.equal(toActivityFailure(already), already);
  });
});
