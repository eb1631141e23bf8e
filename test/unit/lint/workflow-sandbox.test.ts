import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../../../config/config.js';

// Proves the workflow-sandbox lint rule fires: workflow code is replayed, so anything
// non-deterministic in workflows/ must fail `npm test` before it reaches a worker.
// The restriction rules need no type information: they run without the TypeScript program
// (which takes most of the time); the floating-promise rule needs it and gets the whole config.
const restrictionsOnly = new ESLint({
  cwd: REPO_ROOT,
  ruleFilter: ({ ruleId }) => ruleId.includes('no-restricted-'),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: false } } },
});
const workflowFile = path.join(REPO_ROOT, 'workflows', 'migration-workflow.ts');

async function lintAsWorkflow(code: string, eslint = restrictionsOnly): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: workflowFile });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('workflow sandbox lint rule', () => {
  it('rejects Node built-ins, clients, process and value imports of activities or pipeline', async () => {
    const messages = await lintAsWorkflow(
      [
        "import fs from 'node:fs';",
        "import { Kafka } from 'kafkajs';",
        "import { Connection } from '@temporalio/client';",
        "import { createActivities } from '../activities/index.js';",
        "import { encode } from '../pipeline/codec.js';",
        'export const x = [fs, Kafka, Connection, createActivities, encode, process.env.HOME];',
      ].join('\n'),
    );
    const text = messages.join('\n');
    assert.match(text, /'node:fs' import is restricted/);
    assert.match(text, /'kafkajs' import is restricted/);
    assert.match(text, /'@temporalio\/client' import is restricted/);
    assert.match(text, /activities\/index\.js' import is restricted/);
    assert.match(text, /pipeline\/codec\.js' import is restricted/);
    assert.match(text, /no-restricted-globals: Unexpected use of 'process'/);
  });

  it('allows type-only imports of workflow code and the workflow API', async () => {
    const messages = await lintAsWorkflow(
      [
        "import { proxyActivities } from '@temporalio/workflow';",
        "import type { SEARCH_ATTRIBUTES } from './search-attributes.js';",
        'export type S = typeof SEARCH_ATTRIBUTES;',
        'export const p = proxyActivities;',
      ].join('\n'),
    );
    assert.deepEqual(
      messages.filter((m) => m.includes('restricted')),
      [],
    );
  });

  it('makes a floating promise an error', async () => {
    const messages = await lintAsWorkflow('export async function f(): Promise<void> {\n  Promise.resolve(1);\n}\n', new ESLint({ cwd: REPO_ROOT }));
    assert.ok(
      messages.some((m) => m.startsWith('@typescript-eslint/no-floating-promises')),
      messages.join('\n'),
    );
  });
});
