import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readUsersFile, verifyPassword } from '../../../web/lib/console-users.js';
import { ensureDemoCredentials } from '../../../scripts/start/demo-credentials.js';

const freshDir = (): string => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'console-')), 'console');
const mode = (file: string): number => fs.statSync(file).mode & 0o777;

describe('demo credentials', () => {
  it('makes one user per role with random passwords that sign in, in private files', () => {
    const c = ensureDemoCredentials(freshDir());
    assert.equal(c.createdUsers, true);
    assert.deepEqual(
      c.users.map((u) => [u.username, u.role]),
      [
        ['viewer', 'viewer'],
        ['operator', 'operator'],
        ['approver', 'approver'],
      ],
    );
    const stored = readUsersFile(c.usersFile).users;
    for (const u of c.users) {
      assert.match(u.password, /^[A-Za-z0-9_-]{16}$/);
      assert.equal(verifyPassword(u.password, stored.find((s) => s.username === u.username)!.passwordHash), true);
    }
    assert.equal(new Set(c.users.map((u) => u.password)).size, 3, 'each user has its own password');
    const text = fs.readFileSync(c.credentialsFile, 'utf8');
    for (const u of c.users) assert.match(text, new RegExp(`^${u.username}\\s+${u.password}$`, 'm'));
    assert.equal(mode(c.credentialsFile), 0o600);
    assert.equal(mode(c.sessionSecretFile), 0o600);
    assert.match(c.sessionSecret, /^[A-Za-z0-9_-]{64}$/, '48 random bytes, base64url');
  });

  it('reuses the passwords and the session secret on later starts', () => {
    const dir = freshDir();
    const first = ensureDemoCredentials(dir);
    const second = ensureDemoCredentials(dir);
    assert.equal(second.createdUsers, false);
    assert.deepEqual(second.users, first.users);
    assert.equal(second.sessionSecret, first.sessionSecret);
  });

  it('makes new passwords when the saved ones no longer sign in', () => {
    const dir = freshDir();
    const first = ensureDemoCredentials(dir);
    fs.writeFileSync(first.credentialsFile, fs.readFileSync(first.credentialsFile, 'utf8').replace(first.users[1]!.password, 'edited-by-hand00'));
    const second = ensureDemoCredentials(dir);
    assert.equal(second.createdUsers, true);
    const stored = readUsersFile(second.usersFile).users;
    for (const u of second.users) assert.equal(verifyPassword(u.password, stored.find((s) => s.username === u.username)!.passwordHash), true);
    assert.equal(second.sessionSecret, first.sessionSecret, 'the session secret is kept');
  });
});
