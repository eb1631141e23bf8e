import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignInLimits } from '../../../web/lib/sign-in-limits.js';

describe('sign-in limits', () => {
  it('admits at most the limit of a burst sent at once: each attempt counts before its password is checked', async () => {
    const limits = new SignInLimits({ userAttempts: 10, addressAttempts: 30, windowSeconds: 60 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => limits.admit('tess', '10.0.0.1')));
    assert.equal(answers.filter((a) => a.admitted).length, 10);
    for (const a of answers.filter((x) => !x.admitted)) assert.ok(!a.admitted && a.waitSeconds >= 1 && a.waitSeconds <= 60);
    // Refused attempts cost the address nothing: 10 of its 30 are used.
    const others = await Promise.all(Array.from({ length: 25 }, (_, i) => limits.admit(`user-${i}`, '10.0.0.1')));
    assert.equal(others.filter((a) => a.admitted).length, 20);
  });

  it('gives the point back on a right password, so a user who signs in is not locked out by their own sign-ins', async () => {
    const limits = new SignInLimits({ userAttempts: 3, addressAttempts: 5, windowSeconds: 60 });
    for (let i = 0; i < 12; i++) {
      assert.deepEqual(await limits.admit('olivia', '10.0.0.2'), { admitted: true }, `sign-in ${i + 1}`);
      await limits.succeeded('olivia', '10.0.0.2');
    }
    // Two wrong passwords, then the right one: the count starts afresh.
    await limits.admit('olivia', '10.0.0.2');
    await limits.admit('olivia', '10.0.0.2');
    assert.deepEqual(await limits.admit('olivia', '10.0.0.2'), { admitted: true });
    await limits.succeeded('olivia', '10.0.0.2');
    assert.deepEqual(await limits.admit('olivia', '10.0.0.2'), { admitted: true });
  });

  it('refuses every user name from an address over its limit, and one user name from every address', async () => {
    const limits = new SignInLimits({ userAttempts: 2, addressAttempts: 3, windowSeconds: 60 });
    for (const u of ['a', 'b', 'c']) assert.ok((await limits.admit(u, '10.0.0.3')).admitted);
    assert.equal((await limits.admit('d', '10.0.0.3')).admitted, false);
    assert.ok((await limits.admit('d', '10.0.0.4')).admitted, 'another address may try d');
    assert.ok((await limits.admit('e', '10.0.0.5')).admitted);
    assert.ok((await limits.admit('e', '10.0.0.6')).admitted);
    assert.equal((await limits.admit('e', '10.0.0.7')).admitted, false, 'e is over its limit whatever the address');
  });
});
