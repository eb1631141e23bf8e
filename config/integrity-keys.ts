/**
 * The integrity key file: the secret that makes API tokens, console sessions and the audit chain
 * impossible to forge by writing the DynamoDB tables directly (kit/integrity.ts does the hashing).
 *
 *   <stack dir>/conf/integrity/keys.json   (SWITCHYARD_INTEGRITY_KEY_FILE moves it; mode 600, folder 700)
 *   { "current": "k2", "keys": [{ "id": "k1", "secret": "<32 bytes, base64url>", "createdAt": "<ISO time>" }, ...] }
 *
 * Invariants: the file is made on first start by the console or the control worker, whichever
 * comes first, atomically, so racing processes end up with the same key (the operator CLI only
 * reads it);
 * it is refused when anyone but its owner may read it; every process that writes or checks a tag
 * reads the same file and sees a rotation at its next use (the file is read again when it
 * changes). New tags use `current`; the other keys only check old tags, until they are retired.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { IntegrityKey, KeyRing } from '../kit/integrity.js';
import type { SwitchyardConfig } from './config.js';

/** The integrity key file of a configuration: SWITCHYARD_INTEGRITY_KEY_FILE, or the stack's own. */
export function integrityKeyFile(cfg: Pick<SwitchyardConfig, 'stack'>, env: Record<string, string | undefined> = process.env): string {
  const own = env.SWITCHYARD_INTEGRITY_KEY_FILE?.trim();
  return own ? path.resolve(own) : path.join(cfg.stack.dir, 'conf', 'integrity', 'keys.json');
}

/** The key file cannot be used as it is (damaged, readable by others, a retired current key...). */
export class IntegrityKeyError extends Error {
  override readonly name = 'IntegrityKeyError';
}

const fileSchema = z.object({
  current: z.string(),
  keys: z
    .array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
        secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a secret is 32 bytes in base64url'),
        createdAt: z.iso.datetime(),
      }),
    )
    .min(1),
});
type KeyFile = z.infer<typeof fileSchema>;

const newKey = (id: string): KeyFile['keys'][number] => ({ id, secret: randomBytes(32).toString('base64url'), createdAt: new Date().toISOString() });

function toRing(doc: KeyFile, file: string): KeyRing {
  const keys = new Map<string, IntegrityKey>(
    doc.keys.map((k) => [k.id, { id: k.id, secret: Buffer.from(k.secret, 'base64url'), createdAt: Date.parse(k.createdAt) }]),
  );
  const current = keys.get(doc.current);
  if (!current) throw new IntegrityKeyError(`integrity key file ${file}: the current key '${doc.current}' is not among its keys`);
  return { current, keys };
}

function readDoc(file: string): KeyFile {
  const st = fs.statSync(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    throw new IntegrityKeyError(
      `integrity key file ${file} may be read by others (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${file} (and rotate the key if someone may have read it)`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IntegrityKeyError(`integrity key file ${file} is not JSON: ${(err as Error).message}`);
  }
  const doc = fileSchema.safeParse(parsed);
  if (!doc.success)
    throw new IntegrityKeyError(`integrity key file ${file} is damaged: ${doc.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return doc.data;
}

/** Writes the file (owner-only) through a temporary file: replacing it, or only when none exists yet. */
function writeDoc(file: string, doc: KeyFile, mode: 'replace' | 'create'): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (mode === 'replace') {
      fs.renameSync(tmp, file);
      return true;
    }
    // link() fails when the file exists: of several processes starting at once, one key wins.
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

const cache = new Map<string, { stamp: string; ring: KeyRing }>();

/**
 * The key ring in the file, made (one new key) when there is no file yet and `create` is true.
 * Read again whenever the file changed, so a rotation reaches running processes at their next use.
 */
export function loadIntegrityKeys(file: string, opts: { create?: boolean } = {}): KeyRing {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (!opts.create) throw new IntegrityKeyError(`there is no integrity key file ${file} (the console or the control worker makes it on first start)`);
    writeDoc(file, { current: 'k1', keys: [newKey('k1')] }, 'create');
    st = fs.statSync(file);
  }
  const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.mode}`;
  const hit = cache.get(file);
  if (hit?.stamp === stamp) return hit.ring;
  const ring = toRing(readDoc(file), file);
  cache.set(file, { stamp, ring });
  return ring;
}

/** A key of the file as `keys list` shows it (never the secret). */
export interface IntegrityKeyInfo {
  id: string;
  createdAt: string;
  current: boolean;
}

/** The keys in the file, oldest first. */
export function listIntegrityKeys(file: string): IntegrityKeyInfo[] {
  const doc = readDoc(file);
  return doc.keys.map((k) => ({ id: k.id, createdAt: k.createdAt, current: k.id === doc.current }));
}

/**
 * Adds a new key and makes it the current one; the old keys stay, so every tag they made still
 * checks. Returns the new key's id.
 */
export function rotateIntegrityKey(file: string): string {
  const doc = readDoc(file);
  const n = Math.max(0, ...doc.keys.map((k) => Number(/^k(\d+)$/.exec(k.id)?.[1] ?? 0))) + 1;
  const key = newKey(`k${n}`);
  writeDoc(file, { current: key.id, keys: [...doc.keys, key] }, 'replace');
  return key.id;
}

/**
 * Removes a key that is no longer current: tags it made stop checking (sessions and tokens under
 * it are refused, audit entries it hashed are reported as made with an unknown key).
 */
export function retireIntegrityKey(file: string, id: string): void {
  const doc = readDoc(file);
  if (doc.current === id) throw new IntegrityKeyError(`key ${id} is the current key: rotate first (keys rotate), then retire it`);
  if (!doc.keys.some((k) => k.id === id)) throw new IntegrityKeyError(`there is no key ${id} in ${file} (${doc.keys.map((k) => k.id).join(', ')})`);
  writeDoc(file, { current: doc.current, keys: doc.keys.filter((k) => k.id !== id) }, 'replace');
}
