import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../../../config/config.js';

// What the tools generate in the working tree must not fail the static phase of the next
// `npm test`: the control worker's cached workflow bundle, the stack's files, the console's build.
describe('lint skips generated files', () => {
  it('ignores .cache/, .stack/, web/.next/ and test-results/, and lints the sources', async () => {
    const eslint = new ESLint({ cwd: REPO_ROOT });
    for (const generated of ['.cache/workflow-bundles/workflows-0123456789abcdef.js', '.stack/tools/x.js', 'web/.next/server/app.js', 'test-results/x.js'])
      assert.equal(await eslint.isPathIgnored(path.join(REPO_ROOT, generated)), true, generated);
    for (const source of ['workers/workflow-bundle.ts', 'web/app/page.tsx'])
      assert.equal(await eslint.isPathIgnored(path.join(REPO_ROOT, source)), false, source);
  });
});
