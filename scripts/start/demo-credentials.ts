/**
 * The console's demo sign-ins and session secret, made on the first `npm start` and reused after:
 *
 *   <dir>/users.json              the users file the console reads (SWITCHYARD_USERS_FILE)
 *   <dir>/demo-credentials.txt    the plaintext demo passwords, for the person running the demo (0600)
 *   <dir>/session-secret          the console's session signing key (SWITCHYARD_SESSION_SECRET, 0600)
 *
 * Passwords are random per machine, never fixed in the repository, so a demo left running on a
 * shared network does not open with a password everybody knows.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CONSOLE_ROLES,
  hashPassword,
  readUsersFile,
  ROLE_DESCRIPTIONS,
  verifyPassword,
  type ConsoleRole,
  type UsersFile,
} from '../../web/lib/console-users.js';

/** One demo sign-in, with what the role may do (printed at the end of `npm start`). */
export interface DemoUser {
  username: string;
  role: ConsoleRole;
  password: string;
  /** What this role can do in the console, in a few words. */
  can: string;
}

/** What ensureDemoCredentials made or found. */
export interface DemoCredentials {
  usersFile: string;
  credentialsFile: string;
  sessionSecretFile: string;
  sessionSecret: string;
  users: DemoUser[];
  /** True when new passwords were made on this call. */
  createdUsers: boolean;
}

/** The demo users: one per role, named after it (what they can do in the console's own words). */
export const DEMO_USERS: readonly { username: string; role: ConsoleRole; can: string }[] = CONSOLE_ROLES.map((role) => ({
  username: role,
  role,
  can: ROLE_DESCRIPTIONS[role],
}));

/** A random password: 12 random bytes, 16 characters of base64url. */
function newPassword(): string {
  return randomBytes(12).toString('base64url');
}

/** Writes a file readable by its owner only, replacing it atomically. */
function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

/** The username → password pairs of a credentials file (empty when missing or unreadable). */
function readCredentials(file: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [username, password] = t.split(/\s+/);
    if (username && password) out.set(username, password);
  }
  return out;
}

/**
 * The saved demo users when every one of them still signs in with its saved password; otherwise
 * undefined (first start, or files edited or half-written), and new ones are made.
 */
function reusableUsers(usersFile: string, credentialsFile: string): DemoUser[] | undefined {
  if (!fs.existsSync(usersFile) || !fs.existsSync(credentialsFile)) return undefined;
  let users: UsersFile;
  try {
    users = readUsersFile(usersFile);
  } catch {
    return undefined;
  }
  const passwords = readCredentials(credentialsFile);
  const out: DemoUser[] = [];
  for (const demo of DEMO_USERS) {
    const stored = users.users.find((u) => u.username === demo.username);
    const password = passwords.get(demo.username);
    if (!stored || stored.role !== demo.role || password === undefined || !verifyPassword(password, stored.passwordHash)) return undefined;
    out.push({ ...demo, password });
  }
  return out;
}

/** Makes the demo users and the session secret under dir on first use; reuses them after. */
export function ensureDemoCredentials(dir: string): DemoCredentials {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const usersFile = path.join(dir, 'users.json');
  const credentialsFile = path.join(dir, 'demo-credentials.txt');
  const sessionSecretFile = path.join(dir, 'session-secret');

  let users = reusableUsers(usersFile, credentialsFile);
  const createdUsers = users === undefined;
  if (users === undefined) {
    users = DEMO_USERS.map((demo) => ({ ...demo, password: newPassword() }));
    const doc: UsersFile = { users: users.map((u) => ({ username: u.username, role: u.role, passwordHash: hashPassword(u.password) })) };
    writePrivate(usersFile, `${JSON.stringify(doc, null, 2)}\n`);
    const width = Math.max(...users.map((u) => u.username.length));
    writePrivate(
      credentialsFile,
      [
        '# Switchyard console demo sign-ins, made by `npm start` on this machine.',
        '# Delete this folder to get new passwords on the next start.',
        ...users.map((u) => `${u.username.padEnd(width)}  ${u.password}`),
        '',
      ].join('\n'),
    );
  }

  let sessionSecret = fs.existsSync(sessionSecretFile) ? fs.readFileSync(sessionSecretFile, 'utf8').trim() : '';
  // 48 random bytes; anything much shorter was not written by us and is not a safe signing key.
  if (sessionSecret.length < 64) {
    sessionSecret = randomBytes(48).toString('base64url');
    writePrivate(sessionSecretFile, `${sessionSecret}\n`);
  }
  return { usersFile, credentialsFile, sessionSecretFile, sessionSecret, users, createdUsers };
}
