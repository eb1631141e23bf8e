/**
 * The checks the proxy (web/proxy.ts) makes on every request before any page, route or server
 * action runs: pure functions of the request's method, URL and headers (and, for a server action,
 * of its body's parts), so unit tests can call them. Each refusal is a status and a message a
 * person can act on, never a 500.
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
  /**
   * The console's own origin (scheme://host[:port]) from SWITCHYARD_CONSOLE_URL, or null when it is
   * not set: then the loopback addresses of the port it listens on (or, behind a trusted proxy, the
   * forwarded scheme and host).
   */
  consoleOrigin: string | null;
  /** The port `next start` listens on (PORT, which it sets), for the loopback origins. */
  listenPort: string | null;
  /** Extra origins (scheme://host[:port]) a request may come from (SWITCHYARD_ALLOWED_ORIGINS, comma-separated; https:// when no scheme is given). */
  allowedOrigins: string[];
  /** The environments the console manages (SWITCHYARD_ENVS). */
  environments: string[];
}

/** A refusal: the status and the message the proxy answers with. */
export interface Refusal {
  status: 400 | 403 | 404 | 413;
  message: string;
}

/** The origin (scheme://host[:port], default port left out) of a URL, or null when it is none. */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin.toLowerCase() : null;
  } catch {
    return null;
  }
}

/** Reads the guard's settings from environment variables. */
export function guardSettings(env: Record<string, string | undefined>, environments: string[]): GuardSettings {
  const flag = (env.SWITCHYARD_TRUSTED_PROXY ?? '').trim().toLowerCase();
  const consoleUrl = env.SWITCHYARD_CONSOLE_URL?.trim();
  return {
    trustedProxy: flag === '1' || flag === 'true' || flag === 'yes',
    consoleOrigin: consoleUrl ? originOf(consoleUrl) : null,
    listenPort: env.PORT?.trim() || null,
    allowedOrigins: (env.SWITCHYARD_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => originOf(s.includes('://') ? s : `https://${s}`))
      .filter((o): o is string => o !== null),
    environments,
  };
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

/** The names of this machine's loopback address, as a URL writes them. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * The origins the console's own pages have: SWITCHYARD_CONSOLE_URL's; else, behind a trusted
 * proxy, the forwarded scheme and host; else http on the loopback addresses of the port it
 * listens on. Never the Host header alone: any client sets it (`Host: evil.example:3000`).
 */
export function ownOrigins(headers: Headers, s: GuardSettings): string[] {
  if (s.consoleOrigin) {
    // A console on loopback is the same console under each loopback name (npm start prints
    // 127.0.0.1; people type localhost): same scheme and port.
    const u = new URL(s.consoleOrigin);
    if (!LOOPBACK_NAMES.includes(u.hostname)) return [s.consoleOrigin];
    return LOOPBACK_NAMES.flatMap((h) => originOf(`${u.protocol}//${h}${u.port ? `:${u.port}` : ''}`) ?? []);
  }
  if (s.trustedProxy) {
    const host = headers.get('x-forwarded-host')?.split(',')[0]?.trim();
    const proto = headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() || 'http';
    const o = host ? originOf(`${proto}://${host}`) : null;
    if (o) return [o];
  }
  const port = s.listenPort ?? /:(\d{1,5})$/.exec(headers.get('host') ?? '')?.[1] ?? '80';
  return LOOPBACK_NAMES.flatMap((h) => originOf(`http://${h}:${port}`) ?? []);
}

/**
 * Cross-site request check for every request that can change something (any method but GET and
 * HEAD): a browser sends Origin with it, and it must be the console's own origin, scheme, host
 * and port (ownOrigins), or one of SWITCHYARD_ALLOWED_ORIGINS. So `Origin: http://evil.example`
 * with a Host or X-Forwarded-Host of evil.example is refused, and so is `https://127.0.0.1:3000`
 * for a console served over http.
 */
export function checkOrigin(method: string, headers: Headers, s: GuardSettings): Refusal | null {
  if (method === 'GET' || method === 'HEAD') return null;
  const origin = headers.get('origin');
  if (origin === null) return null; // not a browser: it needs a session or a token like anyone else
  const o = originOf(origin);
  if (o === null) return { status: 403, message: `refused: the Origin header '${origin.slice(0, 100)}' is not an http(s) origin` };
  if (s.allowedOrigins.includes(o)) return null;
  const own = ownOrigins(headers, s);
  if (!own.includes(o)) return { status: 403, message: `refused: a request from ${o} is not from this console (${own[0] ?? 'unknown origin'})` };
  // Next.js compares the Origin's host with the host the request was sent to as well, and answers
  // a mismatch (http://localhost:3000 sent to 127.0.0.1:3000: no browser does that) with a 500.
  const forwarded = s.trustedProxy ? headers.get('x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  const sentTo = (forwarded || headers.get('host') || '').toLowerCase();
  if (new URL(o).host !== sentTo) return { status: 403, message: `refused: the request comes from ${o} but was sent to ${sentTo || 'no host'}` };
  return null;
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

/** A server action's body as parts: a form's entries, or React's JSON text as part "0". */
export type ActionParts = ReadonlyMap<string, string | Blob>;

/** The most arguments a console action takes: a previous state (useActionState) and a form. */
const MAX_ACTION_ARGUMENTS = 2;

/** `$` + one of these is a value with nothing to look up (undefined, Infinity, NaN, -0 / -Infinity, a date, a temporary reference). */
const SELF_CONTAINED = new Set(['u', 'I', 'N', '-', 'D', 'T', 'H']);
/** `$` + one of these (or a hex digit) refers to another part of the body: it must be there. */
const PART_REFERENCES = new Set(['@', 'h', 'Q', 'W', 'i']);

/**
 * What is wrong with one `$` value of React's reply format, or null. A reference to a part the
 * body does not have, a malformed big integer or a kind the console never sends (binary data,
 * streams) would otherwise fail inside React's decoder, which Next.js answers 500.
 */
function referenceProblem(value: string, models: ReadonlyMap<string, unknown>, parts: ActionParts, prefix: string): string | null {
  const kind = value[1];
  if (kind === undefined) return "'$' alone is not a value";
  if (kind === '$' || kind === 'K' || SELF_CONTAINED.has(kind)) return null;
  if (kind === 'n') return /^\$n-?\d{1,300}$/.test(value) ? null : `'${value.slice(0, 40)}' is not a big integer`;
  if (kind === 'B') {
    const id = Number.parseInt(value.slice(2), 16);
    return Number.isSafeInteger(id) && parts.get(`${prefix}${id}`) instanceof Blob ? null : `'${value.slice(0, 40)}' refers to a file the body does not have`;
  }
  const hex = /^[0-9a-f]$/i.test(kind);
  if (!hex && !PART_REFERENCES.has(kind)) return `'${value.slice(0, 40)}' is binary data or a stream, which no console action takes`;
  const [idText, ...path] = value.slice(hex ? 1 : 2).split(':');
  const id = Number.parseInt(idText ?? '', 16);
  if (!/^[0-9a-f]+$/i.test(idText ?? '') || !models.has(`${prefix}${id}`))
    return `'${value.slice(0, 40)}' refers to part ${idText} of the body, which it does not have`;
  // A path must lead somewhere in that part (it may pass through another reference: React follows it).
  let at: unknown = models.get(`${prefix}${id}`);
  for (const step of path) {
    if (typeof at === 'string' && at.startsWith('$')) return null;
    if (at === null || typeof at !== 'object' || !Object.prototype.hasOwnProperty.call(at, step))
      return `'${value.slice(0, 60)}' refers to a path part ${idText} of the body does not have`;
    at = (at as Record<string, unknown>)[step];
  }
  return null;
}

/**
 * Checks a server action's body as React's decoder will read it (the reply format: JSON parts
 * named `<prefix><n>`, with `$` strings that refer to other parts), so that a malformed body is a
 * 400 here instead of a 500 from inside Next.js: every JSON part parses, every reference finds
 * its part, and the arguments (part 0) are what the console's actions take: none, or an optional
 * previous state followed by a form. `prefix` is "" for a fetch action and `$ACTION_<n>:` for a
 * form posted without JavaScript (whose part 0 names the action and its bound arguments).
 */
export function checkActionReply(parts: ActionParts, prefix = ''): Refusal | null {
  const bad = (why: string): Refusal => ({ status: 400, message: `bad request: the action's arguments are malformed: ${why}` });
  const models = new Map<string, unknown>();
  for (const [name, value] of parts) {
    if (typeof value !== 'string' || !name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
    try {
      models.set(name, JSON.parse(value) as unknown);
    } catch (err) {
      return { status: 400, message: `bad request: the action's arguments could not be read (${(err as Error).message.slice(0, 200)})` };
    }
  }
  if (!models.has(`${prefix}0`)) return bad('there is no part 0 (the arguments)');
  const stack: unknown[] = [...models.values()];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.startsWith('$')) {
        const problem = referenceProblem(v, models, parts, prefix);
        if (problem) return bad(problem);
      }
    } else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (v !== null && typeof v === 'object') stack.push(...Object.values(v));
  }
  const root = models.get(`${prefix}0`);
  if (prefix === '') {
    if (!Array.isArray(root)) return bad('they are not a list');
    if (root.length > MAX_ACTION_ARGUMENTS) return bad(`${root.length} arguments (a console action takes at most ${MAX_ACTION_ARGUMENTS})`);
    const last: unknown = root.at(-1);
    if (root.length > 0 && !(typeof last === 'string' && /^\$K[0-9a-f]*$/i.test(last))) return bad('the last argument is not a form');
  } else {
    const meta = root as { id?: unknown; bound?: unknown } | null;
    if (meta === null || typeof meta !== 'object' || typeof meta.id !== 'string' || !(meta.bound === null || typeof meta.bound === 'string'))
      return bad('part 0 does not name an action');
  }
  return null;
}

/** The `$ACTION_<n>:` prefix of a form posted without JavaScript to a bound action (`$ACTION_REF_<n>`), or null. */
export function formActionPrefix(parts: ActionParts): string | null {
  for (const name of parts.keys()) if (name.startsWith('$ACTION_REF_')) return `$ACTION_${name.slice('$ACTION_REF_'.length)}:`;
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
