import 'server-only';
import { getIronSession, type SessionOptions } from 'iron-session';
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { consoleSettings } from './console-settings';
import { roleAtLeast, type Role } from './roles';
import { loadUsers } from './users';

/** What the sealed session cookie holds. */
export interface SessionData {
  username?: string;
  role?: Role;
  signedInAt?: number;
}

/** The signed-in user, as every check sees them. */
export interface SignedInUser {
  username: string;
  role: Role;
}

export const SESSION_COOKIE = 'switchyard_session';

/** A request refused for want of a session or a role; route handlers turn it into 401/403. */
export class AccessDeniedError extends Error {
  override readonly name = 'AccessDeniedError';
  constructor(
    message: string,
    readonly status: 401 | 403,
  ) {
    super(message);
  }
}

async function sessionOptions(): Promise<SessionOptions> {
  const s = consoleSettings();
  const h = await headers();
  // Secure cookies whenever the console is reached over HTTPS (directly or behind a proxy).
  const secure = h.get('x-forwarded-proto') === 'https';
  return {
    password: s.sessionSecret,
    cookieName: SESSION_COOKIE,
    ttl: s.sessionTtlSeconds,
    cookieOptions: { httpOnly: true, sameSite: 'lax', secure, path: '/' },
  };
}

/** The iron-session for this request (sealed, signed, http-only cookie). */
export async function getSession() {
  return await getIronSession<SessionData>(await cookies(), await sessionOptions());
}

/**
 * The signed-in user, checked against the users file on every request (a removed user or a
 * changed role takes effect at once), or null.
 */
export async function currentUser(): Promise<SignedInUser | null> {
  const session = await getSession();
  if (!session.username) return null;
  const user = loadUsers().get(session.username);
  if (!user) return null;
  return { username: user.username, role: user.role };
}

/** For server actions and route handlers: the user, or AccessDeniedError (401 without a session, 403 without the role). */
export async function requireRole(needed: Role): Promise<SignedInUser> {
  const user = await currentUser();
  if (!user) throw new AccessDeniedError('not signed in', 401);
  if (!roleAtLeast(user.role, needed)) throw new AccessDeniedError(`the ${needed} role is required (${user.username} is a ${user.role})`, 403);
  return user;
}

/** For pages: the user, or a redirect to the sign-in page. */
export async function requirePageUser(): Promise<SignedInUser> {
  const user = await currentUser();
  if (!user) redirect('/login');
  return user;
}
