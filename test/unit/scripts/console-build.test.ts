import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertConsoleStartable, consoleBuildReason, NEXT_BIN } from '../../../scripts/start/console-build.js';
import { StartError } from '../../../scripts/start/start-error.js';

/** A repository-like folder, with or without a console in web/ and an installed next. */
function fakeRepo(o: { console: boolean; next: boolean }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'repo-'));
  fs.mkdirSync(path.join(root, 'web'), { recursive: true });
  fs.mkdirSync(path.join(root, 'config'), { recursive: true });
  fs.writeFileSync(path.join(root, 'config', 'config.ts'), 'export {};');
  if (o.console) {
    fs.mkdirSync(path.join(root, 'web', 'app'), { recursive: true });
    fs.writeFileSync(path.join(root, 'web', 'next.config.ts'), 'export default {};');
    fs.writeFileSync(path.join(root, 'web', 'app', 'page.tsx'), 'export default function Page() {}');
  }
  if (o.next) {
    fs.mkdirSync(path.dirname(path.join(root, NEXT_BIN)), { recursive: true });
    fs.writeFileSync(path.join(root, NEXT_BIN), '');
  }
  return root;
}

/** Sets a file's modification time to some seconds ago. */
const age = (file: string, secondsAgo: number): void => {
  const t = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(file, t, t);
};

describe('console: can it start, must it be built', () => {
  it('fails clearly, pointing at --no-console, when web/ holds no Next.js app', () => {
    assert.throws(
      () => assertConsoleStartable(fakeRepo({ console: false, next: true })),
      (err: unknown) => err instanceof StartError && /no web\/next\.config\.ts and web\/app/.test(err.message) && /npm start -- --no-console/.test(err.message),
    );
  });

  it('fails clearly when Next.js is not installed', () => {
    assert.throws(() => assertConsoleStartable(fakeRepo({ console: true, next: false })), /Next\.js is not installed[\s\S]*npm ci/);
    assert.doesNotThrow(() => assertConsoleStartable(fakeRepo({ console: true, next: true })));
  });

  it('builds on the first run, after a source of web/ or a shared module changes, and not otherwise', () => {
    const root = fakeRepo({ console: true, next: true });
    const sources = ['web', 'config'];
    for (const f of ['web/next.config.ts', 'web/app/page.tsx', 'config/config.ts']) age(path.join(root, f), 60);
    assert.match(consoleBuildReason(root, sources) ?? '', /first run/);

    fs.mkdirSync(path.join(root, 'web', '.next'), { recursive: true });
    const buildId = path.join(root, 'web', '.next', 'BUILD_ID');
    fs.writeFileSync(buildId, 'abc');
    assert.equal(consoleBuildReason(root, sources), undefined, 'the build is newer than every source');

    // Build output and packages are not sources.
    fs.writeFileSync(path.join(root, 'web', '.next', 'trace'), 'x');
    fs.mkdirSync(path.join(root, 'web', 'node_modules'), { recursive: true });
    fs.writeFileSync(path.join(root, 'web', 'node_modules', 'x.js'), 'x');
    assert.equal(consoleBuildReason(root, sources), undefined);

    age(buildId, 30);
    fs.writeFileSync(path.join(root, 'web', 'app', 'page.tsx'), 'export default function Page() { return null; }');
    assert.match(consoleBuildReason(root, sources) ?? '', /sources changed/);

    fs.writeFileSync(buildId, 'def');
    assert.equal(consoleBuildReason(root, sources), undefined);
    age(buildId, 30);
    fs.writeFileSync(path.join(root, 'config', 'config.ts'), 'export const x = 1;');
    assert.match(consoleBuildReason(root, sources) ?? '', /sources changed/, 'a shared module the console imports counts');
  });
});
