import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actorProblem, inputProblems } from '../../workflows/migration-input.js';
import type { MigrationInput, MigrationPolicy, MigrationState } from '../../contract/index.js';
import { testPolicy } from './support/test-policy.js';

const input = (policy: Partial<MigrationPolicy> = {}, rest: Partial<MigrationInput> = {}): MigrationInput => ({
  env: 'staging',
  policy: testPolicy('staging', policy),
  ...rest,
});

describe('migration input validation', () => {
  it('accepts a sane policy', () => {
    assert.deepEqual(inputProblems(input({ promotionOrder: ['test', 'staging', 'production'] })), []);
  });

  it('names every problem at once', () => {
    const problems = inputProblems({
      env: 'Staging!',
      policy: {
        ...testPolicy('staging'),
        cutoverSteps: [10, 50],
        scienceSteps: [0, 100],
        rollbackErrorRate: -0.1,
        bakeMs: { dualWrite: -1, science: 0, cutover: 0 },
        keepOldTables: 'no' as unknown as boolean,
      },
    });
    assert.deepEqual(problems, [
      'env must match /^[a-z][a-z0-9-]{0,30}$/ (got "Staging!")',
      'promotionOrder ["staging"] does not include the environment "Staging!"',
      'bakeMs.dualWrite must be a non-negative number (got -1)',
      'scienceSteps must hold integers in 1..100 (got [0,100])',
      'cutoverSteps must end at 100 (got [10,50])',
      'rollbackErrorRate must be a rate in [0, 1] (got -0.1)',
      'keepOldTables must be a boolean',
    ]);
  });

  it('rejects thresholds that contradict each other and a promotion order without the env', () => {
    assert.deepEqual(inputProblems(input({ promotionOrder: ['test', 'test'] })), [
      'promotionOrder has duplicates: ["test","test"]',
      'promotionOrder ["test","test"] does not include the environment "staging"',
    ]);
    assert.deepEqual(inputProblems(input({ maxMismatchRate: 0.05, rollbackMismatchRate: 0.01 })), [
      'rollbackMismatchRate (0.01) must not be below maxMismatchRate (0.05)',
    ]);
    assert.deepEqual(inputProblems(input({ continueAsNewAfter: 0, ackTimeoutMs: Number.NaN })), [
      'ackTimeoutMs must be a positive number of ms (got NaN)',
      'continueAsNewAfter must be a positive integer (got 0)',
    ]);
    // The two-window and new-store-read fields are optional, checked when present.
    assert.deepEqual(inputProblems(input({ shortWindowMs: 60_000, minNewStoreReads: 100, minNewStoreShare: 0.8 })), []);
    const bad = inputProblems(input({ evaluationWindowMs: 60_000, shortWindowMs: 120_000, minNewStoreReads: 1.5, minNewStoreShare: 2 }));
    assert.equal(bad.length, 3, bad.join('\n'));
    assert.match(bad.join('\n'), /shortWindowMs \(120000\) must not be longer than evaluationWindowMs \(60000\)/);
    assert.match(bad.join('\n'), /minNewStoreReads/);
    assert.match(bad.join('\n'), /minNewStoreShare must be a rate in \[0, 1\] \(got 2\)/);
  });

  it('rejects a carried state of another environment', () => {
    const carried = { env: 'production', stage: 'science' } as MigrationState;
    assert.deepEqual(inputProblems(input({}, { carried })), ['carried state is for env "production", not "staging"']);
    assert.deepEqual(inputProblems(undefined), ['input must be { env, policy }']);
  });

  it('requires an identity, a reason and a request id, and reserves "automatic"', () => {
    assert.equal(actorProblem({ identity: 'alice', reason: 'OPS-1', requestId: 'r1' }), null);
    assert.equal(actorProblem({ identity: '', reason: 'x', requestId: 'r1' }), 'identity is required (who is asking)');
    assert.equal(actorProblem({ identity: 'automatic', reason: 'x', requestId: 'r1' }), 'identity "automatic" is reserved for the workflow\'s own actions');
    assert.equal(actorProblem({ identity: 'alice', reason: '  ', requestId: 'r1' }), 'reason is required (why; it goes into the audit log)');
    assert.equal(actorProblem({ identity: 'alice', reason: 'x', requestId: 'r'.repeat(201) }), 'requestId is longer than 200 characters');
    assert.equal(actorProblem(undefined), 'the request must carry an actor { identity, reason, requestId }');
  });
});
