/**
 * The fault switch, for demos and tests: makes the new-store writer corrupt a chosen share of
 * points the way real migrations go wrong, so science mode has something real to catch:
 *  - rounding: values stored with float32 precision (a lossy numeric type on the new side),
 *  - wrong_minute: a point filed under the next minute (an off-by-one in time bucketing),
 *  - dropped: a point never written (a swallowed write error).
 * The choice is a hash of the point's key, so the same points are corrupted on every retry. The
 * switch may be limited to some apps (a cohort's: `faults.cohort` in the control state); the
 * others are written untouched.
 */
import { createHash } from 'node:crypto';
import { MINUTE_MS } from '../../../contract/index.js';
import { pointKey, type MetricPoint } from '../../kernel/model/metric-point.js';

/** Ways a point can be corrupted. */
export type FaultKind = 'rounding' | 'wrong_minute' | 'dropped';

function unit(key: string, salt: string): number {
  const h = createHash('sha1').update(salt).update(key).digest();
  return h.readUInt32BE(0) / 0x1_0000_0000;
}

/** Which fault (if any) applies to a point at this corruption rate. */
export function faultFor(p: MetricPoint, rate: number): FaultKind | undefined {
  if (rate <= 0) return undefined;
  const key = pointKey(p);
  if (unit(key, 'pick') >= rate) return undefined;
  const k = unit(key, 'kind');
  return k < 0.5 ? 'rounding' : k < 0.8 ? 'wrong_minute' : 'dropped';
}

/**
 * Applies the fault switch to a batch of points (only to the apps `applies` takes, when given);
 * returns what to write and what was done.
 */
export function injectFaults(
  points: readonly MetricPoint[],
  rate: number,
  applies?: (app: string) => boolean,
): { points: MetricPoint[]; faults: Record<FaultKind, number> } {
  const faults: Record<FaultKind, number> = { rounding: 0, wrong_minute: 0, dropped: 0 };
  const out: MetricPoint[] = [];
  for (const p of points) {
    const f = applies === undefined || applies(p.app) ? faultFor(p, rate) : undefined;
    if (!f) out.push(p);
    else {
      faults[f]++;
      if (f === 'rounding') {
        const r = (x: number): number => Math.fround(x) + (Math.fround(x) === x ? 0.001 : 0);
        out.push({ ...p, sum: r(p.sum), median: r(p.median), p95: r(p.p95), p99: r(p.p99) });
      } else if (f === 'wrong_minute') out.push({ ...p, minute: p.minute + MINUTE_MS });
    }
  }
  return { points: out, faults };
}
