/**
 * The workflows' code for the control worker, bundled once per version of its sources.
 *
 * Temporal's worker bundles the workflows with webpack at every start (4 to 12 s of CPU on the
 * 2-core machine, more than the rest of the start). The bundle depends only on the files the
 * workflows import and on the installed packages, so it is kept under `.cache/workflow-bundles/`,
 * named by a hash of exactly those: any change to a workflow, a module it imports or
 * package-lock.json gives a new name and a new bundle. The same code runs either way; a cache
 * that cannot be written only costs the bundling time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { REPO_ROOT } from '../config/config.js';
import type { Logger } from '../kit/logger.js';

/** Where bundles are kept (one file per source hash). */
export const WORKFLOW_BUNDLE_DIR = path.join(REPO_ROOT, '.cache', 'workflow-bundles');

/** Keep this many newest bundles; older ones are removed when a new one is written. */
const KEEP = 5;

/** The repository's own modules `entry` imports, transitively (relative imports, `.js` written for `.ts`). */
export function workflowSourceFiles(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [path.resolve(entry)];
  const importRe = /(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = (m[1] ?? m[2])!;
      const base = path.resolve(path.dirname(file), spec);
      const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`, path.join(base, 'index.ts'), base];
      const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
      if (found) pending.push(found);
    }
  }
  return [...seen].sort();
}

/** The hash naming the bundle of `entry`: its source files (paths and contents) and the lockfile. */
export function workflowBundleKey(entry: string): string {
  const hash = crypto.createHash('sha256');
  for (const file of workflowSourceFiles(entry)) {
    hash.update(path.relative(REPO_ROOT, file));
    hash.update('\0');
    hash.update(fs.readFileSync(file));
    hash.update('\0');
  }
  const lock = path.join(REPO_ROOT, 'package-lock.json');
  if (fs.existsSync(lock)) hash.update(fs.readFileSync(lock));
  return hash.digest('hex').slice(0, 24);
}

/**
 * The worker's `workflowBundle` for `entry`: the cached bundle of these sources, built and kept
 * when there is none. Falls back to bundling in memory when the cache cannot be written.
 */
export async function workflowBundle(entry: string, logger: Logger, dir = WORKFLOW_BUNDLE_DIR): Promise<{ codePath: string } | { code: string }> {
  const started = Date.now();
  const key = workflowBundleKey(entry);
  const codePath = path.join(dir, `workflows-${key}.js`);
  if (fs.existsSync(codePath)) {
    logger.info({ action: 'workflow-bundle', codePath, cached: true }, `workflow bundle ${key} from the cache`);
    return { codePath };
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: entry });
  try {
    fs.mkdirSync(dir, { recursive: true });
    // Written whole under another name, then renamed: a worker starting beside this one reads
    // either no file or the whole bundle.
    const tmp = `${codePath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, codePath);
    pruneOldBundles(dir);
    logger.info(
      { action: 'workflow-bundle', codePath, cached: false, ms: Date.now() - started },
      `workflow bundle ${key} built in ${Date.now() - started} ms and kept for the next start`,
    );
    return { codePath };
  } catch (err) {
    logger.warn({ action: 'workflow-bundle', err: (err as Error).message }, `workflow bundle not kept (${(err as Error).message}): using it from memory`);
    return { code };
  }
}

function pruneOldBundles(dir: string): void {
  const bundles = fs
    .readdirSync(dir)
    .filter((f) => /^workflows-[0-9a-f]+\.js$/.test(f))
    .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of bundles.slice(KEEP)) fs.rmSync(path.join(dir, f), { force: true });
}
