import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { before, describe, it } from 'node:test';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJsonText } from './support/history-json.js';
import { HISTORY_DIR, recordHistories } from './support/history-scenarios.js';
import { bundleWorkflows, createTestEnvironment } from './support/migration-harness.js';

// Recorded histories of representative runs, replayed against the current workflow code: a
// change that would break workflows already running in production fails here first.
const require = createRequire(import.meta.url);

function loadHistories(): { workflowId: string; history: ReturnType<typeof historyFromJsonText> }[] {
  return fs
    .readdirSync(HISTORY_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ workflowId: path.basename(f, '.json'), history: historyFromJsonText(fs.readFileSync(path.join(HISTORY_DIR, f), 'utf8')) }));
}

describe('replay of recorded migration histories', () => {
  let bundle: WorkflowBundleWithSourceMap;

  before(async () => {
    bundle = await bundleWorkflows();
    if (process.env.RECORD_HISTORIES) {
      const testEnv = await createTestEnvironment();
      try {
        const files = await recordHistories(testEnv, bundle);
        console.log(`recorded ${files.length} histories:\n${files.join('\n')}`);
      } finally {
        await testEnv.teardown();
      }
    }
  });

  it('replays every recorded history with the current workflow code', async () => {
    const histories = loadHistories();
    assert.deepEqual(
      histories.map((h) => h.workflowId),
      [
        'audited-rejections',
        'cohorts',
        'continue-as-new-1',
        'continue-as-new-2',
        'full-run',
        'gates-v2-windows',
        'rejections-and-repeats',
        'rollbacks',
        'ttl-wait-watch',
      ],
    );
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'migration-replay' }, histories)) results.push(result);
    assert.equal(results.length, histories.length);
    for (const r of results) assert.equal(r.error, undefined, `${r.workflowId} does not replay: ${String(r.error)}`);
  });

  it('fails with a DeterminismViolationError against a workflow changed incompatibly (the test can fail)', async () => {
    const broken = await bundleWorkflows(require.resolve('./fixtures/nondeterministic-migration-workflow.ts'));
    const [full] = loadHistories().filter((h) => h.workflowId === 'full-run');
    assert.ok(full);
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: broken, replayName: 'migration-replay-broken' }, full.history, full.workflowId),
      DeterminismViolationError,
    );
  });
});
