/**
 * A reproducible MetaaS-like workload: N apps, each with its own log-normal latency profile and
 * occasional spikes, observations spread over event time, optionally late or out of order.
 * The same options and seed always give the same observations, so tests can recompute what was
 * sent and compare it with what the pipeline stored.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Observation } from '../../pipeline/kernel/model/observation.js';

/** Options of a workload. */
export interface WorkloadOptions {
  seed: number;
  /** Number of apps (app-0001 ...). */
  apps: number;
  /** Metric names every app reports. */
  metrics: string[];
  /** Total observations. */
  count: number;
  /** Event time of the first observation, epoch ms. */
  startTime: number;
  /** Event-time span the observations cover, ms (they are spread evenly over it). */
  spanMs: number;
  /** Share of observations sent late: their event time is pushed back by up to maxLatenessMs. */
  lateFraction?: number;
  /** How far back a late observation's event time goes, ms. */
  maxLatenessMs?: number;
  /** Jitter of event times around their slot (out-of-order arrival), ms. */
  jitterMs?: number;
  /** Share of observations that are spikes (x10 to x50). */
  spikeFraction?: number;
}

/** The default metrics: router latencies as MetaaS reports them. */
export const DEFAULT_METRICS = ['router.service_ms', 'router.connect_ms'];

/** An app's latency profile (log-normal: median e^mu, spread sigma). */
interface Profile {
  mu: number;
  sigma: number;
}

/** App id of app number i (1-based), e.g. app-0007. */
export function appId(i: number): string {
  return `app-${String(i).padStart(4, '0')}`;
}

/** Generates the workload's observations, in the order a producer would send them. */
export function* generateWorkload(o: WorkloadOptions): Generator<Observation> {
  if (!Number.isInteger(o.apps) || o.apps < 1) throw new Error('apps must be a whole number >= 1');
  if (!Number.isInteger(o.count) || o.count < 0) throw new Error('count must be a whole number >= 0');
  if (o.metrics.length === 0) throw new Error('at least one metric is needed');
  if (!(o.spanMs >= 0)) throw new Error('spanMs must be >= 0');
  const rng = xoroshiro128plus(o.seed);
  const u = (): number => uniformFloat64(rng);
  const normal = (): number => {
    // Box-Muller; 1 - u() keeps the log argument in (0, 1].
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    return r * Math.cos(2 * Math.PI * u());
  };
  const profiles = new Map<string, Profile>();
  for (let a = 1; a <= o.apps; a++) {
    for (const metric of o.metrics) {
      // Medians between ~5 ms and ~250 ms; connect times an order of magnitude lower.
      const base = Math.log(5) + u() * Math.log(50);
      profiles.set(`${appId(a)}|${metric}`, { mu: metric.includes('connect') ? base - 2 : base, sigma: 0.3 + u() * 0.7 });
    }
  }
  const lateFraction = o.lateFraction ?? 0;
  const maxLatenessMs = o.maxLatenessMs ?? 0;
  const jitterMs = o.jitterMs ?? 0;
  const spikeFraction = o.spikeFraction ?? 0.002;
  for (let i = 0; i < o.count; i++) {
    const app = appId(1 + Math.floor(u() * o.apps));
    const metric = o.metrics[Math.floor(u() * o.metrics.length)]!;
    const p = profiles.get(`${app}|${metric}`)!;
    let value = Math.exp(p.mu + p.sigma * normal());
    if (u() < spikeFraction) value *= 10 + u() * 40;
    // Millisecond latencies with microsecond resolution, as a router would log them.
    value = Math.round(value * 1000) / 1000;
    const slot = o.count <= 1 ? o.startTime : o.startTime + Math.floor((i / (o.count - 1)) * o.spanMs);
    let time = slot + Math.round((u() * 2 - 1) * jitterMs);
    if (lateFraction > 0 && u() < lateFraction) time -= Math.round(u() * maxLatenessMs);
    yield { app, metric, value, time: Math.max(0, time) };
  }
}
