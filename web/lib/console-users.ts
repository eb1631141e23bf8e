/**
 * The console's users file and password hashes: the console signs people in with them, and
 * `npm start` imports this file to write the demo users, so both agree on one format:
 *
 *   { "users": [ { "username": "alice", "role": "operator", "passwordHash": "scrypt$<saltHex>$<hashHex>" } ] }
 *
 * The hash is node's scrypt with its default cost (N = 16384, r = 8, p = 1), a 16-byte random
 * salt and a 64-byte key. Only node:crypto, node:fs and zod are imported, so server code of the
 * Next.js console can import this file as it is.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';

/** What a console user may do, from least to most. */
export const CONSOLE_ROLES = ['viewer', 'operator', 'approver'] as const;

/** One console role. */
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** A user name: 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter. */
export const USERNAME_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/;

/** What each role may do, as shown on the sign-in page, by `npm start` and in the docs. */
export const ROLE_DESCRIPTIONS: Record<ConsoleRole, string> = {
  viewer: 'reads every page; cannot act',
  operator: 'creates, starts, advances, ramps, pauses, resumes and rolls back migrations',
  approver: 'everything an operator can, and approves decommissions (of someone else’s request)',
};

const KEY_BYTES = 64;
const SALT_BYTES = 16;
const HASH_PATTERN = /^scrypt\$([0-9a-f]{32})\$([0-9a-f]{128})$/;

/** Hashes a password for the users file: `scrypt$<saltHex>$<hashHex>`, with a fresh random salt. */
export function hashPassword(password: string): string {
  const salt = randomBytes(SALT_BYTES);
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, KEY_BYTES).toString('hex')}`;
}

/**
 * True when the password matches a stored hash. Compares in constant time, so the time taken
 * does not tell how much of a guess was right; a malformed stored hash matches nothing.
 */
export function verifyPassword(password: string, stored: string): boolean {
  const m = HASH_PATTERN.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[2]!, 'hex');
  const actual = scryptSync(password, Buffer.from(m[1]!, 'hex'), KEY_BYTES);
  return timingSafeEqual(actual, expected);
}

/**
 * verifyPassword without blocking: scrypt runs on libuv's thread pool, so a server checking
 * passwords (the console's sign-in) keeps answering other requests meanwhile.
 */
export async function verifyPasswordAsync(password: string, stored: string): Promise<boolean> {
  const m = HASH_PATTERN.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[2]!, 'hex');
  const actual = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, Buffer.from(m[1]!, 'hex'), KEY_BYTES, (err, key) => (err ? reject(err) : resolve(key))),
  );
  return timingSafeEqual(actual, expected);
}

/** Schema of the users file (SWITCHYARD_USERS_FILE). */
export const usersFileSchema = z.object({
  users: z
    .array(
      z.object({
        username: z.string().regex(USERNAME_PATTERN, 'must be 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter'),
        role: z.enum(CONSOLE_ROLES),
        passwordHash: z.string().regex(HASH_PATTERN, 'must be scrypt$<32 hex digits of salt>$<128 hex digits of hash> (see hashPassword)'),
      }),
    )
    .min(1, 'needs at least one user')
    .refine((users) => new Set(users.map((u) => u.username)).size === users.length, 'usernames must be unique'),
});

/** The users file's contents. */
export type UsersFile = z.infer<typeof usersFileSchema>;

/** Thrown when the users file cannot be read or is invalid; names the file and every problem. */
export class UsersFileError extends Error {
  /** Never retriable: the same file fails the same way. */
  readonly retriable = false;
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`users file ${file}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'UsersFileError';
  }
}

/** Reads and validates a users file. */
export function readUsersFile(file: string): UsersFile {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsersFileError(file, [`cannot read it as JSON: ${(err as Error).message}`]);
  }
  const parsed = usersFileSchema.safeParse(doc);
  if (!parsed.success)
    throw new UsersFileError(
      file,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`),
    );
  return parsed.data;
}
