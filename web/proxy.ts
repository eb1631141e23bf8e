import { unsealData } from 'iron-session';
import { NextResponse, type NextRequest } from 'next/server';
import { loadConfig } from '../config/config';
import { checkSession } from './lib/auth-store';
import {
  actionBodyKind,
  checkActionEnvelope,
  checkActionReply,
  checkEnvPage,
  checkOrigin,
  checkPath,
  contentSecurityPolicy,
  formActionPrefix,
  guardSettings,
  HSTS,
  isHttps,
  newNonce,
  type ActionParts,
  type GuardSettings,
  type Refusal,
} from './lib/request-guard';

// First line of defence, before any page, route handler or server action runs:
//  - a broken URL is a 400, a request that changes something from another origin than the
//    console's own (scheme, host and port; lib/request-guard.ts ownOrigins) a 403, a server action
//    that is not a form, is malformed (its parts as React's decoder reads them) or too large a 400
//    or 413, whether sent by the page's JavaScript (Next-Action header) or as a plain form post;
//  - without a session cookie that unseals, pages redirect to /login and everything else gets 401,
//    except the sign-in page itself (whose form is a server action: on /login any action's own
//    role check refuses it) and the token-authenticated operator API (/api/ops/, checked there);
//  - an environment page of an unknown env is a 404;
//  - every response gets a Content-Security-Policy with a fresh nonce for Next.js's scripts, and
//    HSTS when served over HTTPS.
// Every page, action and route handler checks the session (in the session table, so a signed-out
// session is refused) and the role again on the server (lib/session.ts): this is not the only check.

const SESSION_COOKIE = 'switchyard_session';

let settings: GuardSettings | undefined;
function guard(): GuardSettings {
  settings ??= guardSettings(process.env, loadConfig().environments);
  return settings;
}

/**
 * A live session: the cookie unseals and names a session the session table still holds (signed
 * out, ended by an approver, idle or past its lifetime: not live). Checked here too so a page
 * asked for with a dead session is a redirect to the sign-in page, not a page that redirects
 * itself after its status was sent. Session table unreachable: the pages' own check decides.
 */
async function hasLiveSession(request: NextRequest): Promise<boolean> {
  const sealed = request.cookies.get(SESSION_COOKIE)?.value;
  const secret = process.env.SWITCHYARD_SESSION_SECRET;
  if (!sealed || !secret || secret.length < 32) return false;
  let data: { username?: string; sessionId?: string };
  try {
    data = await unsealData<{ username?: string; sessionId?: string }>(sealed, { password: secret });
  } catch {
    return false;
  }
  if (typeof data.username !== 'string' || data.username.length === 0 || typeof data.sessionId !== 'string') return false;
  try {
    return (await checkSession(data.username, data.sessionId)) === null;
  } catch {
    return true;
  }
}

function refuse(request: NextRequest, r: Refusal): NextResponse {
  const wantsHtml = request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
  if (wantsHtml) {
    const html = `<!doctype html><html lang="en"><head><title>${r.status}</title></head><body><h1>${r.status}</h1><p>${escapeHtml(r.message)}</p><p><a href="/">Overview</a></p></body></html>`;
    return new NextResponse(html, { status: r.status, headers: { 'content-type': 'text/html; charset=utf-8' } });
  }
  return NextResponse.json({ error: r.message }, { status: r.status });
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A server action's body must parse as React's decoder reads it: a malformed form or argument text is the client's error (400), not the server's. */
async function checkActionBody(request: NextRequest): Promise<Refusal | null> {
  const kind = actionBodyKind(request.headers);
  let parts: ActionParts;
  try {
    parts = kind === 'json-text' ? new Map([['0', await request.clone().text()]]) : new Map((await request.clone().formData()).entries());
  } catch (err) {
    return { status: 400, message: `bad request: the action's form could not be read (${(err as Error).message.slice(0, 200)})` };
  }
  return checkActionReply(parts);
}

/**
 * A form posted without JavaScript (multipart, no Next-Action header) is a server action when it
 * names one (`$ACTION_ID_...`, or `$ACTION_REF_<n>` with its bound arguments): checked the same way.
 */
async function checkFormPost(request: NextRequest): Promise<Refusal | null> {
  const envelope = checkActionEnvelope(request.headers);
  if (envelope) return envelope;
  let parts: ActionParts;
  try {
    parts = new Map((await request.clone().formData()).entries());
  } catch (err) {
    return { status: 400, message: `bad request: the form could not be read (${(err as Error).message.slice(0, 200)})` };
  }
  const prefix = formActionPrefix(parts);
  return prefix === null ? null : checkActionReply(parts, prefix);
}

async function check(request: NextRequest): Promise<NextResponse | null> {
  const s = guard();
  const { pathname } = request.nextUrl;
  const early = checkPath(pathname) ?? checkOrigin(request.method, request.headers, s);
  if (early) return refuse(request, early);
  const isAction = request.method === 'POST' && request.headers.has('next-action');
  if (isAction) {
    const bad = checkActionEnvelope(request.headers) ?? (await checkActionBody(request));
    if (bad) return refuse(request, bad);
  } else if (request.method === 'POST' && (request.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) {
    const bad = await checkFormPost(request);
    if (bad) return refuse(request, bad);
  }
  if (pathname === '/login') return null;
  if (pathname.startsWith('/api/ops/') && /^bearer /i.test(request.headers.get('authorization') ?? '')) return null;
  if (!(await hasLiveSession(request))) {
    if (pathname.startsWith('/api/') || isAction || request.method !== 'GET') return NextResponse.json({ error: 'not signed in' }, { status: 401 });
    return NextResponse.redirect(new URL('/login', request.url));
  }
  const missing = checkEnvPage(pathname, s);
  return missing ? refuse(request, missing) : null;
}

export async function proxy(request: NextRequest): Promise<NextResponse> {
  const s = guard();
  const nonce = newNonce();
  const csp = contentSecurityPolicy(nonce, process.env.NODE_ENV === 'development');
  let response = await check(request);
  if (!response) {
    // Next.js reads the nonce from the request's CSP header and puts it on the scripts it renders.
    const headers = new Headers(request.headers);
    headers.set('x-nonce', nonce);
    headers.set('content-security-policy', csp);
    // Without a trusted proxy in front, a forwarded host is whatever the client made up: drop it,
    // and Next.js fills it in from the Host header (its own server-action origin check reads it).
    if (!s.trustedProxy) headers.delete('x-forwarded-host');
    response = NextResponse.next({ request: { headers } });
  }
  response.headers.set('content-security-policy', csp);
  if (isHttps(request.nextUrl, request.headers, s)) response.headers.set('strict-transport-security', HSTS);
  return response;
}

export const config = {
  // Static build output and the favicon need no session; everything else does.
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
