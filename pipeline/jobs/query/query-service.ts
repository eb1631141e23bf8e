/**
 * The MetaaS read API over HTTP (node:http: three routes need no framework):
 *
 *   GET /v1/envs/:env/apps/:app/metrics/:metric?from=&to=&stats=   per-minute points
 *   GET /v1/envs                                                  environments and the control state applied
 *   GET /healthz                                                  health (200/503)
 *   GET /metrics                                                  Prometheus
 *
 * Several instances may run at once; each applies the control state it receives on its own.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Registry } from 'prom-client';
import { Histogram } from 'prom-client';
import { countersIn } from '../../kernel/observability/pipeline-metrics.js';
import type { ControlState } from '../../../control/model.js';
import type { Logger } from '../../../kit/logger.js';
import { DEFAULT_QUERY_LIMITS, parseSeriesRequest, type QueryLimits } from './query-params.js';
import type { ReadRouter, RoutedRead } from './read-router.js';

/** Options of the HTTP service. */
export interface QueryServiceOptions {
  router: ReadRouter;
  environments: string[];
  control: (env: string) => ControlState;
  registry: Registry;
  logger: Logger;
  limits?: QueryLimits;
  health?: () => { ok: boolean; detail: Record<string, unknown> };
  now?: () => number;
  /**
   * When set, every /v1/ request must carry `Authorization: Bearer <token>` (401 otherwise);
   * /healthz and /metrics stay open for probes and scrapers.
   */
  token?: string;
}

/** A listening query service. */
export interface QueryServer {
  port: number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * What a read response says about who served it: the store (old, new, split, none), each part's
 * kind and store in minute order (`before_horizon=old,covered=new,fresh=old`), and, when the new
 * store served without the fresh-end fence (the old store no longer written), how far behind its
 * writer is proven to be at most and its fresh edge; and, when the migration moves apps in
 * cohorts, the app's cohort (`x-switchyard-cohort`).
 */
export function servedHeaders(routed: Pick<RoutedRead, 'servedBy' | 'parts' | 'newWriter' | 'cohort'>): Record<string, string> {
  const h: Record<string, string> = {
    'x-switchyard-served-by': routed.servedBy,
    'x-switchyard-parts': routed.parts.map((p) => `${p.kind}=${p.store}`).join(','),
  };
  if (routed.cohort !== undefined) h['x-switchyard-cohort'] = routed.cohort;
  if (routed.newWriter) {
    const { behindMs, freshEdge } = routed.newWriter;
    h['x-switchyard-new-writer-behind-ms'] = behindMs === null ? 'unknown' : String(Math.round(behindMs));
    h['x-switchyard-new-store-fresh-edge'] = freshEdge === null ? 'unknown' : new Date(freshEdge).toISOString();
  }
  return h;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when the request carries the configured bearer token (compared in constant time). */
function hasToken(req: http.IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

/** Starts the HTTP server on host:port (port 0 = any free port). */
export async function startQueryService(o: QueryServiceOptions, port: number, host = '127.0.0.1'): Promise<QueryServer> {
  const now = o.now ?? Date.now;
  const limits = o.limits ?? DEFAULT_QUERY_LIMITS;
  const counter = countersIn(o.registry);
  const requests = counter('switchyard_query_requests_total', 'Read API requests', ['env', 'status', 'served_by']);
  const served = counter(
    'switchyard_query_served_total',
    'Served reads per store; part is whole (one store served the query), split (a cutover query reaching before the coverage horizon: the old store served the part before it, the new store the rest) or fresh (the newest minutes of a cutover query, past what the new store\u2019s writer is proven to have written: served by the old store)',
    ['env', 'store', 'part'],
  );
  const cohortServed = counter(
    'switchyard_query_cohort_served_total',
    'Served reads of apps in a cohort (migrations that move apps in cohorts), per cohort and store (a split read counts once per store that served a part of it)',
    ['env', 'cohort', 'store'],
  );
  const latency = new Histogram({
    name: 'switchyard_query_seconds',
    help: 'Read API latency',
    labelNames: ['env', 'served_by'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [o.registry],
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') return send(res, 405, { error: `method ${req.method} not allowed: the read API is GET only` }, { allow: 'GET' });
    if (url.pathname === '/healthz') {
      const h = o.health?.() ?? { ok: true, detail: {} };
      return send(res, h.ok ? 200 : 503, { ok: h.ok, ...h.detail });
    }
    if (url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': o.registry.contentType });
      res.end(await o.registry.metrics());
      return;
    }
    if (o.token !== undefined && !hasToken(req, o.token)) {
      requests.inc({ env: 'unknown', status: '401', served_by: 'none' });
      return send(
        res,
        401,
        { error: 'a bearer token is required (Authorization: Bearer <token>, see SWITCHYARD_QUERY_TOKEN)' },
        { 'www-authenticate': 'Bearer' },
      );
    }
    if (url.pathname === '/v1/envs') {
      return send(res, 200, { environments: o.environments.map((env) => ({ env, control: o.control(env) })) });
    }
    const m = /^\/v1\/envs\/([^/]+)\/apps\/([^/]+)\/metrics\/([^/]+)$/.exec(url.pathname);
    if (!m) return send(res, 404, { error: `no route ${url.pathname}; try /v1/envs/<env>/apps/<app>/metrics/<metric>?from=&to=&stats=` });
    const [env, app, metric] = [m[1]!, m[2]!, m[3]!].map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    }) as [string, string, string];
    if (!o.environments.includes(env)) {
      requests.inc({ env: 'unknown', status: '404', served_by: 'none' });
      return send(res, 404, { error: `unknown environment '${env}'`, environments: o.environments });
    }
    const parsed = parseSeriesRequest({ app, metric }, url.searchParams, now(), limits);
    if (!parsed.ok) {
      requests.inc({ env, status: '400', served_by: 'none' });
      return send(res, 400, { error: 'bad request', problems: parsed.problems });
    }
    const r = parsed.request;
    const t0 = performance.now();
    try {
      const routed = await o.router.read(env, { app: r.app, metric: r.metric, fromMinute: r.fromMinute, toMinute: r.toMinute });
      latency.observe({ env, served_by: routed.servedBy }, (performance.now() - t0) / 1000);
      requests.inc({ env, status: '200', served_by: routed.servedBy });
      for (const p of routed.parts) served.inc({ env, store: p.store, part: p.kind === 'whole' ? 'whole' : p.kind === 'fresh' ? 'fresh' : 'split' });
      if (routed.cohort !== undefined) for (const store of new Set(routed.parts.map((p) => p.store))) cohortServed.inc({ env, cohort: routed.cohort, store });
      const points = routed.points.map((p) => {
        const out: Record<string, number | string> = { minute: new Date(p.minute).toISOString(), time: p.minute };
        for (const s of r.stats) out[s] = p[s];
        return out;
      });
      send(
        res,
        200,
        { env, app: r.app, metric: r.metric, from: new Date(r.fromMinute).toISOString(), to: new Date(r.toMinute).toISOString(), stats: r.stats, points },
        servedHeaders(routed),
      );
    } catch (err) {
      requests.inc({ env, status: '503', served_by: 'none' });
      o.logger.error({ env, app: r.app, metric: r.metric, action: 'query-failed', err: (err as Error).message }, 'served read failed');
      // The store's own error text stays in the log: it can name hosts, tables and internals.
      send(res, 503, { error: 'the store serving this query is unavailable' }, { 'retry-after': '1' });
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.logger.error({ action: 'request-failed', err: (err as Error).message }, 'request handler failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
