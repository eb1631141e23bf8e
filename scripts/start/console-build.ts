/**
 * Whether the console (the Next.js app in web/) can be started, and whether it must be built
 * first: `next start` serves the last `next build`, so a build older than its sources would
 * show yesterday's console.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StartError } from './start-error.js';

/** Path of the Next.js command line, relative to the repository. */
export const NEXT_BIN = path.join('node_modules', 'next', 'dist', 'bin', 'next');

/**
 * What the console's build is made from, relative to the repository: web/ and the project modules
 * its server code imports (test/support/console.ts builds it for tests by the same rule).
 */
export const CONSOLE_SOURCES = ['web', 'contract', 'audit', 'config', 'pipeline', 'activities', 'workflows', 'package-lock.json'];

const NEXT_CONFIGS = ['next.config.ts', 'next.config.mjs', 'next.config.js'];

/** Fails with a clear message when the console cannot be started from this checkout. */
export function assertConsoleStartable(repoRoot: string): void {
  const webDir = path.join(repoRoot, 'web');
  if (!NEXT_CONFIGS.some((f) => fs.existsSync(path.join(webDir, f))) || !fs.existsSync(path.join(webDir, 'app'))) {
    throw new StartError(
      'console',
      'web/ holds no Next.js app (no web/next.config.ts and web/app/), so there is no console to start in this checkout',
      'To start everything else:\n    npm start -- --no-console',
    );
  }
  if (!fs.existsSync(path.join(repoRoot, NEXT_BIN))) {
    throw new StartError('console', `${NEXT_BIN} is missing: Next.js is not installed`, 'Install the packages first:\n    npm ci');
  }
}

/** The newest modification time (ms) under a file or folder, skipping build output and packages. */
export function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const stat = fs.statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of fs.readdirSync(p, { withFileTypes: true })) {
    if (entry.name === '.next' || entry.name === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(path.join(p, entry.name)));
  }
  return newest;
}

/** Why the console needs a build, or undefined when the last build is newer than every source. */
export function consoleBuildReason(repoRoot: string, sources: string[] = CONSOLE_SOURCES): string | undefined {
  const buildId = path.join(repoRoot, 'web', '.next', 'BUILD_ID');
  if (!fs.existsSync(buildId)) return 'first run: about 2 minutes';
  const newest = Math.max(...sources.map((s) => newestMtime(path.join(repoRoot, s))));
  return fs.statSync(buildId).mtimeMs < newest ? 'its sources changed since the last build: about 2 minutes' : undefined;
}
