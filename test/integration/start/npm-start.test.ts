import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { connectTemporal } from '../../../config/clients.js';
import { REPO_ROOT } from '../../../config/config.js';
import { demoPolicy } from '../../../config/migration-policy.js';
import { ensureMigration } from '../../../scripts/start/migrations.js';
import { migrationWorkflowId, type MigrationInput, type MigrationState } from '../../../contract/index.js';
import { dropEnv, testEnv } from '../../support/pipeline.js';
import { freePort, testConfig } from '../../support/stack.js';

// `npm start -- --no-console` exactly as a person runs it, on the real local stack, for three
// fresh environments (and a task queue and query port of its own, so it does not meet anyone
// else's processes): everything comes up, data flows to the query service, each environment has
// its migration in planned with the demo policy, and Ctrl-C leaves no process behind.
const cfg = testConfig();

/**
 * Every live process whose environment carries marker: npm, the shell, tsx, npm start itself and
 * every child it started inherit it, so this finds leftovers whatever npm start reports.
 */
function processesWithMarker(marker: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(marker)) continue;
      out.push({ pid: Number(entry), cmd: fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      /* exited meanwhile, or not ours to read */
    }
  }
  return out;
}

describe('npm start', () => {
  const base = testEnv('st');
  const envs = [`${base}a`, `${base}b`, `${base}c`];
  const taskQueue = `switchyard-test-${base}`;
  const marker = `SWITCHYARD_TEST_RUN=${randomUUID()}`;
  const logDir = path.join(REPO_ROOT, 'test-results', 'logs', `npm-start-${base}`);
  let queryPort: number;
  let npm: ChildProcess;
  let output = '';
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let client: Client;
  let closeTemporal: () => Promise<void>;

  before(async () => {
    queryPort = await freePort();
    npm = spawn('npm', ['start', '--', '--no-console', '--log-dir', logDir], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        SWITCHYARD_ENVS: envs.join(','),
        SWITCHYARD_QUERY_PORT: String(queryPort),
        TEMPORAL_TASK_QUEUE: taskQueue,
        [marker.split('=')[0]!]: marker.split('=')[1]!,
      },
      // Its own process group, so the test can send it Ctrl-C the way a terminal does (to the group).
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exit = new Promise((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
    const connection = await connectTemporal(cfg);
    client = new Client({ connection, namespace: cfg.temporal.namespace });
    closeTemporal = () => connection.close();
  });

  after(async () => {
    // Whatever happened above, nothing of this run may stay: SIGKILL what is left, then clean up.
    for (const p of processesWithMarker(marker)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.all(
      envs.map((env) =>
        client.workflow
          .getHandle(migrationWorkflowId(env))
          .terminate('test over')
          .catch(() => undefined),
      ),
    );
    await closeTemporal();
    await Promise.all(envs.map((env) => dropEnv(cfg, env)));
  });

  it('brings everything up and reports the time', async () => {
    const deadline = Date.now() + 180_000;
    while (!/everything is up in \d+\.\d s/.test(output)) {
      if (npm.exitCode !== null) assert.fail(`npm start exited with ${npm.exitCode} before everything was up:\n${output}`);
      if (Date.now() > deadline) assert.fail(`npm start was not up within 180 s:\n${output}`);
      await sleep(250);
    }
    for (const env of envs) {
      for (const job of [`aggregator-${env}`, `writer-cassandra-${env}`, `writer-dynamodb-${env}`, `loadgen-${env}`, `readgen-${env}`])
        assert.match(output, new RegExp(`ready: ${job} \\(pid \\d+`));
    }
    assert.match(output, /ready: query \(pid \d+/);
    assert.match(output, new RegExp(`ready: worker \\(pid \\d+, polling task queue ${taskQueue}\\)`));
    assert.match(output, new RegExp(`Query service +http://127\\.0\\.0\\.1:${queryPort}/v1/envs`));
    assert.match(output, /Press Ctrl-C to stop \(the local stack keeps running; `npm run stack -- down` stops it\)/);
    console.log(`npm start: ${/everything is up in (\d+\.\d) s/.exec(output)![1]} s to ready`);
  });

  it('runs every process of the demo, each with its own log', () => {
    const cmds = processesWithMarker(marker).map((p) => p.cmd);
    const count = (re: RegExp): number => cmds.filter((c) => re.test(c)).length;
    for (const env of envs) {
      assert.equal(count(new RegExp(`pipeline/jobs/cli/aggregator\\.ts --env ${env} `)), 1, `aggregator of ${env}`);
      assert.equal(
        count(new RegExp(`pipeline/jobs/cli/writer\\.ts --env ${env} --sink cassandra --mode follow --retention 10m`)),
        1,
        `cassandra writer of ${env}`,
      );
      assert.equal(
        count(new RegExp(`pipeline/jobs/cli/writer\\.ts --env ${env} --sink dynamodb --mode follow --retention 10m`)),
        1,
        `dynamodb writer of ${env}`,
      );
      assert.equal(count(new RegExp(`tools/loadgen\\.ts --env ${env} `)), 1, `load generator of ${env}`);
      assert.equal(count(new RegExp(`tools/readgen\\.ts --env ${env} `)), 1, `read generator of ${env}`);
      for (const name of [`aggregator-${env}`, `writer-dynamodb-${env}`, `loadgen-${env}`])
        assert.ok(fs.statSync(path.join(logDir, `${name}.log`)).size > 0, name);
    }
    assert.equal(count(/pipeline\/jobs\/cli\/query-service\.ts --port/), 1, 'one query service');
    assert.equal(count(/workers\/control-worker\.ts/), 1, 'one control worker');
  });

  it('creates each migration in stage planned with the demo policy, once', async () => {
    for (const env of envs) {
      const handle = client.workflow.getHandle(migrationWorkflowId(env));
      const state = await handle.query<MigrationState>('stateQuery');
      assert.equal(state.stage, 'planned', env);
      const history = await handle.fetchHistory();
      const input = defaultPayloadConverter.fromPayload<MigrationInput>(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
      assert.deepEqual(input.policy, demoPolicy(envs), `${env} runs with the demo policy`);
    }
    // What a second npm start does: the running workflow is kept, not restarted or duplicated.
    const { runId } = await client.workflow.getHandle(migrationWorkflowId(envs[0]!)).describe();
    const again = await ensureMigration(client, {
      env: envs[0]!,
      policy: demoPolicy(envs),
      terminateCommand: () => '',
      queryTimeoutMs: 30_000,
      startedAfter: Date.now(),
    });
    assert.equal(again.action, 'running');
    assert.equal(again.stage, 'planned');
    assert.equal((await client.workflow.getHandle(migrationWorkflowId(envs[0]!)).describe()).runId, runId);
  });

  it('serves live data of every environment from the query service within a few minutes', async () => {
    const url = `http://127.0.0.1:${queryPort}`;
    const listed = ((await (await fetch(`${url}/v1/envs`)).json()) as { environments: { env: string }[] }).environments.map((e) => e.env);
    assert.deepEqual(listed, envs);
    const deadline = Date.now() + 150_000;
    const pending = new Set(envs);
    while (pending.size > 0) {
      for (const env of [...pending]) {
        const to = Date.now();
        const res = await fetch(`${url}/v1/envs/${env}/apps/app-0001/metrics/router.service_ms?from=${to - 15 * 60_000}&to=${to}&stats=count,median,p99`);
        assert.equal(res.status, 200, `${env}: ${await res.clone().text()}`);
        const body = (await res.json()) as { points: { count: number }[] };
        if (body.points.some((p) => p.count > 0)) pending.delete(env);
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) assert.fail(`no data for ${[...pending].join(', ')} within 150 s of start-up`);
      await sleep(2000);
    }
  });

  it('stops every process it started on Ctrl-C, and the script exits 0', async () => {
    // npm start names how many processes it starts (per environment five, then the query service,
    // the notification receiver and the control worker; the console is off in this test).
    const started = Number(/starting (\d+) processes/.exec(output)?.[1]);
    assert.equal(started, envs.length * 5 + 3, `npm start announced ${started} processes`);
    const before = processesWithMarker(marker).length;
    assert.ok(before >= started + 1, `npm start and its ${started} processes run (found ${before})`);
    // Ctrl-C in a terminal sends SIGINT to the whole foreground process group.
    process.kill(-npm.pid!, 'SIGINT');
    const ended = await Promise.race([exit, sleep(90_000).then(() => 'timeout' as const)]);
    assert.notEqual(ended, 'timeout', `npm start did not exit within 90 s:\n${output.slice(-3000)}`);
    assert.match(output, /SIGINT: stopping everything npm start started/);
    // The script's last line before it exits 0; it prints it only after every child has exited.
    assert.match(output, new RegExp(`stopped ${started} processes$`, 'm'));
    assert.doesNotMatch(output, /start failed/);
    // The package.json script execs node (no shell in between that would die of the SIGINT it
    // held back and make npm re-raise it), so npm reports the script's own clean exit.
    const { code, signal } = ended as { code: number | null; signal: NodeJS.Signals | null };
    assert.equal(code, 0, `npm start ended with code ${code}, signal ${signal}`);
    const left = processesWithMarker(marker);
    assert.deepEqual(left, [], 'no process of this run is left');
  });
});
