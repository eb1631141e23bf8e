/**
 * The HTTP endpoint of a pipeline process: Prometheus `/metrics` and `/healthz`.
 */
import http from 'node:http';
import type { Registry } from 'prom-client';

/** A running metrics server. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics and /healthz (the health callback says whether the process is healthy, and why). */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  health: () => { ok: boolean; detail: Record<string, unknown> },
  host = '127.0.0.1',
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(await registry.metrics());
        } else if (req.url === '/healthz') {
          const h = health();
          res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: h.ok, ...h.detail }));
        } else {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'not found: try /metrics or /healthz' }));
        }
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (err as Error).message }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return { port: actual, close: () => new Promise((r) => server.close(() => r())) };
}
