/**
 * `npm run bench:profile -- <file.cpuprofile> [--top 25]`: where a process spent its CPU, from a
 * V8 CPU profile (node --cpu-prof, or bench:pipeline --cpu-prof): self time by function and by
 * where the code lives (this repo's files, each npm package, node's internals, the garbage
 * collector). Last line: one JSON object with the same figures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCommandLine, parseWhole, runMain } from '../../kit/cli.js';

const USAGE = `usage: npm run bench:profile -- <file.cpuprofile> [--top <n>]
  --top <n>   functions listed (default 25)`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives: a repo file, an npm package, node itself or a V8 pseudo-frame. */
function home(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `npm ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const file = url.replace(/^file:\/\//, '');
  return path.relative(process.cwd(), file);
}

runMain(USAGE, async (argv) => {
  const file = argv.find((a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--top');
  const a = parseCommandLine(
    argv.filter((x) => x !== file),
    { top: { type: 'string', default: '25' } },
  );
  if (!file) throw new Error(`a .cpuprofile file is required\n\n${USAGE}`);
  const top = parseWhole('top', a.top!, 1, 1000);
  let profile: CpuProfile;
  try {
    profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  } catch (err) {
    throw new Error(`cannot read ${file} as a CPU profile: ${(err as Error).message}`);
  }
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas))
    throw new Error(`${file} is not a V8 CPU profile (no nodes, samples or timeDeltas)`);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Each sample's time is the delta to the next sample.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + dt);
  }
  const totalUs = [...selfUs.values()].reduce((x, y) => x + y, 0);
  const idleUs = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((x, [, us]) => x + us, 0);
  const busyUs = totalUs - idleUs;
  const fns = new Map<string, number>();
  const homes = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    const where = home(n.callFrame.url, n.callFrame.functionName);
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${where}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    homes.set(where, (homes.get(where) ?? 0) + us);
  }
  const pct = (us: number): number => Number(((100 * us) / Math.max(1, busyUs)).toFixed(1));
  const sorted = (m: Map<string, number>, n: number) => [...m].sort((x, y) => y[1] - x[1]).slice(0, n);
  console.log(
    `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busyUs / 1e6).toFixed(1)} s busy (${((100 * busyUs) / Math.max(1, totalUs)).toFixed(0)} %)`,
  );
  console.log('\nself time by where the code lives (% of busy time):');
  for (const [where, us] of sorted(homes, 15)) console.log(`  ${pct(us).toFixed(1).padStart(5)} %  ${where}`);
  console.log(`\nself time by function, top ${top}:`);
  for (const [fn, us] of sorted(fns, top)) console.log(`  ${pct(us).toFixed(1).padStart(5)} %  ${fn}`);
  console.log(
    JSON.stringify({
      profiled_s: Number((totalUs / 1e6).toFixed(2)),
      busy_s: Number((busyUs / 1e6).toFixed(2)),
      by_home_pct: Object.fromEntries(sorted(homes, 15).map(([k, us]) => [k, pct(us)])),
      top_functions_pct: Object.fromEntries(sorted(fns, top).map(([k, us]) => [k, pct(us)])),
    }),
  );
});
