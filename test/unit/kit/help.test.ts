import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../config/config.js';

const run = promisify(execFile);

// Every npm script that runs a TypeScript entry point through the CLI kit.
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const entryPoints = Object.entries(pkg.scripts)
  .map(([name, command]) => [name, /^tsx (\S+\.ts)$/.exec(command)?.[1]] as const)
  .filter((e): e is readonly [string, string] => e[1] !== undefined && fs.readFileSync(path.join(REPO_ROOT, e[1]), 'utf8').includes('runMain('));

describe('--help on every command', () => {
  it('covers the commands a user runs', () => {
    const names = entryPoints.map(([name]) => name);
    for (const name of [
      'ops',
      'worker',
      'aggregator',
      'writer',
      'query',
      'readgen',
      'loadgen',
      'setup',
      'bench:pipeline',
      'bench:query',
      'bench:control',
      'bench:verify',
    ])
      assert.ok(names.includes(name), `npm run ${name} is not a CLI-kit entry point: ${names.join(', ')}`);
  });

  it('prints the usage on stdout and exits 0, before any other check', async () => {
    // Each of them answers --help in runMain (kit/cli.ts) before its main runs; two of them are
    // run here (a Node process loading the clients costs seconds of CPU): the operator CLI, with
    // no token and no services, and a pipeline job, whose main would otherwise refuse the flag.
    const env = { ...process.env, SWITCHYARD_TOKEN: '', SWITCHYARD_TOKEN_FILE: '/nonexistent' };
    for (const [name, usage] of [
      ['ops', /^usage: npm run ops -- <command>/m],
      ['setup', /^usage: npm run setup -- /m],
    ] as const) {
      const file = entryPoints.find(([n]) => n === name)![1];
      const out = await run(process.execPath, ['--import', 'tsx', file, '--help'], { cwd: REPO_ROOT, env, timeout: 60_000 });
      assert.match(out.stdout, usage, `npm run ${name} -- --help`);
      assert.equal(out.stderr, '', `npm run ${name} -- --help wrote to stderr`);
    }
  });
});
