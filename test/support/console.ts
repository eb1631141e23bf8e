/**
 * The console (web/) in tests: build it when its output is older than its sources, start
 * `next start` on a free port with a users file and a session secret, and sign in.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../config/config.js';
import { consoleBuildReason } from '../../scripts/start/console-build.js';
import { hashPassword } from '../../web/lib/console-users.js';
import { PipelineProcess } from './pipeline.js';

const NEXT_BIN = path.join(REPO_ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');

/** Runs `next build` when there is no build or a source is newer than it (the same rule as npm start; CI's static phase has just built it). */
export async function ensureConsoleBuilt(): Promise<void> {
  if (consoleBuildReason(REPO_ROOT) === undefined) return;
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [NEXT_BIN, 'build', 'web', '--webpack'], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new Error(`next build web failed with exit code ${code}`);
}

/** A user of a test's users file, with the plain password. */
export interface TestUser {
  username: string;
  role: 'viewer' | 'operator' | 'approver';
  password: string;
}

/** Writes a users file with random passwords for the given users; returns its path and the users. */
export function writeUsersFile(dir: string, users: Omit<TestUser, 'password'>[]): { file: string; users: Record<string, TestUser> } {
  fs.mkdirSync(dir, { recursive: true });
  const withPasswords = users.map((u) => ({ ...u, password: randomBytes(12).toString('base64url') }));
  const file = path.join(dir, 'users.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ users: withPasswords.map((u) => ({ username: u.username, role: u.role, passwordHash: hashPassword(u.password) })) }, null, 2),
    { mode: 0o600 },
  );
  return { file, users: Object.fromEntries(withPasswords.map((u) => [u.username, u])) };
}

/** A running `next start` of the console (a test process like the pipeline's, run by node without tsx). */
export class ConsoleProcess extends PipelineProcess {
  constructor(
    name: string,
    readonly port: number,
    env: Record<string, string>,
  ) {
    super(name, NEXT_BIN, ['start', 'web', '--port', String(port), '--hostname', '127.0.0.1'], { NEXT_TELEMETRY_DISABLED: '1', LOG_LEVEL: 'warn', ...env });
  }

  protected override nodeArgs(): string[] {
    return [this.script, ...this.args];
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the console and waits until the sign-in page answers. */
  async startAndWait(timeoutMs = 60_000): Promise<this> {
    const child = this.start().child!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}:\n${this.log().slice(-3000)}`);
      const ok = await fetch(`${this.url}/login`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return this;
      if (Date.now() > deadline) throw new Error(`${this.name} did not answer on ${this.url}/login within ${timeoutMs} ms:\n${this.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
