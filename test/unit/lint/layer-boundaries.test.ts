import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../../../config/config.js';

// Proves the layer boundaries fire: a wrong-way import fails lint, the right-way one passes.
// The project's own config, with only the boundary rule run: that rule needs no type
// information, so the linter skips building the TypeScript program (40 s of CPU in CI).
const RULE = '@typescript-eslint/no-restricted-imports';
const eslint = new ESLint({
  cwd: REPO_ROOT,
  ruleFilter: ({ ruleId }) => ruleId === RULE,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: false } } },
});

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO_ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('layer boundaries lint rule', () => {
  it('refuses wrong-way imports, naming the rule', async () => {
    const cases: [file: string, spec: string][] = [
      ['web/lib/data.ts', '../../activities/migration-activities.js'],
      ['web/lib/data.ts', '../../workflows/migration-gates.js'],
      ['pipeline/jobs/query/read-router.ts', '../../activities/migration-activities.js'],
      ['pipeline/jobs/query/read-router.ts', '../../config/config.js'],
      ['contract/names.ts', '../pipeline/topics.js'],
      ['kit/cli.ts', '../config/config.js'],
      ['config/config.ts', '../pipeline/topics.js'],
      ['activities/migration-activities.ts', '../workflows/migration-gates.js'],
      ['audit/audit-log.ts', '../activities/migration-activities.js'],
      ['workflows/migration-gates.ts', '../audit/audit-log.js'],
      ['web/lib/data.ts', '../../pipeline/jobs/query/read-router'],
      ['activities/migration-activities.ts', '../pipeline/jobs/writer/writer.js'],
      ['pipeline/kernel/stores/cassandra-store.ts', '../../clients/science-stats-reader.js'],
      ['pipeline/kernel/topics.ts', '../jobs/aggregator/aggregator.js'],
      ['pipeline/clients/heartbeat-table.ts', '../jobs/control-state-client.js'],
      ['pipeline/jobs/writer/writer.ts', '../../../tools/generator/workload.js'],
      ['pipeline/jobs/query/read-router.ts', '../../clients/science-stats-reader.js'],
      ['pipeline/jobs/writer/writer.ts', '../../clients/heartbeat-table.js'],
      ['pipeline/jobs/cli/writer.ts', '../../clients/control-state-publisher.js'],
      ['scripts/start.ts', '../pipeline/jobs/writer/writer.js'],
      ['scripts/start/demo-processes.ts', '../../pipeline/jobs/cli/job-options.js'],
      ['notify/notifier.ts', '../activities/migration-activities.js'],
      ['notify/notifier.ts', '../pipeline/kernel/topics.js'],
      ['pipeline/jobs/query/read-router.ts', '../../../notify/notifier.js'],
      ['workflows/migration-gates.ts', '../notify/events.js'],
    ];
    for (const [file, spec] of cases) {
      const messages = await restricted(file, `import * as m from '${spec}';\nexport const x = m;\n`);
      assert.equal(messages.length, 1, `${file} importing ${spec}: ${messages.join('; ')}`);
      assert.match(messages[0]!, /layer boundaries/);
    }
  });

  it('refuses even a type-only import of activities/ in workflows/', async () => {
    const messages = await restricted(
      'workflows/migration/run.ts',
      "import type { MigrationActivities } from '../../activities/migration-activities.js';\nexport type A = MigrationActivities;\n",
    );
    assert.equal(messages.length, 1, messages.join('; '));
    assert.match(messages[0]!, /contract\/activities\.ts/);
  });

  it('allows imports down the layers', async () => {
    const cases: [file: string, spec: string][] = [
      ['web/lib/data.ts', '../../contract'],
      ['web/lib/data.ts', '../../audit/audit-log'],
      ['pipeline/jobs/query/read-router.ts', '../../contract/index.js'],
      ['pipeline/jobs/cli/writer.ts', '../../config/config.js'],
      ['activities/migration-activities.ts', '../audit/audit-log.js'],
      ['workflows/migration-gates.ts', '../contract/index.js'],
      ['scripts/start.ts', '../web/lib/console-users.js'],
      ['web/lib/data.ts', '../../pipeline/clients/science-stats-reader'],
      ['pipeline/jobs/query/read-router.ts', '../../kernel/stores/metric-store.js'],
      ['tools/bench/pipeline-bench.ts', '../../pipeline/jobs/aggregator/aggregator.js'],
      ['notify/notifier.ts', '../config/notifier-settings.js'],
      ['activities/migration-activities.ts', '../notify/events.js'],
      ['web/lib/console-notifier.ts', '../../notify/notifier'],
    ];
    for (const [file, spec] of cases) {
      assert.deepEqual(await restricted(file, `import * as m from '${spec}';\nexport const x = m;\n`), [], `${file} importing ${spec}`);
    }
  });
});
