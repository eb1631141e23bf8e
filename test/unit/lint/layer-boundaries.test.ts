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
      ['pipeline/kernel/stores/cassandra-store.ts', '../../verify/range-verify.js'],
      ['pipeline/kernel/topics.ts', '../jobs/aggregator/aggregator.js'],
      ['pipeline/verify/range-replay.ts', '../jobs/writer/writer.js'],
      ['pipeline/jobs/writer/writer.ts', '../../../tools/generator/workload.js'],
      ['pipeline/jobs/query/read-router.ts', '../../verify/range-verify.js'],
      ['pipeline/jobs/writer/writer.ts', '../../../control/wire/heartbeat-table.js'],
      ['pipeline/jobs/cli/writer.ts', '../../../control/publisher.js'],
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

  it('holds the control channel to its layer: control/ imports only contract/ and kit/, each side only its own end', async () => {
    const cases: [file: string, spec: string][] = [
      // Out of control/: nothing above contract/ and kit/.
      ['control/reader.ts', '../pipeline/kernel/topics.js'],
      ['control/publisher.ts', '../activities/migration-activities.js'],
      ['control/subscriber.ts', '../pipeline/jobs/job-consumer.js'],
      ['control/observer.ts', '../config/clients.js'],
      ['control/wire/schema.ts', '../../workflows/migration-gates.js'],
      ['control/publisher.ts', '../audit/audit-log.js'],
      // Into control/ from below it: contract/, kit/, config/, the kernel, audit/.
      ['contract/names.ts', '../control/model.js'],
      ['kit/cli.ts', '../control/index.js'],
      ['config/config.ts', '../control/index.js'],
      ['pipeline/kernel/topics.ts', '../../control/index.js'],
      ['audit/audit-log.ts', '../control/model.js'],
      // Each side its own end: the jobs the subscriber, the activities and workers the publisher, the console the observer.
      ['pipeline/jobs/query/read-router.ts', '../../../control/observer.js'],
      ['pipeline/jobs/cli/writer.ts', '../../../control/publisher.js'],
      ['activities/migration-activities.ts', '../control/subscriber.js'],
      ['workers/operator-cli.ts', '../control/observer.js'],
      ['web/lib/fleet.ts', '../../control/publisher'],
      ['web/lib/data.ts', '../../control/subscriber'],
      ['scripts/start.ts', '../control/subscriber.js'],
      // The inside of control/ is its own.
      ['activities/migration-activities.ts', '../control/wire/schema.js'],
      ['web/lib/fleet.ts', '../../control/reader'],
      ['pipeline/jobs/cli/writer.ts', '../../../control/errors.js'],
      // The workflows take the model alone.
      ['workflows/migration/transitions.ts', '../../control/publisher.js'],
      ['workflows/migration/transitions.ts', '../../control/index.js'],
      ['workflows/migration/transitions.ts', '../../control'],
      ['workflows/migration/transitions.ts', '../../control/wire/schema.js'],
      // Inside control/: the ends stand alone, the wire format knows no end.
      ['control/subscriber.ts', './publisher.js'],
      ['control/observer.ts', './subscriber.js'],
      ['control/publisher.ts', './observer.js'],
      ['control/wire/codec.ts', '../reader.js'],
      ['control/wire/topic-tail.ts', '../subscriber.js'],
    ];
    for (const [file, spec] of cases) {
      const messages = await restricted(file, `import * as m from '${spec}';\nexport const x = m;\n`);
      assert.equal(messages.length, 1, `${file} importing ${spec}: ${messages.join('; ')}`);
      assert.match(messages[0]!, /layer boundaries/);
    }
    const allowed: [file: string, spec: string][] = [
      ['control/publisher.ts', '../contract/index.js'],
      ['control/reader.ts', '../kit/logger.js'],
      ['control/publisher.ts', './reader.js'],
      ['control/subscriber.ts', './wire/codec.js'],
      ['control/wire/heartbeat-table.ts', './codec.js'],
      ['pipeline/jobs/cli/writer.ts', '../../../control/subscriber.js'],
      ['pipeline/jobs/cli/writer.ts', '../../../control/index.js'],
      ['pipeline/jobs/query/read-router.ts', '../../../control/model.js'],
      ['activities/migration-activities.ts', '../control/publisher.js'],
      ['workers/operator-cli.ts', '../control/publisher.js'],
      ['web/lib/fleet.ts', '../../control/observer'],
      ['web/lib/fleet.ts', '../../control'],
      ['workflows/migration/transitions.ts', '../../control/model.js'],
      ['tools/bench/query-bench.ts', '../../control/publisher.js'],
    ];
    for (const [file, spec] of allowed) {
      assert.deepEqual(await restricted(file, `import * as m from '${spec}';\nexport const x = m;\n`), [], `${file} importing ${spec}`);
    }
  });

  it('keeps control/model.ts fit for the workflow bundle: no Node built-ins, clients or kit/, types only from the rest of control/', async () => {
    for (const spec of ['node:os', 'kafkajs', 'zod', '../kit/logger.js', './wire/schema.js', './publisher.js']) {
      const messages = await restricted('control/model.ts', `import * as m from '${spec}';\nexport const x = m;\n`);
      assert.equal(messages.length, 1, `control/model.ts importing ${spec}: ${messages.join('; ')}`);
      assert.match(messages[0]!, /workflow bundle/);
    }
    assert.deepEqual(
      await restricted(
        'control/model.ts',
        "import type { ControlState } from './wire/schema.js';\nimport { Stage } from '../contract/index.js';\nexport type S = ControlState;\nexport const s = Stage;\n",
      ),
      [],
    );
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
      ['web/lib/data.ts', '../../pipeline/kernel/science/science-stats-reader'],
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
