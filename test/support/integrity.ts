/** An in-memory integrity key ring for tests that hash tokens, sessions or audit entries without a key file. */
import { randomBytes } from 'node:crypto';
import type { IntegrityKey, KeyRing } from '../../kit/integrity.js';

/** A ring of fresh random keys; the last id is the current key. */
export function testKeyRing(...ids: string[]): KeyRing {
  const keys = new Map<string, IntegrityKey>((ids.length > 0 ? ids : ['t1']).map((id) => [id, { id, secret: randomBytes(32), createdAt: Date.now() }]));
  return { current: [...keys.values()].at(-1)!, keys };
}
