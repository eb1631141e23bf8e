/**
 * Runs the demo's processes as children of `npm start`.
 *
 * - The children stay in `npm start`'s process group, so the terminal's Ctrl-C (and the SIGHUP of
 *   a closed terminal) reaches each of them directly: they stop even if `npm start` itself is
 *   killed before it can stop them (tsx, which runs this script, SIGKILLs its child when a
 *   relayed signal is not acknowledged within 30 ms, which a busy 2-core machine can miss).
 *   Every child handles SIGINT and SIGTERM by stopping cleanly. `npm start` then also stops them
 *   itself, in order (traffic first, then what serves it), and waits until they are gone.
 * - Each child's output is appended to <log dir>/<name>.log, after a header line.
 * - A child is ready when its probe says so (a health endpoint, a poller in Temporal, a log line).
 * - During start-up a child that dies fails the start; afterwards it is restarted with backoff
 *   (a demo should keep going), and its exit code and the end of its log are printed.
 * - Stopping sends SIGTERM to each child, then SIGKILL after the grace period.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../config/config.js';
import { removeRecord, SUPERVISOR_MARKER_VAR, writeRecord } from './leftovers.js';
import { StartError } from './start-error.js';

/** What a readiness probe sees of the process it checks. */
export interface ProbeContext {
  pid: number;
  /** The process's output since this run of it started. */
  output(): string;
}

/** Resolves with a short description (a URL, a count) once the process is ready, undefined while not yet. */
export type Probe = (ctx: ProbeContext) => Promise<string | undefined>;

/** A process to run once to completion (set-up steps, builds). */
export interface OneOffSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** A long-running process of the demo. */
export interface ProcessSpec extends OneOffSpec {
  probe: Probe;
  /**
   * 'service' runs until stopped; 'rounds' ends each round with exit 0 and is started again at
   * once (the traffic generators run bounded rounds so their in-memory statistics stay small).
   */
  lifecycle: 'service' | 'rounds';
  /** Stopped in ascending tiers: 0 = traffic and the console, 1 = the pipeline and the worker. */
  stopTier: number;
}

/** One run of a process. */
interface Run {
  child: ChildProcess;
  pid: number;
  /** Where this run's output starts in the log file. */
  logOffset: number;
  startedAt: number;
  exited: Promise<void>;
  hasExited: boolean;
}

/** A supervised process: its spec, its current run, its restart state. */
interface Managed {
  spec: ProcessSpec;
  run: Run | undefined;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/** Options of a supervisor. */
export interface SupervisorOptions {
  logDir: string;
  /** Where the record of the children goes (for the next start to clean up after a crash). */
  runDir: string;
  readyTimeoutMs: number;
  stopGraceMs: number;
  progress: (message: string) => void;
}

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A process that stayed up this long starts again from the first backoff after its next death. */
const HEALTHY_RUN_MS = 60_000;
const PROBE_INTERVAL_MS = 500;

/** "code 1" or "signal SIGKILL". */
function describeExit(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode ?? '?'}`;
}

/** Thrown by waitReady when the run exited first (its exit is reported by the exit handler). */
class ExitedBeforeReady extends StartError {}

/** Supervises the demo's processes; see the file comment. */
export class Supervisor {
  private readonly managed = new Map<string, Managed>();
  private readonly oneOffs = new Map<string, ChildProcess>();
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  private stopped: Promise<void> | undefined;
  private readonly startedAt = new Date().toISOString();
  private rejectFailure: (err: Error) => void = () => undefined;
  /** Rejects when a process dies during start-up; race the start-up sequence against it. */
  readonly failure: Promise<never>;

  constructor(private readonly o: SupervisorOptions) {
    this.failure = new Promise<never>((_, reject) => (this.rejectFailure = reject));
    // Raced only while starting; after that nobody awaits it, and that is fine.
    this.failure.catch(() => undefined);
  }

  /** Log file of a process. */
  logFileOf(name: string): string {
    return path.join(this.o.logDir, `${name}.log`);
  }

  /** Pids of the current runs, by name (for the record and for tests). */
  pids(): { name: string; pid: number }[] {
    const out: { name: string; pid: number }[] = [];
    for (const m of this.managed.values()) if (m.run && !m.run.hasExited) out.push({ name: m.spec.name, pid: m.run.pid });
    for (const [name, child] of this.oneOffs) if (child.pid !== undefined) out.push({ name, pid: child.pid });
    return out;
  }

  /** From now on a process that dies is restarted instead of failing the start. */
  markRunning(): void {
    if (this.phase === 'starting') this.phase = 'running';
  }

  /** Starts a process and waits until its probe says it is ready; returns the probe's description. */
  async startAndWait(spec: ProcessSpec): Promise<string> {
    if (this.managed.has(spec.name)) throw new StartError(spec.name, 'is started twice (process names must be unique)');
    const m: Managed = { spec, run: undefined, backoffMs: FIRST_BACKOFF_MS, restartTimer: undefined };
    this.managed.set(spec.name, m);
    const run = this.launch(m);
    const detail = await this.waitReady(m, run);
    this.o.progress(`ready: ${spec.name} (pid ${m.run?.pid ?? run.pid}${detail ? `, ${detail}` : ''})`);
    return detail;
  }

  /** Runs a one-off step to completion; fails with the end of its log when it exits non-zero. */
  async runToCompletion(spec: OneOffSpec, timeoutMs: number): Promise<void> {
    this.assertNotStopping(spec.name);
    const { child, logOffset } = this.spawnLogged(spec);
    this.oneOffs.set(spec.name, child);
    this.saveRecord();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.oneOffs.delete(spec.name);
    this.saveRecord();
    if (this.phase === 'stopping') throw new StartError(spec.name, 'stopped: npm start is stopping');
    if (child.exitCode !== 0) {
      const why = child.signalCode === 'SIGKILL' ? `did not finish within ${Math.round(timeoutMs / 1000)} s` : `failed (${describeExit(child)})`;
      throw new StartError(spec.name, why, this.tailSection(spec.name, logOffset));
    }
  }

  /** Stops every process (SIGTERM, then SIGKILL after the grace period), tier by tier; idempotent. */
  stopAll(): Promise<void> {
    this.stopped ??= this.stopEverything();
    return this.stopped;
  }

  private async stopEverything(): Promise<void> {
    this.phase = 'stopping';
    for (const m of this.managed.values()) clearTimeout(m.restartTimer);
    const oneOffs = [...this.oneOffs].map(([name, child]) => ({ name, child, tier: 0 }));
    // Every process counts, also one that has already exited: the terminal's Ctrl-C reaches the
    // children directly, and some are gone before this runs. stopChild returns at once for those.
    const runs = [...this.managed.values()].flatMap((m) => (m.run ? [{ name: m.spec.name, child: m.run.child, tier: m.spec.stopTier }] : []));
    const all = [...oneOffs, ...runs];
    const tiers = [...new Set(all.map((p) => p.tier))].sort((a, b) => a - b);
    let killed = 0;
    for (const tier of tiers) {
      const group = all.filter((p) => p.tier === tier);
      this.o.progress(`stopping ${group.map((p) => p.name).join(', ')}`);
      const results = await Promise.all(group.map((p) => this.stopChild(p.child)));
      results.forEach((r, i) => {
        if (r === 'killed') {
          killed++;
          this.o.progress(`${group[i]!.name} did not stop within ${this.o.stopGraceMs / 1000} s: killed`);
        }
      });
    }
    removeRecord(this.o.runDir, process.pid);
    this.o.progress(`stopped ${all.length} process${all.length === 1 ? '' : 'es'}${killed > 0 ? ` (${killed} with SIGKILL)` : ''}`);
  }

  private async stopChild(child: ChildProcess): Promise<'stopped' | 'killed'> {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    // ChildProcess.kill never signals a child already known to have exited (its pid may be reused).
    child.kill('SIGTERM');
    const inTime = await Promise.race([exited.then(() => true), sleep(this.o.stopGraceMs).then(() => false)]);
    if (inTime) return 'stopped';
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(5000)]);
    return 'killed';
  }

  private assertNotStopping(name: string): void {
    if (this.phase === 'stopping') throw new StartError(name, 'not started: npm start is stopping');
  }

  /** Spawns a command with its output appended to its log. */
  private spawnLogged(spec: OneOffSpec): { child: ChildProcess; logOffset: number } {
    fs.mkdirSync(this.o.logDir, { recursive: true });
    const logFile = this.logFileOf(spec.name);
    const fd = fs.openSync(logFile, 'a');
    const shown = [spec.command === process.execPath ? 'node' : spec.command, ...spec.args].join(' ');
    fs.writeSync(fd, `\n===== ${new Date().toISOString()} npm start: starting ${spec.name}: ${shown}\n`);
    const logOffset = fs.fstatSync(fd).size;
    const child = spawn(spec.command, spec.args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...spec.env, [SUPERVISOR_MARKER_VAR]: String(process.pid) },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    // A spawn failure (command missing) leaves no pid and is also reported through 'error',
    // which must have a listener or it would crash npm start.
    child.once('error', (err) => fs.appendFileSync(logFile, `npm start: could not run ${spec.command}: ${err.message}\n`));
    if (child.pid === undefined) throw new StartError(spec.name, `could not start '${spec.command}' (see ${logFile})`);
    return { child, logOffset };
  }

  private launch(m: Managed): Run {
    this.assertNotStopping(m.spec.name);
    const { child, logOffset } = this.spawnLogged(m.spec);
    let markExited: () => void = () => undefined;
    const run: Run = { child, pid: child.pid!, logOffset, startedAt: Date.now(), exited: new Promise<void>((r) => (markExited = r)), hasExited: false };
    child.once('exit', () => {
      run.hasExited = true;
      markExited();
      this.onExit(m, run);
    });
    m.run = run;
    this.saveRecord();
    return run;
  }

  private onExit(m: Managed, run: Run): void {
    if (m.run !== run) return;
    this.saveRecord();
    if (this.phase === 'stopping') return;
    const { name, lifecycle } = m.spec;
    if (lifecycle === 'rounds' && run.child.exitCode === 0) {
      fs.appendFileSync(this.logFileOf(name), 'npm start: round over, starting the next one\n');
      this.launch(m);
      return;
    }
    const tail = this.tailSection(name, run.logOffset);
    if (this.phase === 'starting') {
      this.rejectFailure(new StartError(name, `exited during start-up (${describeExit(run.child)})`, tail));
      return;
    }
    const upMs = Date.now() - run.startedAt;
    if (upMs >= HEALTHY_RUN_MS) m.backoffMs = FIRST_BACKOFF_MS;
    const delay = m.backoffMs;
    m.backoffMs = Math.min(MAX_BACKOFF_MS, m.backoffMs * 2);
    this.o.progress(`${name} exited (${describeExit(run.child)}) after ${(upMs / 1000).toFixed(1)} s; restarting it in ${delay / 1000} s.\n${tail}`);
    m.restartTimer = setTimeout(() => this.restart(m), delay);
  }

  private restart(m: Managed): void {
    if (this.phase === 'stopping') return;
    let run: Run;
    try {
      run = this.launch(m);
    } catch (err) {
      this.o.progress(`${m.spec.name} could not be restarted: ${(err as Error).message}`);
      return;
    }
    this.waitReady(m, run).then(
      (detail) => this.o.progress(`${m.spec.name} is back (pid ${run.pid}${detail ? `, ${detail}` : ''})`),
      (err: unknown) => {
        // An exit before ready is reported (and retried) by the exit handler.
        if (!(err instanceof ExitedBeforeReady) && this.phase !== 'stopping') this.o.progress(`${m.spec.name} restarted but ${(err as Error).message}`);
      },
    );
  }

  private async waitReady(m: Managed, first: Run): Promise<string> {
    const { name, probe } = m.spec;
    const deadline = Date.now() + this.o.readyTimeoutMs;
    let run = first;
    for (;;) {
      if (this.phase === 'stopping') throw new StartError(name, 'stopped before it was ready');
      // A round that ended before its probe saw it is followed by the next round: wait for that one.
      if (run.hasExited && m.spec.lifecycle === 'rounds' && run.child.exitCode === 0 && m.run && m.run !== run) run = m.run;
      if (run.hasExited) throw new ExitedBeforeReady(name, `exited before it was ready (${describeExit(run.child)})`, this.tailSection(name, run.logOffset));
      const current = run;
      const detail = await probe({ pid: current.pid, output: () => this.outputSince(name, current.logOffset) }).catch(() => undefined);
      if (detail !== undefined && !run.hasExited) return detail;
      if (Date.now() > deadline) {
        throw new StartError(
          name,
          `not ready after ${Math.round(this.o.readyTimeoutMs / 1000)} s (pid ${run.pid} is still running)`,
          this.tailSection(name, run.logOffset),
        );
      }
      await Promise.race([sleep(PROBE_INTERVAL_MS), run.exited]);
    }
  }

  /** The output of a run (at most its last MiB). */
  private outputSince(name: string, offset: number): string {
    try {
      const file = this.logFileOf(name);
      const size = fs.statSync(file).size;
      const from = Math.max(offset, size - 1024 * 1024);
      const fd = fs.openSync(file, 'r');
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      return buf.toString('utf8');
    } catch {
      return '';
    }
  }

  /** "The end of its log <file>:" and the last lines of the run's output, indented. */
  private tailSection(name: string, offset: number): string {
    const lines = this.outputSince(name, offset).trimEnd().split('\n').slice(-20);
    const body = lines.join('') === '' ? '    (no output)' : lines.map((l) => `    ${l.length > 400 ? `${l.slice(0, 397)}...` : l}`).join('\n');
    const file = this.logFileOf(name);
    const rel = path.relative(process.cwd(), file);
    return `The end of its log ${rel.startsWith('..') || path.isAbsolute(rel) ? file : rel}:\n${body}`;
  }

  private saveRecord(): void {
    try {
      writeRecord(this.o.runDir, { supervisorPid: process.pid, startedAt: this.startedAt, children: this.pids() });
    } catch {
      /* the record only helps clean up after a crash; a start must not fail over it */
    }
  }
}
