/**
 * The control tables in DynamoDB that science mode writes and the control plane and console read:
 * science stats (per env and minute) and mismatch samples (a bounded number per env and minute).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureDynamoTable, keyedTable } from '../stores/ensure-dynamo-table.js';
import type { MismatchKind } from './compare.js';

/**
 * Science stats: key (env, minute). Besides the environment's row, a read of an app in a cohort
 * (migrations with cohorts) is counted in a row of its own cohort, keyed `<env>#<cohort>`
 * (scienceStatsKey): what each cohort's gates and rollbacks are judged on.
 */
export const SCIENCE_STATS_TABLE = 'switchyard-science-stats';

/** The `env` key of a science-stats row: the environment's, or one cohort's within it. */
export function scienceStatsKey(env: string, cohort?: string): string {
  return cohort === undefined ? env : `${env}#${cohort}`;
}

/** The environment's key of a science-stats key (the key itself when it names no cohort). */
export function scienceStatsEnv(key: string): string {
  const i = key.indexOf('#');
  return i < 0 ? key : key.slice(0, i);
}
/** Mismatch samples: key (envMinute = "<env>#<minute>", sampleId). */
export const MISMATCH_SAMPLES_TABLE = 'switchyard-mismatch-samples';

/**
 * The coarse latency buckets of items written before the fine histogram (upper bounds, ms; the
 * last bucket is everything above). Read only, for older items: see LEGACY_LATENCY_PREFIX.
 */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] as const;

/**
 * The latency histogram, the same for both stores: log-linear (HDR-style) buckets over whole
 * microseconds. Below 8 µs one bucket per µs; above, every power of two is split into
 * LATENCY_SUB_BUCKETS equal buckets, so a bucket is at most 1/8 of its value wide (a value read
 * back as its bucket's midpoint is within ±6.25 %). Everything at or above LATENCY_MAX_US (about
 * 67 s) falls in one last, open-ended bucket. Stored sparsely: one counter attribute per
 * non-empty bucket (`lh_old_<i>`, `lh_new_<i>`), added up atomically like the other counters.
 */
export const LATENCY_SUB_BUCKETS = 8;
/** Start of the open-ended last bucket, µs. */
export const LATENCY_MAX_US = 2 ** 26;
const SUB_BITS = Math.log2(LATENCY_SUB_BUCKETS);

/** Index of the fine bucket a latency (ms) falls in. */
export function latencyBucket(ms: number): number {
  const us = Number.isFinite(ms) && ms > 0 ? Math.floor(ms * 1000) : 0;
  if (us >= LATENCY_MAX_US) return LATENCY_OVERFLOW_BUCKET;
  if (us < LATENCY_SUB_BUCKETS) return us;
  const octave = 31 - Math.clz32(us); // floor(log2 us), >= SUB_BITS
  const sub = (us >>> (octave - SUB_BITS)) - LATENCY_SUB_BUCKETS; // 0 .. SUB_BUCKETS-1
  return LATENCY_SUB_BUCKETS + (octave - SUB_BITS) * LATENCY_SUB_BUCKETS + sub;
}

/** The open-ended last bucket (at or above LATENCY_MAX_US). */
export const LATENCY_OVERFLOW_BUCKET = LATENCY_SUB_BUCKETS + (Math.log2(LATENCY_MAX_US) - SUB_BITS) * LATENCY_SUB_BUCKETS;

/** How many fine buckets a histogram has (the overflow bucket included). */
export const LATENCY_BUCKET_COUNT = LATENCY_OVERFLOW_BUCKET + 1;

/** A fine bucket's range, ms: [lower, upper); upper is Infinity for the overflow bucket. */
export function latencyBucketRange(i: number): { lowerMs: number; upperMs: number } {
  if (i >= LATENCY_OVERFLOW_BUCKET) return { lowerMs: LATENCY_MAX_US / 1000, upperMs: Infinity };
  if (i < LATENCY_SUB_BUCKETS) return { lowerMs: i / 1000, upperMs: (i + 1) / 1000 };
  const octave = SUB_BITS + Math.floor((i - LATENCY_SUB_BUCKETS) / LATENCY_SUB_BUCKETS);
  const sub = (i - LATENCY_SUB_BUCKETS) % LATENCY_SUB_BUCKETS;
  const width = 2 ** (octave - SUB_BITS);
  return { lowerMs: ((LATENCY_SUB_BUCKETS + sub) * width) / 1000, upperMs: ((LATENCY_SUB_BUCKETS + sub + 1) * width) / 1000 };
}

/** Attribute-name prefix of the coarse buckets of older items (`lat_old_05`); read, never written. */
export const LEGACY_LATENCY_PREFIX = 'lat_';

/** Attribute name of a fine latency bucket of a store ('old' or 'new'). */
export function latencyAttribute(store: 'old' | 'new', bucket: number): string {
  return `lh_${store}_${bucket}`;
}

/** Attribute name of a coarse bucket of an older item. */
export function legacyLatencyAttribute(store: 'old' | 'new', bucket: number): string {
  return `${LEGACY_LATENCY_PREFIX}${store}_${String(bucket).padStart(2, '0')}`;
}

/** Counter attributes of a science-stats row. */
export const STATS_COUNTERS = [
  'queries',
  'servedOld',
  'servedNew',
  'servedErrors',
  'comparisons',
  'matches',
  'mismatches',
  'mmMissing',
  'mmExtra',
  'mmValueDrift',
  'mmExpiredReturned',
  'candidateErrors',
  'candidateTimeouts',
  'candidateSkipped',
  'newStoreErrors',
  // Cutover's shadow reads of the old store that failed or timed out: not the new store's failures.
  'oldShadowErrors',
  'oldShadowTimeouts',
  // Every read of the new store attempted, whatever its role (science candidate, cutover served
  // read): the denominator of the new-store error rate. Rows written before it have none.
  'newReads',
  // Queries served in two parts (old store before the coverage horizon, new store from it).
  'splitQueries',
  // Cutover reads whose fresh end (past what the new store's writer is proven to have written)
  // got from the old store a minute the new store lacked: holes the fence kept out of served
  // reads. Rows written before it have none.
  'freshSplits',
  // Comparisons with a minute only one store had that could not be judged: the other store's
  // writer was not proven past it within the hold time (down, restarting, behind). Never
  // counted as a mismatch. Rows written before it have none.
  'unjudged',
] as const;

/** One counter's name. */
export type StatsCounter = (typeof STATS_COUNTERS)[number];

/**
 * Each counter is also kept per 10-second slot of its minute (attribute `<counter>_s<slot>`), so
 * a window that starts inside a minute (the short burst window, the comparisons since a ramp step
 * began) counts only what happened in it, not the whole minute. Rows written before the slots
 * existed have only the minute's totals.
 */
export const SLOT_MS = 10_000;

/** Slots per minute. */
export const SLOTS_PER_MINUTE = 6;

/** Attribute name of a counter's slot (0..5) within its minute. */
export function slotAttribute(counter: StatsCounter, slot: number): string {
  return `${counter}_s${slot}`;
}

const TABLES = [keyedTable(SCIENCE_STATS_TABLE, ['env', 'S'], ['minute', 'N']), keyedTable(MISMATCH_SAMPLES_TABLE, ['envMinute', 'S'], ['sampleId', 'S'])];

/** Creates the science control tables if missing (idempotent). */
export async function ensureScienceTables(client: DynamoDBClient): Promise<void> {
  for (const t of TABLES) await ensureDynamoTable(client, t);
}

/** A mismatch sample as stored. */
export interface MismatchSample {
  env: string;
  /** Minute the comparison happened in (epoch ms). */
  minute: number;
  sampleId: string;
  app: string;
  metric: string;
  /** The query's range, epoch ms. */
  from: number;
  to: number;
  kinds: MismatchKind[];
  /** JSON of both results (clipped) and the per-minute diff. */
  detail: string;
  at: number;
}
