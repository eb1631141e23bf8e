/**
 * The drill's read probe: what a dashboard would notice. Over and over, for one app at a time, it
 * reads the last minutes of a series from the old store (Cassandra) directly, then the same range
 * through the query API, and counts a read that lacks a minute the old store already had. The old
 * store is read first, so a minute that lands between the two reads can only make the API's
 * answer richer, never count as missing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MINUTE_MS } from '../../contract/index.js';
import { minuteOf } from '../../pipeline/kernel/model/metric-point.js';
import type { MetricStore, SeriesId } from '../../pipeline/kernel/stores/metric-store.js';

/** A probe read that lacked a minute the old store had. */
export interface ProbeMiss {
  at: number;
  app: string;
  metric: string;
  /** The minutes the old store had and the API did not. */
  minutes: number[];
  servedBy: string | null;
  parts: string | null;
}

/** What the probe saw. */
export interface ProbeReport {
  probes: number;
  missing: number;
  /** Reads that failed (HTTP error or unreachable): not a missing minute, reported apart. */
  failed: number;
  /** The first misses, for the report. */
  misses: ProbeMiss[];
}

/** Options of the probe. */
export interface ReadProbeOptions {
  queryUrl: string;
  env: string;
  oldStore: MetricStore;
  series: SeriesId[];
  /** Minutes per read, ending at the current minute (default 5). */
  minutes?: number;
  /** The query service's retention: a read starts no earlier than the first minute it still serves. */
  retentionMs?: number;
  intervalMs?: number;
  headers?: Record<string, string>;
}

/** Runs until stop() resolves; returns what it saw. */
export function startReadProbe(o: ReadProbeOptions): { stop(): Promise<ProbeReport> } {
  const report: ProbeReport = { probes: 0, missing: 0, failed: 0, misses: [] };
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const s = o.series[i % o.series.length]!;
      const now = Date.now();
      const to = minuteOf(now);
      const firstRetained = o.retentionMs === undefined ? -Infinity : Math.floor((now - o.retentionMs) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
      const from = Math.max(to - ((o.minutes ?? 5) - 1) * MINUTE_MS, firstRetained);
      try {
        const old = await o.oldStore.readSeries({ app: s.app, metric: s.metric, fromMinute: from, toMinute: to });
        const url = `${o.queryUrl}/v1/envs/${encodeURIComponent(o.env)}/apps/${encodeURIComponent(s.app)}/metrics/${encodeURIComponent(s.metric)}?from=${from}&to=${to}`;
        const res = await fetch(url, { headers: o.headers ?? {}, signal: AbortSignal.timeout(10_000) });
        if (!res.ok) {
          report.failed++;
        } else {
          const body = (await res.json()) as { points: { time: number }[] };
          const served = new Set(body.points.map((p) => p.time));
          const lacking = old.map((p) => p.minute).filter((m) => !served.has(m));
          report.probes++;
          if (lacking.length > 0) {
            report.missing++;
            if (report.misses.length < 20)
              report.misses.push({
                at: now,
                app: s.app,
                metric: s.metric,
                minutes: lacking,
                servedBy: res.headers.get('x-switchyard-served-by'),
                parts: res.headers.get('x-switchyard-parts'),
              });
          }
        }
      } catch {
        report.failed++;
      }
      await sleep(o.intervalMs ?? 250);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return report;
    },
  };
}
