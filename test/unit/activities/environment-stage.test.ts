import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStage, stageFromSearchAttributes, stageFromState, stageOfClosedExecution } from '../../../activities/environment-stage.js';

describe('environment stage', () => {
  const pair = (name: string, value: unknown) => ({ key: { name }, value });

  it('reads the stage search attribute, typed or untyped, and ignores anything else', () => {
    assert.equal(stageFromSearchAttributes([pair('SwitchyardEnv', 'test'), pair('SwitchyardStage', 'science')]), 'science');
    assert.equal(stageFromSearchAttributes([pair('SwitchyardStage', ['cutover'])]), 'cutover');
    assert.equal(stageFromSearchAttributes([pair('SwitchyardStage', 'bogus')]), undefined);
    assert.equal(stageFromSearchAttributes([]), undefined);
  });

  it('a closed workflow is at its recorded stage, else complete when it completed, else planned', () => {
    assert.equal(stageOfClosedExecution('COMPLETED', undefined), 'complete');
    assert.equal(stageOfClosedExecution('COMPLETED', 'complete'), 'complete');
    assert.equal(stageOfClosedExecution('TERMINATED', 'cutover'), 'cutover');
    assert.equal(stageOfClosedExecution('FAILED', undefined), 'planned');
  });

  it('takes a stage from a state query answer only when it is one', () => {
    assert.equal(stageFromState({ env: 'test', stage: 'ttl_wait' }), 'ttl_wait');
    assert.equal(stageFromState({ stage: 'nope' }), undefined);
    assert.equal(stageFromState(null), undefined);
    assert.equal(isStage('decommission'), true);
    assert.equal(isStage('not_started'), false);
  });
});
