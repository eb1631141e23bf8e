/**
 * Process bookkeeping for the local stack: detached servers, pid files, ports and logs.
 *
 * A server is "ours" only if its pid file names a live process whose command line carries the
 * stack's marker for that service, so `down` never signals a process the stack did not start,
 * even after the pid has been reused.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the stack records about a server it started. */
export interface PidRecord {
  /** Service name. */
  service: string;
  /** Process id (also the process group id: servers are started as group leaders). */
  pid: number;
  /** Marker that must appear in /proc/<pid>/cmdline for the process to count as ours. */
  marker: string;
  /** When it was started (ISO-8601). */
  startedAt: string;
  /** The log file its output goes to. */
  logFile: string;
}

/** How to start a server process. */
export interface LaunchSpec {
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Path of a service's pid file. */
export function pidFile(runDir: string, service: string): string {
  return path.join(runDir, `${service}.pid.json`);
}

/** Reads a pid record, or undefined when there is none or it is unreadable. */
export function readPid(runDir: string, service: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile(runDir, service), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/** Removes a service's pid file if present. */
export function clearPid(runDir: string, service: string): void {
  fs.rmSync(pidFile(runDir, service), { force: true });
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the pid record names a live process that is still the server we started. */
export function isOurs(rec: PidRecord): boolean {
  if (!isAlive(rec.pid)) return false;
  try {
    return fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').includes(rec.marker);
  } catch {
    return false;
  }
}

/** Starts a detached server whose output is appended to logFile; returns its pid record. */
export function launchDetached(service: string, spec: LaunchSpec, logFile: string, runDir: string, marker: string): PidRecord {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.mkdirSync(runDir, { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `\n===== ${new Date().toISOString()} switchyard stack: starting ${service}: ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  if (child.pid === undefined) {
    throw new Error(`${service}: could not start '${spec.command}' (is it installed?)`);
  }
  child.unref();
  const rec: PidRecord = { service, pid: child.pid, marker, startedAt: new Date().toISOString(), logFile };
  fs.writeFileSync(pidFile(runDir, service), JSON.stringify(rec, null, 2));
  return rec;
}

/** Sends SIGTERM to the server's process group, waits, then SIGKILLs what is left. */
export async function stopProcess(rec: PidRecord, graceMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isOurs(rec)) return 'not-running';
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-rec.pid, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(rec.pid)) return 'stopped';
    await sleep(200);
  }
  signal('SIGKILL');
  for (let i = 0; i < 25 && isAlive(rec.pid); i++) await sleep(200);
  return 'killed';
}

/** Resolves when the TCP port can be bound on host, i.e. nothing listens there. */
export async function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => {
      srv.close(() => resolve(true));
    });
  });
}

/** Which process listens on a TCP port, from /proc (best effort; undefined when unknown). */
export function whoListens(port: number): string | undefined {
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      if (!fs.existsSync(table)) continue;
      for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 10) continue;
        const local = cols[1]!;
        if (local.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9]!);
      }
    }
    if (inodes.size === 0) return undefined;
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let fds: string[];
      try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1]!)) {
          const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
          return `pid ${pid}: ${cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd}`;
        }
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** The last `lines` lines of a file ('' when it does not exist). */
export function tailFile(file: string, lines: number): string {
  try {
    const stat = fs.statSync(file);
    const size = Math.min(stat.size, 256 * 1024);
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(size);
    fs.readSync(fd, buf, 0, size, stat.size - size);
    fs.closeSync(fd);
    return buf
      .toString('utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return '';
  }
}

/** Resident set size of a process in MiB, or undefined. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
