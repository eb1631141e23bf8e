import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleBuildStep, consoleProcess, loadGenerator, queryService, readGenerator, streamJobs } from '../../../scripts/start/demo-processes.js';

// The command lines are the contract with the jobs' own CLIs (and, for the console, with web/):
// a flag renamed on either side should fail here, not in a demo.
describe('the demo processes', () => {
  it('runs the console with next start on loopback, its port and the variables it needs', () => {
    const spec = consoleProcess({ port: 3100, queryUrl: 'http://127.0.0.1:8081', sessionSecret: 's3cret', usersFile: '/x/users.json' });
    assert.equal(spec.command, process.execPath);
    assert.deepEqual(spec.args, ['node_modules/next/dist/bin/next', 'start', 'web', '--port', '3100', '--hostname', '127.0.0.1']);
    assert.equal(spec.env?.SWITCHYARD_QUERY_URL, 'http://127.0.0.1:8081');
    assert.equal(spec.env?.SWITCHYARD_SESSION_SECRET, 's3cret');
    assert.equal(spec.env?.SWITCHYARD_USERS_FILE, '/x/users.json');
    assert.equal(spec.env?.SWITCHYARD_POLICY_SCALE, 'demo', 'migrations created from the console are demo-scale too');
    assert.equal(spec.stopTier, 0, 'the console stops with the traffic, before the services it reads');
  });

  it('builds the console with webpack, as web/next.config.ts requires', () => {
    assert.deepEqual(consoleBuildStep().args, ['node_modules/next/dist/bin/next', 'build', 'web', '--webpack']);
  });

  it('runs both writers in follow mode with the demo retention, on OS-picked metrics ports', () => {
    const [aggregator, cassandra, dynamodb] = streamJobs('staging', 600_000);
    assert.deepEqual(aggregator!.args.slice(2), ['pipeline/jobs/cli/aggregator.ts', '--env', 'staging', '--metrics-port', '0']);
    for (const [spec, sink] of [
      [cassandra!, 'cassandra'],
      [dynamodb!, 'dynamodb'],
    ] as const) {
      assert.equal(spec.name, `writer-${sink}-staging`);
      assert.deepEqual(spec.args.slice(2), [
        'pipeline/jobs/cli/writer.ts',
        '--env',
        'staging',
        '--sink',
        sink,
        '--mode',
        'follow',
        '--retention',
        '10m',
        '--metrics-port',
        '0',
      ]);
    }
  });

  it('runs traffic at the given modest rates in rounds, and one query service on the given port', () => {
    const load = loadGenerator('test', 1, 20, 200);
    assert.equal(load.lifecycle, 'rounds');
    assert.deepEqual(load.args.slice(3), ['--env', 'test', '--apps', '20', '--rate', '200', '--duration', '1h', '--seed', '1']);
    const read = readGenerator('test', 1, 20, 2, 'http://127.0.0.1:8080');
    assert.ok(read.args.join(' ').includes('--url http://127.0.0.1:8080 --apps 20 --rate 2'));
    assert.deepEqual(queryService(8080, 600_000, ['test']).args.slice(2), [
      'pipeline/jobs/cli/query-service.ts',
      '--port',
      '8080',
      '--retention',
      '10m',
      '--candidate-timeout',
      '1s',
    ]);
  });
});
