/**
 * What a local-stack service listens on, and servers started exactly as the stack starts them
 * (the service's own prepare(): same command, flags and settings) on ports of their own, so a
 * test can check a launch configuration without touching the shared stack. Linux (/proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SwitchyardConfig } from '../../config/config.js';
import type { StackService } from '../../infra/stack/service.js';

/** The TCP ports a process listens on (IPv4 and IPv6), from /proc. */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is <hex ip>:<hex port>; state 0A is LISTEN; the inode is column 10.
      if (cols[3] === '0A' && inodes.has(cols[9]!)) ports.add(Number.parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/**
 * What a port answers to a request a web page can send without asking first (a text/plain POST
 * from another origin): the first line of an HTTP/1 answer, or how the connection ended.
 */
export function answerToSimplePost(port: number, pathname = '/'): Promise<string> {
  const request =
    `POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\n` +
    'Content-Length: 2\r\nConnection: close\r\n\r\n{}';
  return new Promise((resolve) => {
    let out = Buffer.alloc(0);
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const done = (how: string): void => {
      socket.destroy();
      const text = out.toString('latin1');
      resolve(text.startsWith('HTTP/') ? text.split('\r\n')[0]! : `${how}: no HTTP answer (${out.length} bytes)`);
    };
    socket.on('data', (d: Buffer) => (out = Buffer.concat([out, d])));
    socket.on('end', () => done('closed'));
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.setTimeout(5000, () => done('timeout'));
  });
}

/** A server started as the stack starts it, in a data folder of its own. */
export interface LaunchedService {
  child: ChildProcess;
  cfg: SwitchyardConfig;
  log(): string;
  stop(): Promise<void>;
}

/** Starts `svc` with the stack's launch spec for `cfg` (its data in a fresh temporary folder) and waits until it answers. */
export async function launchAsStack(svc: StackService, cfg: SwitchyardConfig, timeoutMs = 120_000): Promise<LaunchedService> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `switchyard-${svc.name}-`));
  const own: SwitchyardConfig = { ...cfg, stack: { ...cfg.stack, dataDir } };
  const spec = await svc.prepare({ cfg: own, progress: () => undefined });
  const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const launched: LaunchedService = {
    child,
    cfg: own,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${svc.name} exited with ${child.exitCode}:\n${output.slice(-3000)}`);
    const ready = await svc.probe(own).then(
      () => true,
      () => false,
    );
    if (ready) return launched;
    if (Date.now() > deadline) {
      await launched.stop();
      throw new Error(`${svc.name} did not become ready within ${timeoutMs} ms:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
