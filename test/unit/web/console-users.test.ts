import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hashPassword, readUsersFile, UsersFileError, verifyPassword, verifyPasswordAsync } from '../../../web/lib/console-users.js';

describe('console users: password hashes', () => {
  it('verifies the password a hash was made from', () => {
    const stored = hashPassword('correct horse');
    assert.match(stored, /^scrypt\$[0-9a-f]{32}\$[0-9a-f]{128}$/);
    assert.equal(verifyPassword('correct horse', stored), true);
  });

  it('refuses a wrong password, including near misses and the empty one', () => {
    const stored = hashPassword('correct horse');
    for (const wrong of ['correct hors', 'correct horse ', 'Correct horse', '']) assert.equal(verifyPassword(wrong, stored), false, wrong);
  });

  it('salts every hash, so equal passwords do not give equal hashes', () => {
    assert.notEqual(hashPassword('same'), hashPassword('same'));
  });

  it('is scrypt with node defaults over the salt bytes, so other code can check it the same way', () => {
    const stored = hashPassword('pw');
    const [, saltHex, hashHex] = stored.split('$');
    assert.equal(scryptSync('pw', Buffer.from(saltHex!, 'hex'), 64).toString('hex'), hashHex);
  });

  it('matches nothing against a malformed stored hash', () => {
    const good = hashPassword('pw');
    for (const bad of ['', 'pw', good.replace('scrypt$', 'bcrypt$'), good.slice(0, -2), `${good}00`, good.toUpperCase()]) {
      assert.equal(verifyPassword('pw', bad), false, bad);
    }
  });
});

describe('console users: the users file', () => {
  const write = (doc: unknown): string => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'users-')), 'users.json');
    fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return file;
  };

  it('reads a valid file', () => {
    const file = write({ users: [{ username: 'alice', role: 'operator', passwordHash: hashPassword('pw') }] });
    const users = readUsersFile(file).users;
    assert.equal(users[0]!.username, 'alice');
    assert.equal(verifyPassword('pw', users[0]!.passwordHash), true);
  });

  it('names every problem of an invalid file', () => {
    const file = write({
      users: [
        { username: 'Alice Smith', role: 'admin', passwordHash: 'plain' },
        { username: 'bob', role: 'viewer', passwordHash: hashPassword('x') },
      ],
    });
    assert.throws(
      () => readUsersFile(file),
      (err: unknown) => {
        assert.ok(err instanceof UsersFileError);
        const text = err.problems.join('\n');
        assert.match(text, /users\.0\.username: must be 1-64 lower-case letters/);
        assert.match(text, /users\.0\.role/);
        assert.match(text, /users\.0\.passwordHash: must be scrypt\$/);
        assert.ok(err.message.startsWith(`users file ${file}:`), err.message);
        return true;
      },
    );
  });

  it('refuses two users with one name', () => {
    const passwordHash = hashPassword('x');
    const file = write({
      users: [
        { username: 'alice', role: 'viewer', passwordHash },
        { username: 'alice', role: 'approver', passwordHash },
      ],
    });
    assert.throws(() => readUsersFile(file), /users: usernames must be unique/);
  });

  it('says when the file is not JSON', () => {
    assert.throws(() => readUsersFile(write('{nope')), /cannot read it as JSON/);
  });
});

describe('verifyPasswordAsync', () => {
  it('agrees with verifyPassword on right, wrong and malformed hashes', async () => {
    const stored = hashPassword('correct horse');
    assert.equal(await verifyPasswordAsync('correct horse', stored), true);
    for (const wrong of ['correct hors', 'Correct horse', '']) assert.equal(await verifyPasswordAsync(wrong, stored), false, wrong);
    assert.equal(await verifyPasswordAsync('pw', 'scrypt$00$00'), false);
  });
});
