/**
 * Shared helpers for integration tests on the real local stack.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { loadConfig, REPO_ROOT, type SwitchyardConfig } from '../../config/config.js';

/** The configuration the tests' stack runs with (environment variables apply). */
export function testConfig(): SwitchyardConfig {
  return loadConfig();
}

/** A name unique to this test run, safe for topics, keyspaces and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Result of a finished command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (with an optional stdin text) and returns its output. */
export function runCommand(
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the stack CLI (`npm run stack -- ...`) in a child process. */
export function runStackCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 600_000): Promise<CommandResult> {
  return runCommand(process.execPath, ['--import', 'tsx', 'infra/stack/cli.ts', ...args], { env, timeoutMs });
}

/** A TCP port nothing listens on right now (bind port 0 on loopback, read it, close). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
