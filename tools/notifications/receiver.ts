/**
 * A small webhook receiver for the local demo and the tests: it accepts the notifier's POSTs on
 * any path under /hooks/ and keeps the newest messages in memory, which GET /messages lists
 * (newest first) for the console. Not for production: it has no authentication and forgets on
 * restart. A request from a web page (it carries Origin; the notifier never sends one) is refused,
 * so a page open in a browser cannot put made-up messages on the console's Notifications page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One message the receiver got. */
export interface ReceivedMessage {
  /** Arrival number, from 1. */
  n: number;
  receivedAt: number;
  /** The path it was posted to, e.g. /hooks/slack. */
  path: string;
  /** 'slack' for a body with Slack blocks, 'json' for the generic payload, 'other' otherwise. */
  format: 'json' | 'slack' | 'other';
  /** The notifier's id header (the event's id). */
  notificationId: string | null;
  /** The notifier's environment and kind headers (null when absent, e.g. another sender). */
  env: string | null;
  kind: string | null;
  body: unknown;
}

/** A running receiver. */
export interface NotificationReceiver {
  url: string;
  port: number;
  messages(): ReceivedMessage[];
  close(): Promise<void>;
}

/** Largest body accepted, bytes. */
const MAX_BODY = 256 * 1024;

const formatOf = (body: unknown): ReceivedMessage['format'] => {
  if (body === null || typeof body !== 'object') return 'other';
  if ('blocks' in body) return 'slack';
  return 'schema' in body ? 'json' : 'other';
};

/** Starts a receiver on host:port (port 0: any free port); keeps the newest `keep` messages. */
export async function startNotificationReceiver(o: {
  port: number;
  host?: string;
  keep?: number;
  onMessage?: (m: ReceivedMessage) => void;
}): Promise<NotificationReceiver> {
  const keep = o.keep ?? 200;
  const host = o.host ?? '127.0.0.1';
  const list: ReceivedMessage[] = [];
  let n = 0;
  const reply = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.headers.origin !== undefined) return reply(res, 403, { error: 'refused: a request from a web page' });
    if (req.method === 'GET' && path === '/health') return reply(res, 200, { ok: true, messages: list.length });
    if (req.method === 'GET' && path === '/messages') return reply(res, 200, { messages: [...list].reverse() });
    if (req.method !== 'POST' || !path.startsWith('/hooks/')) return reply(res, 404, { error: 'POST /hooks/<name> or GET /messages' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return reply(res, 413, { error: `body larger than ${MAX_BODY} bytes` });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(res, 400, { error: 'body is not JSON' });
      }
      const header = (name: string): string | null => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : null;
      };
      const m: ReceivedMessage = {
        n: ++n,
        receivedAt: Date.now(),
        path,
        format: formatOf(body),
        notificationId: header('x-switchyard-notification-id'),
        env: header('x-switchyard-env'),
        kind: header('x-switchyard-notification-kind'),
        body,
      };
      list.push(m);
      if (list.length > keep) list.splice(0, list.length - keep);
      o.onMessage?.(m);
      reply(res, 200, { ok: true, n: m.n });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    messages: () => [...list],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
