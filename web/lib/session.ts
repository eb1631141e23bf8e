import 'server-only';
import { getIronSession, type SessionOptions } from 'iron-session';
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { checkSession } from './auth-store';
import { consoleSettings } from './console-settings';
import { roleAtLeast, type Role } from './roles';
import { loadUsers } from './users';

/**
 * What the sealed session cookie holds: who, and the id of their server-side session (the
 * session table, lib/auth-store.ts, decides whether it is still valid: signed out, ended by an
 * approver, idle or past its lifetime).
 */
export interface SessionData {
  username?: string;
  sessionId?: string;
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
 * The signed-in user, or null: the cookie's session must be live in the session table (sign-out
 * and "end sessions" delete it; idle timeout and absolute lifetime end it), and the user must
 * still be in the users file, with the role it says now (a removed user or a changed role takes
 * effect at once).
 */
export async function currentUser(): Promise<SignedInUser | null> {
  const session = await getSession();
  if (!session.username || !session.sessionId) return null;
  if ((await checkSession(session.username, session.sessionId)) !== null) return null;
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

/** What a server action answers when it does not get to do its work, or its work fails. */
export interface ActionAnswers<S> {
  /** No live session, or a role too low: the message is `refused: <why>`. */
  refused: (message: string) => S;
  /** Anything else the work threw (a service unreachable, a request the workflow refused). */
  failed: (err: Error) => S;
}

/**
 * Runs a server action's work as the signed-in user when they have at least `role`. The session
 * and the role are checked on the server first, so a forged request from a viewer's browser is
 * refused here whatever the page showed; the action's own answers say what a refusal or a
 * failure reads like.
 */
export async function withRole<S>(role: Role, work: (user: SignedInUser) => Promise<S>, answers: ActionAnswers<S>): Promise<S> {
  try {
    return await work(await requireRole(role));
  } catch (err) {
    if (err instanceof AccessDeniedError) return answers.refused(`refused: ${err.message}`);
    return answers.failed(err as Error);
  }
}
