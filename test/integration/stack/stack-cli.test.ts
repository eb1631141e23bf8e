import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, runStackCli, testConfig } from '../../support/stack.js';

const cfg = testConfig();

/** An isolated stack folder that reuses the already provisioned tools (no second download). */
function scratchStackEnv(): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-stack-'));
  return { SWITCHYARD_STACK_DIR: dir, SWITCHYARD_TOOLS_DIR: cfg.stack.toolsDir };
}

describe('stack command', () => {
  it('status lists every service with its port, pid and health', async () => {
    const res = await runStackCli(['status', '--json']);
    assert.equal(res.code, 0, `status should exit 0 when all are healthy:\n${res.stdout}\n${res.stderr}`);
    const rows = JSON.parse(res.stdout) as { service: string; endpoint: string; pid?: number; state: string }[];
    assert.deepEqual(
      rows.map((r) => r.service),
      ['temporal', 'kafka', 'cassandra', 'dynamodb'],
    );
    for (const row of rows) {
      assert.equal(row.state, 'healthy', `${row.service}: ${JSON.stringify(row)}`);
      assert.ok(typeof row.pid === 'number' && row.pid > 0, `${row.service} has a pid`);
    }
    assert.match(rows.find((r) => r.service === 'kafka')!.endpoint, /:9092$|:\d+$/);
    const table = await runStackCli(['status']);
    assert.match(table.stdout, /SERVICE\s+ENDPOINT\s+MODE\s+PID\s+RSS\s+HEALTH/);
  });

  it('up is idempotent: a second up finds everything running and starts nothing', async () => {
    const before = JSON.parse((await runStackCli(['status', '--json'])).stdout) as { service: string; pid: number }[];
    const res = await runStackCli(['up']);
    assert.equal(res.code, 0, res.stderr);
    for (const svc of ['temporal', 'kafka', 'cassandra', 'dynamodb']) {
      assert.match(res.stdout, new RegExp(`${svc}: already running \\(pid \\d+\\)`));
    }
    const after = JSON.parse((await runStackCli(['status', '--json'])).stdout) as { service: string; pid: number }[];
    assert.deepEqual(
      after.map((r) => r.pid),
      before.map((r) => r.pid),
    );
  });

  it('names the service and the port when a port is already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const res = await runStackCli(['up', 'dynamodb'], { ...scratchStackEnv(), DYNAMODB_ENDPOINT: `http://127.0.0.1:${busy}` });
      assert.equal(res.code, 1);
      assert.match(res.stderr, new RegExp(`dynamodb: port ${busy} \\(http\\) on 127\\.0\\.0\\.1 is already in use by pid ${process.pid}`));
    } finally {
      blocker.close();
    }
  });

  it('names a service that will not start and shows the end of its log', async () => {
    const env = scratchStackEnv();
    // A folder where the database file should be: the server exits at once.
    fs.mkdirSync(path.join(env.SWITCHYARD_STACK_DIR!, 'data', 'temporal', 'temporal.db'), { recursive: true });
    const port = await freePort();
    const res = await runStackCli(['up', 'temporal'], { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stderr, /temporal: exited before it was ready/);
    assert.match(res.stderr, /unable to open database file/);
  });

  it('refuses bad configuration with a message naming the variable', async () => {
    const res = await runStackCli(['status'], { KAFKA_BROKERS: 'localhost:notaport' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /KAFKA_BROKERS: 'localhost:notaport' has port 'notaport'/);
  });

  it('only checks, and never starts, a service configured to run elsewhere', async () => {
    // '.invalid' never resolves (RFC 6761), so no traffic leaves this machine.
    const res = await runStackCli(['up', 'kafka'], { ...scratchStackEnv(), KAFKA_BROKERS: 'broker.invalid:9092' }, 120_000);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /kafka: configured to use broker\.invalid:9092 \(not on this machine, so not started here\), which does not answer/);
  });
});
