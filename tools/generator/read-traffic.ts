/**
 * Read traffic like the dashboards' (the load on the read API): random apps and metrics, ranges
 * weighted towards "the last hour", at a target rate with bounded concurrency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { PointStat } from '../../pipeline/kernel/model/metric-point.js';
import { appId } from './workload.js';

/** Options of a read-traffic run. */
export interface ReadTrafficOptions {
  /** Base URL of a query service, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  env: string;
  apps: number;
  metrics: string[];
  /** Queries per second. */
  ratePerSec: number;
  /** How long to run, ms. */
  durationMs: number;
  seed: number;
  /** Most requests in flight. */
  concurrency?: number;
  /** Ranges to ask for and their weights: [range ms, weight]. */
  ranges?: [number, number][];
  /** Query end time (default: now at each query). */
  now?: () => number;
  /** Statistics to ask for (default median and p99, what dashboards chart). */
  stats?: readonly PointStat[];
  /** Called about once a second. */
  onProgress?: (s: ReadTrafficSummary) => void;
  /**
   * Called with every HTTP response (not for network failures), so a caller can check what was
   * served, not only that it was served. When absent, bodies are read but not parsed.
   */
  onResponse?: (r: ReadResponse) => void;
  shouldStop?: () => boolean;
  /** While it returns true no query is sent (and the rate resumes afterwards without a burst). */
  shouldPause?: () => boolean;
}

/** One query as it was sent. */
export interface ReadRequest {
  url: string;
  app: string;
  metric: string;
  /** The range asked for, epoch ms (the service serves the minutes from floor(from) to floor(to)). */
  from: number;
  to: number;
  stats: readonly PointStat[];
  /** Wall clock when the request was sent, epoch ms. */
  sentAt: number;
}

/** One HTTP response to a query. */
export interface ReadResponse {
  request: ReadRequest;
  status: number;
  /** The parsed JSON body (the raw text when it is not JSON). */
  body: unknown;
  /** The x-switchyard-served-by header (old or new), null when absent. */
  servedBy: string | null;
  /** The x-switchyard-parts header (each part's kind and store), null when absent. */
  parts: string | null;
  /** The x-switchyard-cohort header (the app's cohort, in a migration with cohorts), null when absent. */
  cohort: string | null;
  /** Wall clock when the whole body had arrived, epoch ms. */
  receivedAt: number;
}

/** Results of a run. */
export interface ReadTrafficSummary {
  queries: number;
  errors: number;
  /** Status code (or 'network') to count, for the errors. */
  errorsByStatus: Record<string, number>;
  servedBy: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  seconds: number;
}

/** Dashboards mostly look at the last hour, sometimes at 15 minutes or 6 hours. */
export const DEFAULT_RANGES: [number, number][] = [
  [15 * 60_000, 3],
  [3_600_000, 5],
  [6 * 3_600_000, 2],
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs read traffic and returns the summary. */
export async function runReadTraffic(o: ReadTrafficOptions): Promise<ReadTrafficSummary> {
  const rng = xoroshiro128plus(o.seed);
  const u = (): number => uniformFloat64(rng);
  const ranges = o.ranges ?? DEFAULT_RANGES;
  const totalWeight = ranges.reduce((s, [, w]) => s + w, 0);
  const pickRange = (): number => {
    let x = u() * totalWeight;
    for (const [r, w] of ranges) if ((x -= w) < 0) return r;
    return ranges[ranges.length - 1]![0];
  };
  const concurrency = o.concurrency ?? 16;
  // The query service may want a bearer token (SWITCHYARD_QUERY_TOKEN); send it when one is set.
  const token = process.env.SWITCHYARD_QUERY_TOKEN?.trim();
  const authHeaders: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const stats = o.stats ?? (['median', 'p99'] as const);
  const latencies: number[] = [];
  const s: ReadTrafficSummary = { queries: 0, errors: 0, errorsByStatus: {}, servedBy: {}, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0, seconds: 0 };
  const started = Date.now();
  let inFlight = 0;
  let issued = 0;
  let lastProgress = started;
  const finish = (): ReadTrafficSummary => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      ...s,
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] ?? 0,
      seconds: (Date.now() - started) / 1000,
    };
  };
  const one = async (): Promise<void> => {
    const app = appId(1 + Math.floor(u() * o.apps));
    const metric = o.metrics[Math.floor(u() * o.metrics.length)]!;
    const to = (o.now ?? Date.now)();
    const from = to - pickRange();
    const url = `${o.baseUrl}/v1/envs/${encodeURIComponent(o.env)}/apps/${app}/metrics/${metric}?from=${from}&to=${to}&stats=${stats.join(',')}`;
    const sentAt = Date.now();
    const t0 = performance.now();
    let response: ReadResponse | undefined;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: authHeaders });
      let body: unknown;
      if (o.onResponse) {
        const text = await res.text();
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          body = text;
        }
      } else await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      s.queries++;
      const servedBy = res.headers.get('x-switchyard-served-by');
      if (res.status !== 200) {
        s.errors++;
        s.errorsByStatus[String(res.status)] = (s.errorsByStatus[String(res.status)] ?? 0) + 1;
      } else {
        const by = servedBy ?? 'unknown';
        s.servedBy[by] = (s.servedBy[by] ?? 0) + 1;
      }
      response = {
        request: { url, app, metric, from, to, stats, sentAt },
        status: res.status,
        body,
        servedBy,
        parts: res.headers.get('x-switchyard-parts'),
        cohort: res.headers.get('x-switchyard-cohort'),
        receivedAt: Date.now(),
      };
    } catch {
      s.queries++;
      s.errors++;
      s.errorsByStatus.network = (s.errorsByStatus.network ?? 0) + 1;
    }
    // Outside the try: a throwing callback is the caller's bug, not a failed query.
    if (response) o.onResponse?.(response);
  };
  const pending = new Set<Promise<void>>();
  let pausedMs = 0;
  while (Date.now() - started < o.durationMs && !o.shouldStop?.()) {
    if (o.shouldPause?.()) {
      const p0 = Date.now();
      await sleep(100);
      pausedMs += Date.now() - p0;
      continue;
    }
    const due = started + pausedMs + (issued / o.ratePerSec) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(Math.min(wait, 50));
    if (Date.now() < due) continue;
    if (inFlight >= concurrency) {
      await Promise.race(pending);
      continue;
    }
    issued++;
    inFlight++;
    const p = one().finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
    if (o.onProgress && Date.now() - lastProgress >= 1000) {
      lastProgress = Date.now();
      o.onProgress(finish());
    }
  }
  await Promise.all(pending);
  return finish();
}
