import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  integrityKeyFile,
  IntegrityKeyError,
  listIntegrityKeys,
  loadIntegrityKeys,
  retireIntegrityKey,
  rotateIntegrityKey,
} from '../../../config/integrity-keys.js';
import { checkTag, makeTag } from '../../../kit/integrity.js';

const tmpFile = (): string => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'integrity-')), 'conf', 'keys.json');

describe('integrity key file', () => {
  it('lives under the stack folder unless SWITCHYARD_INTEGRITY_KEY_FILE moves it', () => {
    assert.equal(integrityKeyFile({ stack: { dir: '/s' } } as never, {}), '/s/conf/integrity/keys.json');
    assert.equal(
      integrityKeyFile({ stack: { dir: '/s' } } as never, { SWITCHYARD_INTEGRITY_KEY_FILE: '/etc/switchyard/keys.json' }),
      '/etc/switchyard/keys.json',
    );
  });

  it('is made on first use, readable by its owner only, and the same key for every later reader', () => {
    const file = tmpFile();
    assert.throws(() => loadIntegrityKeys(file), /there is no integrity key file/);
    const ring = loadIntegrityKeys(file, { create: true });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.equal(ring.current.id, 'k1');
    assert.equal(ring.current.secret.length, 32);
    const again = loadIntegrityKeys(file, { create: true });
    assert.ok(again.current.secret.equals(ring.current.secret), 'a second start keeps the key');
  });

  it('refuses a file others may read', () => {
    const file = tmpFile();
    loadIntegrityKeys(file, { create: true });
    fs.chmodSync(file, 0o644);
    assert.throws(
      () => loadIntegrityKeys(file),
      (err: unknown) => err instanceof IntegrityKeyError && /mode 644\): run chmod 600/.test(err.message),
    );
  });

  it('rotates: new tags use the new key, old tags still check until their key is retired', () => {
    const file = tmpFile();
    const before = loadIntegrityKeys(file, { create: true });
    const old = makeTag(before, 'token', ['abc']);
    assert.equal(rotateIntegrityKey(file), 'k2');
    const after = loadIntegrityKeys(file);
    assert.equal(after.current.id, 'k2', 'a running process sees the rotation at its next use');
    assert.match(makeTag(after, 'token', ['abc']), /^k2:/);
    assert.equal(checkTag(after, old, 'token', ['abc']), 'ok');
    assert.equal(checkTag(after, old, 'token', ['abd']), 'mismatch');
    assert.deepEqual(
      listIntegrityKeys(file).map((k) => [k.id, k.current]),
      [
        ['k1', false],
        ['k2', true],
      ],
    );
    assert.throws(() => retireIntegrityKey(file, 'k2'), /is the current key/);
    retireIntegrityKey(file, 'k1');
    assert.equal(checkTag(loadIntegrityKeys(file), old, 'token', ['abc']), 'unknown-key');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'still owner-only after a rewrite');
  });

  it('names what is wrong with a damaged file', () => {
    const file = tmpFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ current: 'k3', keys: [{ id: 'k1', secret: 'short', createdAt: 'yesterday' }] }), { mode: 0o600 });
    assert.throws(() => loadIntegrityKeys(file), /is damaged: keys.0.secret: a secret is 32 bytes in base64url/);
  });
});
