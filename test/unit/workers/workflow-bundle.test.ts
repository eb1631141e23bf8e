import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from '../../../config/config.js';
import { createLogger } from '../../../kit/logger.js';
import { workflowBundle, workflowBundleKey, workflowSourceFiles } from '../../../workers/workflow-bundle.js';

const require = createRequire(import.meta.url);
const WORKFLOWS = require.resolve('../../../workflows/index.ts');
const quiet = createLogger('test', 'silent');
const noop = (): void => undefined;

describe('the cached workflow bundle', () => {
  it('hashes every module of the repository that the real bundle holds', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS,
      logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop },
    });
    const bundled = new Set(
      [...code.matchAll(/\.\/((?:workflows|contract|control|kit|config|pipeline|activities|workers)\/[^"' ]+?\.tsx?)/g)].map((m) => m[1]!),
    );
    assert.ok(bundled.has('workflows/migration-workflow.ts') && bundled.has('contract/names.ts'), [...bundled].join(' '));
    const hashed = new Set(workflowSourceFiles(WORKFLOWS).map((f) => path.relative(REPO_ROOT, f)));
    const missing = [...bundled].filter((f) => !hashed.has(f));
    assert.deepEqual(missing, [], 'a module in the bundle that does not change the key would leave a stale bundle in use');
  });

  it('names the bundle by the contents of the entry and of every module it imports', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-key-'));
    fs.writeFileSync(path.join(dir, 'index.ts'), "export { run } from './inner/run.js';\n");
    fs.mkdirSync(path.join(dir, 'inner'));
    fs.writeFileSync(path.join(dir, 'inner', 'run.ts'), "import {\n  helper,\n} from '../helper.js';\nexport const run = helper;\n");
    fs.writeFileSync(path.join(dir, 'helper.ts'), 'export const helper = 1;\n');
    fs.writeFileSync(path.join(dir, 'unrelated.ts'), 'export const x = 1;\n');
    const entry = path.join(dir, 'index.ts');
    assert.deepEqual(
      workflowSourceFiles(entry).map((f) => path.relative(dir, f)),
      ['helper.ts', 'index.ts', path.join('inner', 'run.ts')],
    );
    const before = workflowBundleKey(entry);
    fs.writeFileSync(path.join(dir, 'unrelated.ts'), 'export const x = 2;\n');
    assert.equal(workflowBundleKey(entry), before, 'a file the workflows do not import changes nothing');
    fs.writeFileSync(path.join(dir, 'helper.ts'), 'export const helper = 2;\n');
    assert.notEqual(workflowBundleKey(entry), before, 'a change two imports away gives a new bundle');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds the bundle once, keeps it, and serves it from the cache at the next start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bundles-'));
    const entry = require.resolve('../../integration/fixtures/greeting-workflow.ts');
    const first = await workflowBundle(entry, quiet, dir);
    assert.ok('codePath' in first, 'kept on disk');
    const code = fs.readFileSync(first.codePath, 'utf8');
    assert.match(code, /greetingWorkflow/);
    const mtime = fs.statSync(first.codePath).mtimeMs;
    const second = await workflowBundle(entry, quiet, dir);
    assert.deepEqual(second, first);
    assert.equal(fs.statSync(first.codePath).mtimeMs, mtime, 'not built again');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
