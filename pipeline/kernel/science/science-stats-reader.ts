/**
 * Reads science stats and mismatch samples back, for the control plane's gates and rollbacks and
 * for the console's charts.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MINUTE_MS } from '../../../contract/index.js';
import type { MismatchKind } from './compare.js';
import {
  LATENCY_BUCKET_COUNT,
  LATENCY_BUCKETS_MS,
  LATENCY_MAX_US,
  LATENCY_OVERFLOW_BUCKET,
  latencyAttribute,
  latencyBucket,
  latencyBucketRange,
  legacyLatencyAttribute,
  MISMATCH_SAMPLES_TABLE,
  SCIENCE_STATS_TABLE,
  SLOT_MS,
  SLOTS_PER_MINUTE,
  slotAttribute,
  STATS_COUNTERS,
  type StatsCounter,
} from './control-tables.js';
import type { MismatchSample } from './control-tables.js';

/** One env-minute row of science stats. */
export interface ScienceStatsRow {
  minute: number;
  counters: Record<StatsCounter, number>;
  /**
   * The counters per 10-second slot of the minute (SLOT_MS), for windows that start inside it;
   * absent on rows written before the slots existed.
   */
  slots?: Record<StatsCounter, number[]>;
  /** Histogram counts per fine bucket (LATENCY_BUCKET_COUNT of them), for the old and the new store. */
  latency: { old: number[]; new: number[] };
}

/** Totals over a window of minutes, as gates and rollbacks use them. */
export interface ScienceSummary {
  fromMinute: number;
  toMinute: number;
  counters: Record<StatsCounter, number>;
  /** mismatches / comparisons (0 when there were none). */
  mismatchRate: number;
  /** (candidate errors + timeouts + new-store errors) / reads of the new store attempted. */
  newStoreErrorRate: number;
  /** Reads of the new store attempted (the error rate's denominator). */
  newStoreReads: number;
  /** p99 latency per store from the histogram (its bucket's midpoint, within ±6.25 %; Infinity above the largest bucket), ms. */
  p99Ms: { old: number | null; new: number | null };
}

const num = (v: AttributeValue | undefined): number => (v?.N !== undefined ? Number(v.N) : 0);

/** Reads the stats rows of an env between two minutes (inclusive). */
export async function readScienceStats(client: DynamoDBClient, env: string, fromMinute: number, toMinute: number): Promise<ScienceStatsRow[]> {
  const rows: ScienceStatsRow[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: SCIENCE_STATS_TABLE,
        KeyConditionExpression: 'env = :e AND #m BETWEEN :a AND :b',
        ExpressionAttributeNames: { '#m': 'minute' },
        ExpressionAttributeValues: { ':e': { S: env }, ':a': { N: String(fromMinute) }, ':b': { N: String(toMinute) } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const counters = Object.fromEntries(STATS_COUNTERS.map((c) => [c, num(item[c])])) as Record<StatsCounter, number>;
      // Rows written since the slots exist have a slot attribute for every counter they count.
      const hasSlots = STATS_COUNTERS.some((c) => Array.from({ length: SLOTS_PER_MINUTE }, (_, i) => item[slotAttribute(c, i)]).some((v) => v !== undefined));
      const slots = hasSlots
        ? (Object.fromEntries(STATS_COUNTERS.map((c) => [c, Array.from({ length: SLOTS_PER_MINUTE }, (_, i) => num(item[slotAttribute(c, i)]))])) as Record<
            StatsCounter,
            number[]
          >)
        : undefined;
      rows.push({ minute: num(item.minute), counters, ...(slots ? { slots } : {}), latency: { old: histogramOf(item, 'old'), new: histogramOf(item, 'new') } });
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return rows;
}

/**
 * A store's fine histogram from a stats item: the fine buckets (`lh_<store>_<i>`), plus the coarse
 * buckets of items written before them, each counted in the fine bucket of its upper bound (the
 * open-ended one in the overflow bucket), so older minutes read as they did.
 */
export function histogramOf(item: Record<string, AttributeValue>, store: 'old' | 'new'): number[] {
  const hist = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
  for (let i = 0; i < LATENCY_BUCKET_COUNT; i++) {
    const v = item[latencyAttribute(store, i)];
    if (v) hist[i]! += num(v);
  }
  for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i++) {
    const v = item[legacyLatencyAttribute(store, i)];
    if (v) hist[i < LATENCY_BUCKETS_MS.length ? latencyBucket(LATENCY_BUCKETS_MS[i]!) : LATENCY_OVERFLOW_BUCKET]! += num(v);
  }
  return hist;
}

/** p99 of a latency histogram: its bucket's midpoint (Infinity for the open-ended last one), null when empty. */
export function p99(hist: number[]): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const target = Math.ceil(total * 0.99);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= target) {
      const { lowerMs, upperMs } = latencyBucketRange(i);
      return upperMs === Infinity ? Infinity : (lowerMs + upperMs) / 2;
    }
  }
  return null;
}

/**
 * A p99 from p99() made finite for its reader: the open-ended last bucket, where p99() says
 * Infinity (at or above LATENCY_MAX_US, about 67 s, and no closer), becomes `open(fromMs)`, fromMs
 * being where that bucket starts. The one place that bucket is decided on: figures sent as JSON
 * (which has no Infinity) carry a sentinel, a chart draws the bucket's lower bound, a sentence
 * says "above". null (no reads) and finite values pass through.
 */
export function finiteP99<T>(v: number | null, open: (fromMs: number) => T): number | T | null {
  return v === null || Number.isFinite(v) ? v : open(LATENCY_MAX_US / 1000);
}

/**
 * Adds rows up into a summary. With `windowStart`, the minute it falls inside counts only its
 * slots that begin at or after it (a row without slots counts whole).
 */
export function summarizeScience(rows: ScienceStatsRow[], fromMinute: number, toMinute: number, windowStart?: number): ScienceSummary {
  const counters = Object.fromEntries(STATS_COUNTERS.map((c) => [c, 0])) as Record<StatsCounter, number>;
  const hist = { old: new Array<number>(LATENCY_BUCKET_COUNT).fill(0), new: new Array<number>(LATENCY_BUCKET_COUNT).fill(0) };
  for (const r of rows) {
    const partial = windowStart !== undefined && r.slots !== undefined && r.minute < windowStart && windowStart < r.minute + MINUTE_MS;
    if (partial) {
      const firstSlot = Math.ceil((windowStart - r.minute) / SLOT_MS);
      for (const c of STATS_COUNTERS) counters[c] += r.slots![c].slice(firstSlot).reduce((a, b) => a + b, 0);
    } else for (const c of STATS_COUNTERS) counters[c] += r.counters[c];
    r.latency.old.forEach((n, i) => (hist.old[i]! += n));
    r.latency.new.forEach((n, i) => (hist.new[i]! += n));
  }
  const newFailures = counters.candidateErrors + counters.candidateTimeouts + counters.newStoreErrors;
  // Every new-store read attempted, counted once (rows written before newReads existed: estimated
  // from the comparisons, which counts a cutover read that was also compared twice).
  const newAttempts =
    counters.newReads > 0 ? counters.newReads : counters.comparisons + counters.candidateErrors + counters.candidateTimeouts + counters.servedNew;
  return {
    fromMinute,
    toMinute,
    counters,
    mismatchRate: counters.comparisons === 0 ? 0 : counters.mismatches / counters.comparisons,
    newStoreErrorRate: newAttempts === 0 ? 0 : newFailures / newAttempts,
    newStoreReads: newAttempts,
    p99Ms: { old: p99(hist.old), new: p99(hist.new) },
  };
}

/**
 * Reads and sums the stats of the last `windowMs` before `now`: to the 10-second slot (a slot
 * counts when it begins at or after now - windowMs), so a one-minute window is the last minute,
 * not the current calendar minute, and a window since a ramp step began holds nothing from before.
 */
export async function readScienceSummary(client: DynamoDBClient, env: string, windowMs: number, now = Date.now()): Promise<ScienceSummary> {
  const windowStart = now - Math.max(0, windowMs);
  const to = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const from = Math.min(to, Math.floor(windowStart / MINUTE_MS) * MINUTE_MS);
  return summarizeScience(await readScienceStats(client, env, from, to), from, to, windowStart);
}

/** Reads mismatch samples of an env between two minutes (inclusive), newest first, at most `limit`. */
export async function readMismatchSamples(client: DynamoDBClient, env: string, fromMinute: number, toMinute: number, limit = 50): Promise<MismatchSample[]> {
  const out: MismatchSample[] = [];
  for (let m = toMinute; m >= fromMinute && out.length < limit; m -= MINUTE_MS) {
    const res = await client.send(
      new QueryCommand({
        TableName: MISMATCH_SAMPLES_TABLE,
        KeyConditionExpression: 'envMinute = :k',
        ExpressionAttributeValues: { ':k': { S: `${env}#${m}` } },
        ConsistentRead: true,
      }),
    );
    for (const i of res.Items ?? []) {
      out.push({
        env,
        minute: num(i.minute),
        sampleId: i.sampleId?.S ?? '',
        app: i.app?.S ?? '',
        metric: i.metric?.S ?? '',
        from: num(i.from),
        to: num(i.to),
        kinds: (i.kinds?.SS ?? []) as MismatchKind[],
        detail: i.detail?.S ?? '{}',
        at: num(i.at),
      });
    }
  }
  return out.slice(0, limit);
}
