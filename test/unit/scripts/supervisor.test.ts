import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { isChildOf, stopLeftovers, SUPERVISOR_MARKER_VAR, writeRecord } from '../../../scripts/start/leftovers.js';
import { outputReady } from '../../../scripts/start/readiness.js';
import { StartError } from '../../../scripts/start/start-error.js';
import { Supervisor, type ProcessSpec } from '../../../scripts/start/supervisor.js';

// Real (tiny) node processes: what matters here is how the supervisor treats real exits and signals.

/** Every supervisor a test made, stopped after each test even when it fails, so no child outlives it. */
const made: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((s) => s.stopAll()));
});

function newSupervisor(): { sup: Supervisor; messages: string[]; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-'));
  const messages: string[] = [];
  const sup = new Supervisor({
    logDir: path.join(dir, 'logs'),
    runDir: path.join(dir, 'run'),
    readyTimeoutMs: 10_000,
    stopGraceMs: 1000,
    progress: (m) => messages.push(m),
  });
  made.push(sup);
  return { sup, messages, dir };
}

/** A node process running `code`, ready once it printed "up". */
function nodeSpec(name: string, code: string, extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return { name, command: process.execPath, args: ['-e', code], probe: outputReady(/^up$/m, () => 'said up'), lifecycle: 'service', stopTier: 1, ...extra };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('supervisor', () => {
  it('reports a process ready, logs its output, and stops it with SIGTERM', async () => {
    const { sup, messages } = newSupervisor();
    assert.equal(
      await sup.startAndWait(
        nodeSpec('calm', `console.log('up'); process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); setInterval(() => {}, 1000);`),
      ),
      'said up',
    );
    const { pid } = sup.pids()[0]!;
    assert.match(messages.join('\n'), new RegExp(`ready: calm \\(pid ${pid}, said up\\)`));
    await sup.stopAll();
    assert.equal(alive(pid), false);
    const log = fs.readFileSync(sup.logFileOf('calm'), 'utf8');
    assert.match(log, /===== .* npm start: starting calm: node -e/);
    assert.match(log, /^up\nbye$/m);
    assert.match(messages.at(-1)!, /stopped 1 process$/);
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    const { sup, messages } = newSupervisor();
    await sup.startAndWait(nodeSpec('stubborn', `process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000);`));
    const { pid } = sup.pids()[0]!;
    await sup.stopAll();
    assert.equal(alive(pid), false);
    assert.ok(
      messages.some((m) => /stubborn did not stop within 1 s: killed/.test(m)),
      messages.join('\n'),
    );
  });

  it('stops traffic (tier 0) before the services it uses (tier 1)', async () => {
    const { sup, messages } = newSupervisor();
    const stay = `console.log('up'); setInterval(() => {}, 1000);`;
    await Promise.all([sup.startAndWait(nodeSpec('service', stay)), sup.startAndWait(nodeSpec('traffic', stay, { stopTier: 0 }))]);
    await sup.stopAll();
    const stops = messages.filter((m) => m.startsWith('stopping '));
    assert.deepEqual(stops, ['stopping traffic', 'stopping service']);
  });

  it('fails the start-up when a process dies before everything is up, with its exit code and log', async () => {
    const { sup } = newSupervisor();
    const failure = sup.failure.catch((err: unknown) => err);
    await assert.rejects(
      sup.startAndWait(nodeSpec('broken', `console.error('cannot reach the broker'); process.exit(4);`)),
      (err: unknown) =>
        err instanceof StartError && /broken: exited before it was ready \(code 4\)/.test(err.message) && /cannot reach the broker/.test(err.message),
    );
    const err = await failure;
    assert.ok(err instanceof StartError && /exited during start-up \(code 4\)/.test(err.message));
    await sup.stopAll();
  });

  it('restarts a process that dies once everything is up, and says so', async () => {
    const { sup, messages, dir } = newSupervisor();
    const flag = path.join(dir, 'died-once');
    // The first run dies a moment after it is up; the next one stays.
    const code = `const fs = require('fs'); console.log('up'); if (!fs.existsSync(${JSON.stringify(flag)})) { fs.writeFileSync(${JSON.stringify(flag)}, ''); setTimeout(() => { console.error('lost my partition'); process.exit(3); }, 1500); } setInterval(() => {}, 1000);`;
    await sup.startAndWait(nodeSpec('flaky', code));
    const { pid: first } = sup.pids()[0]!;
    sup.markRunning();
    await waitFor('the restart', () => messages.some((m) => m.startsWith('flaky is back')));
    const died = messages.find((m) => m.startsWith('flaky exited'))!;
    assert.match(died, /flaky exited \(code 3\) after \d+\.\d s; restarting it in 1 s/);
    assert.match(died, /lost my partition/);
    const { pid: second } = sup.pids()[0]!;
    assert.notEqual(second, first);
    assert.equal(alive(second), true);
    await sup.stopAll();
    assert.equal(alive(second), false);
  });

  it('starts the next round of a round-based process at once, without alarm', async () => {
    const { sup, messages } = newSupervisor();
    // Rounds long enough for the probe (every 500 ms) to see one running.
    await sup.startAndWait(nodeSpec('rounds', `console.log('up'); setTimeout(() => process.exit(0), 1200);`, { lifecycle: 'rounds' }));
    sup.markRunning();
    await waitFor('two rounds to end', () => (fs.readFileSync(sup.logFileOf('rounds'), 'utf8').match(/round over/g) ?? []).length >= 2);
    assert.ok(!messages.some((m) => /exited/.test(m)), messages.join('\n'));
    await sup.stopAll();
  });

  it('fails a one-off step with its exit code and the end of its log', async () => {
    const { sup } = newSupervisor();
    await sup.runToCompletion({ name: 'fine', command: process.execPath, args: ['-e', 'console.log("ok")'] }, 10_000);
    await assert.rejects(
      sup.runToCompletion({ name: 'setup', command: process.execPath, args: ['-e', 'console.error("keyspace refused"); process.exit(2)'] }, 10_000),
      (err: unknown) => err instanceof StartError && /setup: failed \(code 2\)/.test(err.message) && /keyspace refused/.test(err.message),
    );
  });
});

describe('leftovers of a start that did not stop cleanly', () => {
  it('stops the children of a gone start and nothing else', async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'leftovers-'));
    // A start that is gone: a process that has exited, whose pid is used as the supervisor's.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.once('exit', r));
    const goneStart = gone.pid!;
    const launch = (env: Record<string, string>): number => {
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore', env: { ...process.env, ...env } });
      child.unref();
      return child.pid!;
    };
    const orphan = launch({ [SUPERVISOR_MARKER_VAR]: String(goneStart) });
    const stranger = launch({}); // listed in the record (say its pid was reused) but not a child of that start
    try {
      await waitFor('the orphan to be visible', () => isChildOf(orphan, goneStart));
      writeRecord(runDir, {
        supervisorPid: goneStart,
        startedAt: new Date().toISOString(),
        children: [
          { name: 'aggregator-test', pid: orphan },
          { name: 'query', pid: stranger },
        ],
      });
      const report = await stopLeftovers(runDir, 2000);
      assert.deepEqual(report.stopped, [`aggregator-test (pid ${orphan})`]);
      await waitFor('the orphan to exit', () => !isChildOf(orphan, goneStart));
      assert.equal(alive(stranger), true, 'a process that is not the start’s child is left alone');
      assert.deepEqual(fs.readdirSync(runDir), [], 'the record is removed');
    } finally {
      for (const pid of [orphan, stranger]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
});
