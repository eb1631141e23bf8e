// ESLint for the whole repository. Three rules matter most:
//  - no-floating-promises everywhere: an un-awaited promise hides failures;
//  - the workflow sandbox rule for workflows/: Temporal replays workflow code, so it must be
//    deterministic: no Node built-ins, no clients, no I/O, nothing from activities/ or pipeline/;
//  - the layer boundaries (LAYER_RULES): each top-level folder imports only the folders below it,
//    and each side of the control channel only its own end of control/, so a wrong-way import
//    fails lint (docs/architecture.md, "Where the code lives").
import { builtinModules } from 'node:module';
import nextPlugin from '@next/eslint-plugin-next';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))];

/** Every top-level folder of source code. */
const FOLDERS = [
  'activities',
  'audit',
  'config',
  'contract',
  'control',
  'infra',
  'kit',
  'notify',
  'pipeline',
  'scripts',
  'test',
  'tools',
  'web',
  'workers',
  'workflows',
];

/** A ban on importing the given folders (top-level, or pipeline's parts), with the layer rule in the message. */
function folderBans(folders, why) {
  return folders.map((f) => ({ group: [`**/${f}`, `**/${f}/**`], message: `${why} (layer boundaries: docs/architecture.md).` }));
}

/** Folders no data-plane or control-plane code may import: the launchers, tools and tests. */
const OUTSIDE = ['scripts', 'test', 'tools'];

/** pipeline/verify/: the pipeline's libraries for the control plane's verify and repair (a pattern of its own: contract/verify.ts is not it). */
const PIPELINE_VERIFY = {
  group: ['**/verify/**'],
  message: 'pipeline/verify/ serves the control plane\u2019s verify and repair, never the data plane (layer boundaries: docs/architecture.md).',
};

/**
 * The control channel's ends (control/index.ts): the data plane's jobs import the subscriber, the
 * control plane's activities and workers the publisher, the console the observer; every side may
 * import the shared face (control/index.ts) and the model. The rest of control/ (wire/, reader.ts,
 * errors.ts) is its inside.
 */
const CONTROL_ENDS = ['publisher', 'subscriber', 'observer'];

/** A ban on every part of control/ but the shared face, the model and the ends named in `own`. */
function controlBans(own, why) {
  const ends = CONTROL_ENDS.filter((e) => !own.includes(e));
  return [
    {
      group: [...ends, 'reader', 'errors'].flatMap((f) => [`**/control/${f}`, `**/control/${f}.js`]).concat(['**/control/wire', '**/control/wire/**']),
      message: `${why}; the rest of control/ is imported through control/index.ts (layer boundaries: docs/architecture.md).`,
    },
  ];
}

/**
 * What each folder may not import, bottom to top: contract and kit import nothing of the project;
 * control (the control channel) and pipeline's kernel only those two; pipeline's jobs also the
 * kernel and the channel's subscriber (their command lines also config), its verify libraries the
 * kernel; audit the kernel's table helper; activities, web and workers sit above (never the jobs),
 * the first and last with the channel's publisher, the console with its observer; the launchers
 * (scripts) start the jobs as processes and never import them; tools and tests may use everything.
 * The workflows' rules are the sandbox's (workflowSandboxImports): contract/ and control/model.ts.
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
  control: folderBans(
    FOLDERS.filter((f) => !['contract', 'control', 'kit'].includes(f)),
    'control/ owns the control channel and sits beside the kernel: it imports only contract/ and kit/',
  ),
  pipeline: [
    ...folderBans(
      ['activities', 'audit', 'config', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows'],
      'the data plane runs on its own: pipeline/ imports only contract/ and kit/',
    ),
    ...controlBans(['subscriber'], 'the data plane takes the control channel\u2019s subscriber, never its publisher or observer'),
  ],
  'pipeline/kernel': [
    ...folderBans(
      ['activities', 'audit', 'config', 'control', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs'],
      'pipeline/kernel/ is shared by the jobs and the control plane: it imports only contract/ and kit/',
    ),
    PIPELINE_VERIFY,
  ],
  'pipeline/verify': folderBans(
    ['activities', 'audit', 'config', 'control', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs'],
    'pipeline/verify/ serves the control plane\u2019s verify and repair: it imports only the kernel, contract/ and kit/',
  ),
  'pipeline/jobs': [
    ...folderBans(
      ['activities', 'audit', 'config', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows'],
      'the jobs run on their own: they import only the kernel, the control channel\u2019s subscriber, contract/ and kit/ (only their command lines read config/)',
    ),
    PIPELINE_VERIFY,
    ...controlBans(['subscriber'], 'the jobs take the control channel\u2019s subscriber, never its publisher or observer'),
  ],
  'pipeline/jobs/cli': [
    ...folderBans(
      ['activities', 'audit', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows'],
      'the data plane runs on its own: its command lines import only the kernel, the jobs, the control channel\u2019s subscriber, contract/, kit/ and config/',
    ),
    PIPELINE_VERIFY,
    ...controlBans(['subscriber'], 'the jobs take the control channel\u2019s subscriber, never its publisher or observer'),
  ],
  audit: [
    ...folderBans(
      ['activities', 'config', 'control', 'infra', 'notify', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs'],
      'audit/ is a repository used by activities and the console: it imports only contract/, kit/ and pipeline/kernel/',
    ),
    PIPELINE_VERIFY,
  ],
  config: folderBans(
    ['activities', 'audit', 'control', 'infra', 'notify', 'pipeline', ...OUTSIDE, 'web', 'workers', 'workflows'],
    'config/ reads settings: it imports only contract/ and kit/',
  ),
  infra: folderBans(
    ['activities', 'audit', 'control', 'notify', 'pipeline', ...OUTSIDE, 'web', 'workers', 'workflows'],
    'infra/ starts services: it imports only contract/, kit/ and config/',
  ),
  notify: folderBans(
    ['activities', 'audit', 'control', 'infra', 'pipeline', ...OUTSIDE, 'web', 'workers', 'workflows'],
    'notify/ posts notifications for the worker and the console: it imports only contract/, kit/ and config/',
  ),
  activities: [
    ...folderBans(
      ['infra', ...OUTSIDE, 'web', 'workers', 'workflows', 'jobs'],
      'activities/ implement the contract: they import contract/, kit/, config/, audit/, the control channel\u2019s publisher and the pipeline\u2019s kernel and verify libraries, never the workflow, the jobs, the console or the launchers',
    ),
    ...controlBans(['publisher'], 'the activities take the control channel\u2019s publisher, never its subscriber or observer'),
  ],
  web: [
    ...folderBans(
      ['activities', 'infra', ...OUTSIDE, 'workers', 'workflows', 'jobs'],
      'the console reads through contract/, audit/, config/, the control channel\u2019s observer and the pipeline\u2019s kernel and verify libraries, and writes only through workflow updates',
    ),
    ...controlBans(['observer'], 'the console takes the control channel\u2019s observer: it never publishes or applies a state'),
  ],
  workers: [
    ...folderBans([...OUTSIDE, 'web', 'jobs'], 'workers/ host the control plane: no console, launcher, job, tool or test code'),
    ...controlBans(['publisher'], 'workers/ host the control plane: they take the control channel\u2019s publisher'),
  ],
  scripts: [
    ...folderBans(['test', 'tools', 'jobs'], 'the launchers do not depend on tools or tests, and start the jobs as processes (never import them)'),
    ...controlBans(['publisher', 'observer'], 'the launchers start the jobs as processes: never the subscriber, the jobs\u2019 end of the control channel'),
  ],
  tools: folderBans(['scripts', 'web'], 'tools drive the system from outside: no launcher or console code'),
};

/**
 * Inside control/: its three ends never import one another (each is one side's, and all read
 * through reader.ts), and the wire format knows nothing of the ends or the reader. Exported for
 * the test that proves the rules fire.
 */
export const CONTROL_INSIDE_RULES = {
  'control/publisher.ts': ['subscriber', 'observer'],
  'control/subscriber.ts': ['publisher', 'observer'],
  'control/observer.ts': ['publisher', 'subscriber'],
  'control/reader.ts': CONTROL_ENDS,
  'control/wire/**/*.ts': [...CONTROL_ENDS, 'reader'],
};

/** A ban, inside control/, on the parts of it named (relative imports: './x.js' or '../x.js'). */
function controlInsideBans(parts) {
  return {
    group: parts.flatMap((f) => [`./${f}`, `./${f}.js`, `../${f}`, `../${f}.js`]),
    message: 'inside control/, each end of the channel stands alone and the wire format knows no end (layer boundaries: docs/architecture.md).',
  };
}

/**
 * control/model.ts is part of the workflows' bundle (they import it alone): pure code, so no Node
 * built-ins, no clients, not kit/ (its logger holds pino, its CLI reads process), and from the rest
 * of control/ types only. Exported for the test that proves the rule fires.
 */
export const CONTROL_MODEL_IMPORTS = {
  paths: [...nodeBuiltins, 'kafkajs', 'zod', 'pino'].map((name) => ({
    name,
    message: 'control/model.ts is part of the workflow bundle: pure and deterministic, no Node built-ins, clients or I/O.',
  })),
  patterns: [
    ...LAYER_RULES.control,
    {
      group: ['**/kit', '**/kit/**'],
      message: 'control/model.ts is part of the workflow bundle: it imports only contract/ (layer boundaries: docs/architecture.md).',
    },
    {
      group: ['./*', './wire/*'],
      allowTypeImports: true,
      message: 'control/model.ts is part of the workflow bundle: from the rest of control/ it takes types only (layer boundaries: docs/architecture.md).',
    },
  ],
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
    {
      // A regex, not a group: in a group the folder's pattern shuts every file in it, and model.ts could not be let in again.
      regex: '(^|/)control(/(?!model(\\.js)?$).*)?$',
      message:
        'workflows/ take only control/model.ts of the control channel (pure, part of their bundle); publishing is the publishControl activity\u2019s (layer boundaries: docs/architecture.md).',
    },
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
  // Inside control/ (after control's own block: the later block wins, so each repeats control's bans).
  ...Object.entries(CONTROL_INSIDE_RULES).map(([files, parts]) => ({
    files: [files],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [...LAYER_RULES.control, controlInsideBans(parts)] }] },
  })),
  { files: ['control/model.ts'], rules: { '@typescript-eslint/no-restricted-imports': ['error', CONTROL_MODEL_IMPORTS] } },
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
