/**
 * Bookkeeping of the processes `npm start` runs, so that a start killed without a chance to clean
 * up (SIGKILL, a closed laptop lid, a crashed terminal) does not leave its children running: the
 * next start finds them and stops them.
 *
 * Each start writes <run dir>/start-<its pid>.json listing its children, and gives every child the
 * variable SWITCHYARD_START_SUPERVISOR=<its pid>. A process counts as a leftover only if its record
 * names it, the start that made it is gone, and its own environment (/proc/<pid>/environ) still
 * carries that variable, so a reused pid is never signalled. Without /proc (macOS) nothing is
 * signalled.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { setTimeout as sleep } from 'node:timers/promises';

/** Variable every child of a start carries, naming the start's pid. */
export const SUPERVISOR_MARKER_VAR = 'SWITCHYARD_START_SUPERVISOR';

const recordSchema = z.object({
  supervisorPid: z.number().int().positive(),
  startedAt: z.string(),
  children: z.array(z.object({ name: z.string(), pid: z.number().int().positive() })),
});

/** One start's record of its children. */
export type StartRecord = z.infer<typeof recordSchema>;

/** Path of a start's record. */
export function recordFile(runDir: string, supervisorPid: number): string {
  return path.join(runDir, `start-${supervisorPid}.json`);
}

/** Writes (replaces) this start's record. */
export function writeRecord(runDir: string, record: StartRecord): void {
  fs.mkdirSync(runDir, { recursive: true });
  const file = recordFile(runDir, record.supervisorPid);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

/** Removes this start's record (after a clean stop). */
export function removeRecord(runDir: string, supervisorPid: number): void {
  fs.rmSync(recordFile(runDir, supervisorPid), { force: true });
}

function procText(pid: number, what: 'environ' | 'cmdline'): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${what}`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** True when pid is a live `npm start` (its command line runs scripts/start.ts). */
function isStartProcess(pid: number): boolean {
  return procText(pid, 'cmdline')?.some((arg) => arg.endsWith('scripts/start.ts')) ?? false;
}

/** True when pid is alive and was started by the start with supervisorPid. */
export function isChildOf(pid: number, supervisorPid: number): boolean {
  return procText(pid, 'environ')?.includes(`${SUPERVISOR_MARKER_VAR}=${supervisorPid}`) ?? false;
}

/** Signals a leftover, checking first that it still is one (its pid may have been reused since). */
function signalLeftover(pid: number, supervisorPid: number, signal: NodeJS.Signals): void {
  if (!isChildOf(pid, supervisorPid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    /* gone meanwhile */
  }
}

/** What stopLeftovers found. */
export interface LeftoverReport {
  /** Leftover processes stopped, by name. */
  stopped: string[];
  /** Pids of other `npm start`s still running (their children are theirs, left alone). */
  otherStarts: number[];
}

/** Stops the children of earlier starts that are gone, and removes their records. */
export async function stopLeftovers(runDir: string, graceMs: number): Promise<LeftoverReport> {
  const report: LeftoverReport = { stopped: [], otherStarts: [] };
  if (!fs.existsSync(runDir)) return report;
  for (const file of fs.readdirSync(runDir).filter((f) => /^start-\d+\.json$/.test(f))) {
    let record: StartRecord;
    try {
      record = recordSchema.parse(JSON.parse(fs.readFileSync(path.join(runDir, file), 'utf8')));
    } catch {
      fs.rmSync(path.join(runDir, file), { force: true });
      continue;
    }
    if (record.supervisorPid === process.pid) continue;
    if (isStartProcess(record.supervisorPid)) {
      report.otherStarts.push(record.supervisorPid);
      continue;
    }
    const left = record.children.filter((c) => isChildOf(c.pid, record.supervisorPid));
    for (const c of left) signalLeftover(c.pid, record.supervisorPid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && left.some((c) => isChildOf(c.pid, record.supervisorPid))) await sleep(200);
    for (const c of left) signalLeftover(c.pid, record.supervisorPid, 'SIGKILL');
    report.stopped.push(...left.map((c) => `${c.name} (pid ${c.pid})`));
    fs.rmSync(path.join(runDir, file), { force: true });
  }
  return report;
}

/**
 * The children of the `npm start` running now (its record, its pid alive), by name with their
 * current pids; undefined when no start is running. A child being restarted may be missing or
 * name a pid that has just exited.
 */
export function runningStart(runDir: string): StartRecord | undefined {
  if (!fs.existsSync(runDir)) return undefined;
  for (const file of fs.readdirSync(runDir).filter((f) => /^start-\d+\.json$/.test(f))) {
    try {
      const record = recordSchema.parse(JSON.parse(fs.readFileSync(path.join(runDir, file), 'utf8')));
      if (isStartProcess(record.supervisorPid)) return record;
    } catch {
      // being rewritten, or not a record: the next look reads it again
    }
  }
  return undefined;
}
