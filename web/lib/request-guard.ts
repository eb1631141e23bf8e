/**
 * The checks the proxy (web/proxy.ts) makes on every request before any page, route or server
 * action runs: pure functions of the request's method, URL and headers, so unit tests can call
 * them. Each refusal is a status and a message a person can act on, never a 500.
 */

/** Largest server-action body the console accepts (its forms send a few hundred bytes). */
export const MAX_ACTION_BODY_BYTES = 64 * 1024;

/** The proxy's own settings, read from the environment. */
export interface GuardSettings {
  /**
   * True when the console is reached only through a reverse proxy that sets X-Forwarded-Host and
   * X-Forwarded-Proto itself (SWITCHYARD_TRUSTED_PROXY=1); otherwise those headers are ignored,
   * since any client can send them.
   */
  trustedProxy: boolean;
  /** Extra hosts (host[:port]) a server action may come from (SWITCHYARD_ALLOWED_ORIGINS, comma-separated). */
  allowedOrigins: string[];
  /** The environments the console manages (SWITCHYARD_ENVS). */
  environments: string[];
}

/** A refusal: the status and the message the proxy answers with. */
export interface Refusal {
  status: 400 | 403 | 404 | 413;
  message: string;
}

/** Reads the guard's settings from environment variables. */
export function guardSettings(env: Record<string, string | undefined>, environments: string[]): GuardSettings {
  const flag = (env.SWITCHYARD_TRUSTED_PROXY ?? '').trim().toLowerCase();
  return {
    trustedProxy: flag === '1' || flag === 'true' || flag === 'yes',
    allowedOrigins: (env.SWITCHYARD_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    environments,
  };
}

/** The host the browser addressed: the Host header, or X-Forwarded-Host behind a trusted proxy. */
export function requestHost(headers: Headers, s: GuardSettings): string {
  const forwarded = s.trustedProxy ? headers.get('x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  return (forwarded || headers.get('host') || '').toLowerCase();
}

/** True when the request came over HTTPS (the URL's scheme, or X-Forwarded-Proto behind a trusted proxy). */
export function isHttps(url: URL, headers: Headers, s: GuardSettings): boolean {
  const proto = headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  if (s.trustedProxy && proto) return proto === 'https';
  // Next.js derives the URL's scheme from X-Forwarded-Proto too, so without a trusted proxy a
  // request carrying that header says nothing about the connection.
  if (proto) return false;
  return url.protocol === 'https:';
}

/** A path that cannot be decoded (a broken percent escape such as /envs/%E0%A4%A) is a 400. */
export function checkPath(pathname: string): Refusal | null {
  try {
    decodeURIComponent(pathname);
    return null;
  } catch {
    return { status: 400, message: `malformed URL: the path ${pathname.slice(0, 200)} has a broken percent escape` };
  }
}

/**
 * Cross-site request check for every request that can change something (any method but GET and
 * HEAD): a browser sends Origin with it, and its host must be the console's own (or an allowed
 * origin). A forwarded host counts only behind a trusted proxy, so `Origin: http://evil.example`
 * with `X-Forwarded-Host: evil.example` is refused.
 */
export function checkOrigin(method: string, headers: Headers, s: GuardSettings): Refusal | null {
  if (method === 'GET' || method === 'HEAD') return null;
  const origin = headers.get('origin');
  if (origin === null) return null; // not a browser: it needs a session or a token like anyone else
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return { status: 403, message: `refused: the Origin header '${origin.slice(0, 100)}' is not a URL` };
  }
  const own = requestHost(headers, s);
  if (originHost === own || s.allowedOrigins.includes(originHost)) return null;
  return { status: 403, message: `refused: a request from ${originHost} is not from this console (${own || 'unknown host'})` };
}

/** How React encodes a server action's arguments: a form (multipart or urlencoded), or plain values as JSON text. */
export function actionBodyKind(headers: Headers): 'form' | 'json-text' | null {
  const type = (headers.get('content-type') ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data') || type.startsWith('application/x-www-form-urlencoded')) return 'form';
  // An action called without a form (sign-out, a button with bound values) sends text/plain.
  if (type.startsWith('text/plain')) return 'json-text';
  return null;
}

/**
 * A server action's body: a form, or React's JSON text of plain arguments; any other type is a
 * 400, and a body over the limit (or of unknown length) a 413 or a 400. The body itself is parsed
 * by checkActionBody (proxy.ts).
 */
export function checkActionEnvelope(headers: Headers): Refusal | null {
  const type = (headers.get('content-type') ?? '').toLowerCase();
  if (actionBodyKind(headers) === null)
    return { status: 400, message: `bad request: a console action takes a form (multipart/form-data), not '${type || 'no content type'}'` };
  const lengthText = headers.get('content-length');
  if (lengthText === null) return { status: 400, message: 'bad request: a console action must say its length (Content-Length)' };
  const length = Number(lengthText);
  if (!Number.isSafeInteger(length) || length < 0) return { status: 400, message: `bad request: Content-Length '${lengthText.slice(0, 40)}' is not a length` };
  if (length > MAX_ACTION_BODY_BYTES)
    return { status: 413, message: `too large: a console action's body is at most ${MAX_ACTION_BODY_BYTES} bytes, this one is ${length}` };
  return null;
}

/** The env named by a /envs/<env> path, decoded, or undefined for other paths. */
export function envOfPath(pathname: string): string | undefined {
  const m = /^\/envs\/([^/]+)\/?$/.exec(pathname);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

/** An environment page of an env the console does not manage is a real 404. */
export function checkEnvPage(pathname: string, s: GuardSettings): Refusal | null {
  const env = envOfPath(pathname);
  if (env === undefined || s.environments.includes(env)) return null;
  return { status: 404, message: `not found: there is no environment '${env.slice(0, 100)}' (this console manages ${s.environments.join(', ')})` };
}

/** A fresh nonce for one response's scripts (128 random bits, base64). */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The console's Content-Security-Policy: scripts only with this response's nonce (and what those
 * load: 'strict-dynamic'), everything else from the console itself, no framing, no plugins, forms
 * and the base URL only to the console. Styles allow inline attributes (the charts set them).
 */
export function contentSecurityPolicy(nonce: string, dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

/** HSTS for a response served over HTTPS: a year, subdomains included. */
export const HSTS = 'max-age=31536000; includeSubDomains';
