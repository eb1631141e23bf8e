/**
 * Keyed hashes that make rows in an unauthenticated store worthless to forge: HMAC-SHA256 under a
 * secret only Switchyard's own processes hold (the integrity key ring; config/integrity-keys.ts
 * reads it from its file). Pure functions, no I/O.
 *
 * A tag is `<key id>:<64 hex digits>`: the key that made it travels with it, so a key ring with
 * several keys (during a rotation) checks old tags with their own key and makes new ones with the
 * current key. The hashed message is the JSON array of a purpose and the fields, so two different
 * field lists (or the same fields for another purpose) never hash alike.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** One secret of the ring. */
export interface IntegrityKey {
  /** Short name stored with every tag it made ("k1", "k2", ...). */
  id: string;
  /** 32 random bytes. */
  secret: Buffer;
  /** When it was made (epoch ms). */
  createdAt: number;
}

/** The keys a process may check tags with; new tags use `current`. */
export interface KeyRing {
  current: IntegrityKey;
  keys: ReadonlyMap<string, IntegrityKey>;
}

/** A field of a keyed hash: what the stores hold. */
export type TagField = string | number | null;

/** What checkTag found. */
export type TagCheck = 'ok' | 'mismatch' | 'unknown-key' | 'malformed';

const TAG_PATTERN = /^([A-Za-z0-9_-]{1,32}):([0-9a-f]{64})$/;

function mac(key: IntegrityKey, purpose: string, fields: readonly TagField[]): Buffer {
  return createHmac('sha256', key.secret)
    .update(JSON.stringify([purpose, ...fields]))
    .digest();
}

/** A tag over the fields for a purpose, made with the ring's current key. */
export function makeTag(ring: KeyRing, purpose: string, fields: readonly TagField[]): string {
  return `${ring.current.id}:${mac(ring.current, purpose, fields).toString('hex')}`;
}

/** The id of the key a tag names, or null when it is not a tag. */
export function tagKeyId(tag: string): string | null {
  return TAG_PATTERN.exec(tag)?.[1] ?? null;
}

/** Checks a tag (in constant time) against the fields, with the key it names. */
export function checkTag(ring: KeyRing, tag: string | undefined, purpose: string, fields: readonly TagField[]): TagCheck {
  const m = TAG_PATTERN.exec(tag ?? '');
  if (!m) return 'malformed';
  const key = ring.keys.get(m[1]!);
  if (!key) return 'unknown-key';
  return timingSafeEqual(mac(key, purpose, fields), Buffer.from(m[2]!, 'hex')) ? 'ok' : 'mismatch';
}
