/**
 * Tiny runs of the benchmarks, so they keep working: each must finish on the real stack, clean up
 * and print, as its last line, one JSON object with the figures it promises. No figure is judged
 * (benchmarks are not timed assertions); only that each is a measured, positive number.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../../../config/config.js';

/** Runs `npm run <script> -- <args>`; resolves with its exit code, stdout and stderr. */
export function runBench(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', script, '--', ...args], { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs / 1000} s:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line of stdout as a JSON object of figures. */
export function figures(stdout: string, stderr: string): Record<string, number> {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as Record<string, number>;
  } catch {
    throw new Error(`the last line is not JSON: ${JSON.stringify(last)}\n${stderr.slice(-3000)}`);
  }
}

export function assertPositive(f: Record<string, number>, names: string[]): void {
  for (const n of names) assert.ok(typeof f[n] === 'number' && f[n] > 0, `${n} is a positive number: ${JSON.stringify(f)}`);
}
