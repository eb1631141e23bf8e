import 'server-only';
import fs from 'node:fs';
import { readUsersFile, verifyPasswordAsync } from './console-users';
import { consoleSettings } from './console-settings';
import type { Role } from './roles';

// The users file format, its validation and the password hashing live in console-users.ts,
// which `npm start` imports too (it writes the demo users).

/** A console user as the users file defines it. */
export interface ConsoleUser {
  username: string;
  role: Role;
  passwordHash: string;
}

let cache: { mtimeMs: number; users: Map<string, ConsoleUser> } | undefined;

/** The users, re-read when the file changes (so removing a user or changing a role takes effect at once). */
export function loadUsers(): Map<string, ConsoleUser> {
  const file = consoleSettings().usersFile;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(`users file ${file} (SWITCHYARD_USERS_FILE) does not exist`);
  }
  if (cache && cache.mtimeMs === stat.mtimeMs) return cache.users;
  const users = new Map(readUsersFile(file).users.map((u) => [u.username, u]));
  cache = { mtimeMs: stat.mtimeMs, users };
  return users;
}

// A well-formed hash of a random password nobody knows: unknown usernames are checked against it,
// so a wrong username costs the same scrypt as a wrong password and timing tells nothing.
const DECOY_HASH = `scrypt$${'0'.repeat(32)}$${'0'.repeat(128)}`;

/** The user when the password is right, else null (scrypt off the event loop: sign-in never blocks the server). */
export async function authenticate(username: string, password: string): Promise<ConsoleUser | null> {
  const user = loadUsers().get(username);
  const ok = await verifyPasswordAsync(password, user?.passwordHash ?? DECOY_HASH);
  return user && ok ? user : null;
}
