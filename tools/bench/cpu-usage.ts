/**
 * CPU time of the processes a benchmark shares the machine with, from /proc (Linux): how many
 * cores each used over a measured interval, so a figure can say what limited it.
 */
import fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100;

/** A process to watch: a name, and how to recognise its command line. */
export interface Watched {
  name: string;
  match: (cmdline: string) => boolean;
}

/** The local stack's services and the pipeline's jobs, recognised by their command lines. */
export const STACK_PROCESSES: Watched[] = [
  { name: 'cassandra', match: (c) => c.includes('-Dswitchyard.service=cassandra') },
  { name: 'kafka', match: (c) => c.includes('-Dswitchyard.service=kafka') },
  { name: 'dynalite', match: (c) => c.includes('dynalite/cli.js') || c.includes('dynalite-server.ts') },
  { name: 'temporal', match: (c) => c.includes('temporal server start-dev') },
];

function cmdlineOf(pid: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** utime + stime of a process, in ticks (0 when it is gone). */
function ticksOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** CPU time of each named process (summed over processes of the same name) at one moment. */
export interface CpuSnapshot {
  at: number;
  ticks: Map<string, number>;
}

/** Finds the pids of the watched processes (and of extra named pids) now. */
export function findPids(watched: readonly Watched[], extra: Record<string, number | undefined> = {}): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out; // not Linux: no figures
  }
  for (const pid of pids) {
    const c = cmdlineOf(pid);
    for (const w of watched) if (w.match(c)) out.set(w.name, [...(out.get(w.name) ?? []), Number(pid)]);
  }
  for (const [name, pid] of Object.entries(extra)) if (pid !== undefined) out.set(name, [pid]);
  return out;
}

/** Reads the CPU time of every found process. */
export function snapshot(pids: ReadonlyMap<string, number[]>): CpuSnapshot {
  const ticks = new Map<string, number>();
  for (const [name, list] of pids)
    ticks.set(
      name,
      list.reduce((n, pid) => n + ticksOf(pid), 0),
    );
  return { at: Date.now(), ticks };
}

/** Cores each process used between two snapshots (1.0 = one core busy the whole time). */
export function coresUsed(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  const out: Record<string, number> = {};
  for (const [name, t] of b.ticks) out[name] = Number(((t - (a.ticks.get(name) ?? 0)) / TICKS_PER_S / seconds).toFixed(2));
  return out;
}

/** "cassandra 0.91, query 0.62, ..." (largest first). */
export function describeCores(cores: Record<string, number>): string {
  return Object.entries(cores)
    .sort((x, y) => y[1] - x[1])
    .map(([name, c]) => `${name} ${c.toFixed(2)}`)
    .join(', ');
}
