// ESLint for the whole repository. Two rules matter most:
//  - no-floating-promises everywhere: an un-awaited promise hides failures;
//  - the workflow sandbox rule for workflows/: Temporal replays workflow code, so it must be
//    deterministic: no Node built-ins, no clients, no I/O, nothing from activities/ or pipeline/.
import { builtinModules } from 'node:module';
import nextPlugin from '@next/eslint-plugin-next';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))];

/** Import bans inside workflows/ (exported for the test that proves the rule fires). */
export const workflowSandboxImports = {
  paths: [
    ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code is replayed: no Node built-ins in workflows/ (use @temporalio/workflow APIs).' })),
    ...['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing', 'kafkajs', 'cassandra-driver', 'pino'].map((name) => ({
      name,
      message: 'Workflows must not hold clients or do I/O: call an activity instead.',
    })),
  ],
  patterns: [
    { group: ['**/activities', '**/activities/**'], message: 'Workflows import activities only as types, through proxyActivities (use `import type`).', allowTypeImports: true },
    { group: ['**/pipeline', '**/pipeline/**', '**/workers/**', '**/config/**', '**/infra/**'], message: 'Workflows may not import data-plane, worker, config or infra code.' },
    { group: ['@aws-sdk/*', 'next', 'next/*', 'react'], message: 'Workflows must not hold clients or do I/O: call an activity instead.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', 'web/.next/**', 'web/next-env.d.ts', 'dist/**', 'test-results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it/hooks return promises the runner itself awaits: not floating.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The console: Next.js' own rules (core web vitals) and the rules of hooks. Type information
    // for web/ comes from web/tsconfig.json (the nearest tsconfig of each file).
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    plugins: { '@next/next': nextPlugin, 'react-hooks': reactHooks },
    settings: { next: { rootDir: 'web/' } },
    rules: {
      ...nextPlugin.configs.recommended.rules,
      ...nextPlugin.configs['core-web-vitals'].rules,
      ...reactHooks.configs.recommended.rules,
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', workflowSandboxImports],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process.env or process APIs in workflows: pass values in the workflow input.' },
        { name: 'require', message: 'No dynamic requires in workflows.' },
        { name: 'fetch', message: 'No I/O in workflows: call an activity.' },
      ],
    },
  },
);
