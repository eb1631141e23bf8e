// ESLint for the whole repository. Three rules matter most:
//  - no-floating-promises everywhere: an un-awaited promise hides failures;
//  - the workflow sandbox rule for workflows/: Temporal replays workflow code, so it must be
//    deterministic: no Node built-ins, no clients, no I/O, nothing from activities/ or pipeline/;
//  - the layer boundaries (LAYER_RULES): each top-level folder imports only the folders below it,
//    so a wrong-way import fails lint (docs/architecture.md, "Where the code lives").
import { builtinModules } from 'node:module';
import nextPlugin from '@next/eslint-plugin-next';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))];

/** Every top-level folder of source code. */
const FOLDERS = ['activities', 'audit', 'config', 'contract', 'infra', 'kit', 'notify', 'pipeline', 'scripts', 'test', 'tools', 'web', 'workers', 'workflows'];

/** A ban on importing the given folders (top-level, or pipeline's parts), with the layer rule in the message. */
function folderBans(folders, why) {
  return folders.map((f) => ({ group: [`**/${f}`, `**/${f}/**`], message: `${why} (layer boundaries: docs/architecture.md).` }));
}

/** Folders no data-plane or control-plane code may import: the launchers, tools and tests. */
const OUTSIDE = ['scripts', 'test', 'tools'];

/**
 * What each folder may not import, bottom to top: contract and kit import nothing of the project;
 * pipeline's kernel only those two, its jobs and its control-plane clients also the kernel (the
 * jobs' command lines also config; jobs never the clients); audit the kernel's table helper;
 * activities, web and workers sit above (never the jobs); the launchers (scripts) start the jobs
 * as processes and never import them; tools and tests may use everything.
 */
export const LAYER_RULES = {
  contract: folderBans(
    FOLDERS.filter((f) => f !== 'contract'),
    'contract/ is the bottom layer: plain names and types, it imports nothing of the project',
  ),
  kit: folderBans(
    FOLDERS.filter((f) => f !== 'kit'),
    'kit/ is shared by every entry point and imports nothing of the project',
  ),
  pipeline: folderBans(
    ['activities', 'audit', 'config', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows'],
    'the data plane runs on its own: pipeline/ imports only contract/ and kit/',
  ),
  'pipeline/kernel': folderBans(
    ['activities', 'audit', 'config', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs', 'clients'],
    'pipeline/kernel/ is shared by the jobs and the control plane: it imports only contract/ and kit/',
  ),
  'pipeline/clients': folderBans(
    ['activities', 'audit', 'config', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs'],
    'pipeline/clients/ serve the control plane: they import only the kernel, contract/ and kit/',
  ),
  'pipeline/jobs': folderBans(
    ['activities', 'audit', 'config', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'clients'],
    'the jobs run on their own: they import only the kernel, contract/ and kit/ (only their command lines read config/)',
  ),
  'pipeline/jobs/cli': folderBans(
    ['activities', 'audit', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'clients'],
    'the data plane runs on its own: its command lines import only the kernel, the jobs, contract/, kit/ and config/',
  ),
  audit: folderBans(
    ['activities', 'config', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs', 'clients'],
    'audit/ is a repository used by activities and the console: it imports only contract/, kit/ and pipeline/kernel/',
  ),
  config: folderBans(
    ['activities', 'audit', 'infra', 'notify', 'pipeline', ...OUTSIDE, 'web', 'workers', 'workflows'],
    'config/ reads settings: it imports only contract/ and kit/',
  ),
  infra: folderBans(
    ['activities', 'audit', 'notify', 'pipeline', ...OUTSIDE, 'web', 'workers', 'workflows'],
    'infra/ starts services: it imports only contract/, kit/ and config/',
  ),
  notify: folderBans(
    ['activities', 'audit', 'infra', 'pipeline', ...OUTSIDE, 'web', 'workers', 'workflows'],
    'notify/ posts notifications for the worker and the console: it imports only contract/, kit/ and config/',
  ),
  activities: folderBans(
    ['infra', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs'],
    'activities/ implement the contract: they import contract/, kit/, config/, audit/ and the pipeline\u2019s kernel and clients, never the workflow, the jobs, the console or the launchers',
  ),
  web: folderBans(
    ['activities', 'infra', ...OUTSIDE, 'workers', 'workflows', 'jobs'],
    'the console reads through contract/, audit/, config/ and the pipeline\u2019s kernel and clients, and writes only through workflow updates',
  ),
  workers: folderBans([...OUTSIDE, 'web', 'jobs'], 'workers/ host the control plane: no console, launcher, job, tool or test code'),
  scripts: folderBans(['test', 'tools', 'jobs'], 'the launchers do not depend on tools or tests, and start the jobs as processes (never import them)'),
  tools: folderBans(['scripts', 'web'], 'tools drive the system from outside: no launcher or console code'),
};

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
    {
      group: ['**/activities', '**/activities/**'],
      message: 'Workflows call activities through proxyActivities with the interface in contract/activities.ts: nothing from activities/, not even types.',
    },
    {
      group: ['**/pipeline', '**/pipeline/**', '**/workers/**', '**/config/**', '**/infra/**'],
      message: 'Workflows may not import data-plane, worker, config or infra code.',
    },
    ...folderBans(['audit', 'kit', 'notify', 'scripts', 'test', 'tools', 'web'], 'workflows/ import only contract/ and the workflow API'),
    { group: ['@aws-sdk/*', 'next', 'next/*', 'react'], message: 'Workflows must not hold clients or do I/O: call an activity instead.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', 'web/.next/**', 'web/next-env.d.ts', 'dist/**', 'test-results/**', '.cache/**'] },
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
  // Layer boundaries, one block per folder (pipeline's parts after pipeline: the later block wins).
  ...Object.entries(LAYER_RULES).map(([folder, patterns]) => ({
    files: [`${folder}/**/*.ts`, `${folder}/**/*.tsx`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  })),
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
