/**
 * The control tables in DynamoDB that science mode writes and the control plane and console read:
 * science stats (per env and minute) and mismatch samples (a bounded number per env and minute).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureDynamoTable, keyedTable } from '../stores/ensure-dynamo-table.js';
import type { MismatchKind } from './compare.js';

/** Science stats: key (env, minute). */
export const SCIENCE_STATS_TABLE = 'switchyard-science-stats';
/** Mismatch samples: key (envMinute = "<env>#<minute>", sampleId). */
export const MISMATCH_SAMPLES_TABLE = 'switchyard-mismatch-samples';

/** Latency histogram bucket upper bounds, ms (the last bucket is everything above). */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] as const;

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

/** Attribute name of a latency bucket of a store ('old' or 'new'). */
export function latencyAttribute(store: 'old' | 'new', bucket: number): string {
  return `lat_${store}_${String(bucket).padStart(2, '0')}`;
}

/** Index of the histogram bucket a latency falls in. */
export function latencyBucket(ms: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
  return i === -1 ? LATENCY_BUCKETS_MS.length : i;
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
