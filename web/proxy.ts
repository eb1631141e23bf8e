import { unsealData } from 'iron-session';
import { NextResponse, type NextRequest } from 'next/server';

// First line of defence: nothing but the sign-in page and static assets answers without a valid
// session cookie. Pages redirect to /login; API routes and server actions get 401. Every page,
// action and route handler checks the session and the role again on the server (lib/session.ts),
// so this is not the only check.

const SESSION_COOKIE = 'switchyard_session';

async function hasSession(request: NextRequest): Promise<boolean> {
  const sealed = request.cookies.get(SESSION_COOKIE)?.value;
  const secret = process.env.SWITCHYARD_SESSION_SECRET;
  if (!sealed || !secret || secret.length < 32) return false;
  try {
    const data = await unsealData<{ username?: string }>(sealed, { password: secret });
    return typeof data.username === 'string' && data.username.length > 0;
  } catch {
    return false;
  }
}

export async function proxy(request: NextRequest): Promise<NextResponse> {
  const { pathname } = request.nextUrl;
  if (pathname === '/login') return NextResponse.next();
  if (await hasSession(request)) return NextResponse.next();
  const isAction = request.method === 'POST' && request.headers.has('next-action');
  if (pathname.startsWith('/api/') || isAction || request.method !== 'GET') {
    return NextResponse.json({ error: 'not signed in' }, { status: 401 });
  }
  const login = new URL('/login', request.url);
  return NextResponse.redirect(login);
}

export const config = {
  // Static build output and the favicon need no session; everything else does.
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
