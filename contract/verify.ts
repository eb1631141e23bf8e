/**
 * The contract of verify and repair: a full, resumable diff of an environment's two stores over
 * a range of minutes (verify), and a rewrite of the new store for a range from the metrics topic
 * (repair). Plain names, types and pure functions of them (part of the workflow bundle).
 *
 * Each run is its own workflow (one id per request); every run's start and end are recorded in
 * the environment's audit history through the migration workflow (its recordOperation update),
 * which is the one writer of that history and keeps the latest verify for the cutover gate.
 */
import type { Actor } from './migration.js';
import type { OPERATION_EVENTS, OPERATIONS } from './names.js';

/** Registered name of the verify workflow type. */
export const VERIFY_WORKFLOW_TYPE = 'verifyWorkflow';

/** Registered name of the repair workflow type. */
export const REPAIR_WORKFLOW_TYPE = 'repairWorkflow';

/** The progress query of a verify run (its VerifyReport so far). */
export const VERIFY_PROGRESS_QUERY = 'verifyProgressQuery';

/** The progress query of a repair run (its RepairReport so far). */
export const REPAIR_PROGRESS_QUERY = 'repairProgressQuery';

/** Prefix of verify workflow ids: `switchyard-verify-<env>-<request id>`. */
export function verifyWorkflowId(env: string, requestId: string): string {
  return `switchyard-verify-${env}-${requestId}`;
}

/** Prefix of repair workflow ids: `switchyard-repair-<env>-<request id>`. */
export function repairWorkflowId(env: string, requestId: string): string {
  return `switchyard-repair-${env}-${requestId}`;
}

/** The classes of difference, the same as science mode's (pipeline/kernel/science/compare.ts). */
export const DIFF_CLASSES = ['missing', 'extra', 'value_drift', 'expired_returned'] as const;

/** One class of difference. */
export type DiffClass = (typeof DIFF_CLASSES)[number];

/** Failure types of verify and repair runs. */
export const VerifyFailureType = {
  /** The request is invalid (a range backwards, out of the retention, ...): nothing was done. */
  invalidInput: 'InvalidVerifyInput',
  /** The range reaches before what the metrics topic still holds (repair without allowPartial). */
  notCovered: 'RepairRangeNotCovered',
  /** Deleting extra items was asked without a verify run that found them. */
  extrasNotFound: 'ExtrasNotFoundByVerify',
} as const;

/** A range of minutes, both ends inclusive (epoch ms, multiples of 60 000). */
export interface MinuteRange {
  fromMinute: number;
  toMinute: number;
}

/** Input of a verify run. */
export interface VerifyInput extends Actor {
  env: string;
  /**
   * Default: from the coverage horizon to the newest settled minute. Minutes of the range past
   * retention are read too: the old store holds nothing there, so any item the new store still
   * returns is found (expired_returned). A range starting before the horizon starts at it.
   */
  range?: MinuteRange;
  /** Parallel slices of the key space (default 4): each is a Cassandra token range and a DynamoDB Scan segment. */
  slices?: number;
  /** Most points read per second, both stores' reads counted together, over all slices (default 20 000). */
  pointsPerSecond?: number;
  /** Samples kept per class (default 20). */
  sampleLimit?: number;
}

/** The figures of a verify run (or of one chunk of it). */
export interface VerifyCounts {
  /** Series whose range was compared. */
  series: number;
  /** Points read from each store (in the range, live at the read). */
  oldPoints: number;
  newPoints: number;
  /** Minutes judged (present in either store, at or after the horizon). */
  compared: number;
  matched: number;
  missing: number;
  extra: number;
  value_drift: number;
  expired_returned: number;
  /** One-sided minutes too fresh to judge (their other writer may not have written them yet). */
  unsettled: number;
}

/** Counts with nothing counted (a run's start, a chunk's). */
export function emptyVerifyCounts(): VerifyCounts {
  return { series: 0, oldPoints: 0, newPoints: 0, compared: 0, matched: 0, missing: 0, extra: 0, value_drift: 0, expired_returned: 0, unsettled: 0 };
}

/** Differences counted, of every class (0: the stores agree on everything judged). */
export function countDifferences(c: VerifyCounts): number {
  return DIFF_CLASSES.reduce((n, k) => n + c[k], 0);
}

/** One sampled difference with both stores' values. */
export interface DiffSample {
  kind: DiffClass;
  app: string;
  metric: string;
  minute: number;
  old?: Record<string, number | string>;
  new?: Record<string, number | string>;
  /** For value drift: the statistics that differ. */
  fields?: string[];
}

/** What a verify run compares, fixed when it starts. */
export interface VerifyPlan {
  env: string;
  range: MinuteRange;
  /** The range the operator asked for (null: the default). */
  requested: MinuteRange | null;
  /** The coverage horizon when planned (minutes before it are not compared). */
  horizon: number | null;
  /** The newest settled minute when planned: later minutes of the request are left out. */
  newestSettledMinute: number;
  /** Minutes of the request left out because they were not settled yet. */
  unsettledMinutesLeftOut: number;
  retentionMs: number;
  tolerance: { relative: number; absolute: number };
  /** One-sided minutes this close to their close or expiry are not judged. */
  settleMs: number;
  slices: number;
  plannedAt: number;
}

/** A verify run as the console and the CLI show it (the progress query, and the result). */
export interface VerifyReport {
  workflowId: string;
  env: string;
  status: 'planning' | 'running' | 'clean' | 'mismatched' | 'failed';
  actor: string;
  reason: string;
  plan: VerifyPlan | null;
  counts: VerifyCounts;
  /** Bounded samples of each class. */
  samples: Record<DiffClass, DiffSample[]>;
  /** Series compared per slice so far. */
  seriesDoneBySlice: number[];
  /** Share of each slice's walk done, 0..1 (its scan phase estimated from what its list phase found). */
  progressBySlice: number[];
  /** Keys of the items found extra or expired but returned (at most VERIFY_EXTRA_ITEMS_LIMIT): what a repair may delete. */
  extraItems: PointKey[];
  /** More such items were found than extraItems holds. */
  extraItemsTruncated: boolean;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** Minutes compared per second (over the run's time so far). */
  pointsPerSecond: number;
  /** Time left at the rate so far (null before the first chunk or when done). */
  etaMs: number | null;
  /** Share of the key space walked, 0..1 (the mean of the slices'). */
  progress: number;
  error: string | null;
}

/** The key of one point. */
export interface PointKey {
  app: string;
  metric: string;
  minute: number;
}

/** Most extra item keys a verify run keeps (a repair deletes at most these). */
export const VERIFY_EXTRA_ITEMS_LIMIT = 1000;

/**
 * Where a slice's walk of the two stores stands: plain data, so any worker resumes it
 * (pipeline/verify/range-verify.ts). First the old store's token range is listed, one row per
 * series with a point in the range, to compare the series the new store holds nothing of in the
 * range (`list`); then the new store's scan segment is read in bulk, each series it holds compared
 * with the old store's read of it (`scan`).
 */
export interface VerifySlicePosition {
  phase: 'list' | 'scan' | 'done';
  /**
   * list: the position (a token) up to which every listed series is done (inclusive, with
   * doneAtCursor); scan: the cursor just after the last whole series compared. Null: the phase's start.
   */
  cursor: string | null;
  /** list: series at the cursor's position already done (two series may share a token). */
  doneAtCursor: string[];
  /** How far the list phase is through the old store's token range, 0..1. */
  listed: number;
  /** Series listed, and minutes they can hold in the range at most (the scan phase's expected work). */
  listedSeries: number;
  expectedPoints: number;
  /** Series and points the scan phase compared so far. */
  scannedSeries: number;
  scannedPoints: number;
}

/** Input of one chunk of one slice. */
export interface VerifySliceInput {
  workflowId: string;
  plan: VerifyPlan;
  slice: number;
  /** Where the slice's walk stands (null: its start). */
  position: VerifySlicePosition | null;
  /** Most series in this chunk, and most time (the chunk ends after the series in flight). */
  maxSeries: number;
  maxMs: number;
  /** This slice's share of the rate limit. */
  pointsPerSecond: number;
  sampleLimit: number;
}

/** What one chunk did. */
export interface VerifySliceResult {
  /** Where the next chunk starts. */
  position: VerifySlicePosition;
  done: boolean;
  /** Share of the slice walked, 0..1. */
  progress: number;
  /** Series compared by this chunk (whether or not they held points in the range). */
  visited: number;
  counts: VerifyCounts;
  samples: DiffSample[];
  /** Keys of the extra and expired-but-returned items this chunk found (bounded). */
  extraItems: PointKey[];
}

/** Input of a repair run. */
export interface RepairInput extends Actor {
  env: string;
  range: MinuteRange;
  /** Also delete items of the new store in the range that have no point in the log (needs verifyWorkflowId). */
  deleteExtras?: boolean;
  /** The verify run that found the extra items (required with deleteExtras). */
  verifyWorkflowId?: string;
  /** Repair the part of the range the topic still covers, instead of refusing the range. */
  allowPartial?: boolean;
  /** Rate limit of the re-verify (default: the verify default). */
  pointsPerSecond?: number;
  /** Only plan: return what the repair would rewrite (the confirmation shows it), change nothing, record nothing. */
  planOnly?: boolean;
}

/** What a repair run will do, fixed when it starts (the confirmation shows it). */
export interface RepairPlan {
  env: string;
  requested: MinuteRange;
  /** The part that will be rewritten (null when nothing of the request is covered). */
  range: MinuteRange | null;
  /** The part the topic no longer holds (null when all of it is covered). */
  uncovered: MinuteRange | null;
  topic: string;
  /** The oldest minute whose points the topic still holds, by its log start and retention (null: no limit known). */
  oldestCoveredMinute: number | null;
  /** Per partition: where the replay starts (offset of the range's start time) and ends (exclusive). */
  partitions: { partition: number; start: string; end: string }[];
  /** Messages the replay will read (end - start summed). */
  messages: number;
  deleteExtras: boolean;
  /** The verify run whose extra items may be deleted. */
  extrasFoundBy: string | null;
  /** Extra (and expired but returned) items that run found. */
  extrasFound: number;
  /** The keys it listed inside this repair's range: the only items a repair may delete. */
  extraItems: PointKey[];
}

/** What a replay did. */
export interface ReplayResult {
  /** Messages read from the topic. */
  read: number;
  /** Points of the range rewritten. */
  written: number;
  /** Points outside the range (skipped). */
  outOfRange: number;
  /** Messages that were not valid points (skipped, counted). */
  invalid: number;
  /** Points the store refused (they are on the writers' dead-letter path too). */
  rejected: number;
  /** Points already past retention (not written). */
  expired: number;
  /** Extra items deleted (deleteExtras): listed by the verify run, in no store but the new one, not in the log. */
  deleted: number;
  /** Listed extra items kept because the log or the old store holds their point after all. */
  keptExtras: number;
}

/** Where a replay stands on each partition: [start, end) offsets as strings. */
export interface ReplayPosition {
  partition: number;
  start: string;
  end: string;
}

/** Input of one chunk of a replay. */
export interface ReplayChunkInput {
  workflowId: string;
  plan: RepairPlan;
  /** Where each partition stands (null: the plan's start). */
  positions: ReplayPosition[] | null;
  /** Stop after about this long (the chunk ends after the batch in flight). */
  maxMs: number;
}

/** What one chunk of a replay did. */
export interface ReplayChunkResult {
  positions: ReplayPosition[];
  done: boolean;
  /** This chunk's counts. */
  counts: ReplayResult;
  /** Keys ("app|metric|minute") of the plan's listed extra items seen in the log. */
  seenExtras: string[];
}

/** A repair run as the console and the CLI show it. */
export interface RepairReport {
  workflowId: string;
  env: string;
  status: 'planning' | 'planned' | 'replaying' | 'verifying' | 'repaired' | 'still_mismatched' | 'failed';
  actor: string;
  reason: string;
  plan: RepairPlan | null;
  replay: ReplayResult | null;
  /** Messages read so far (progress of the replay, updated as it goes). */
  readSoFar: number;
  /** Share of the plan's messages read, 0..1. */
  progress: number;
  /** The verify run started after the replay. */
  verifyWorkflowId: string | null;
  verify: VerifyReport | null;
  startedAt: number;
  finishedAt: number | null;
  error: string | null;
}

/** One verify or repair event recorded in the environment's audit history. */
export interface OperationRecord extends Actor {
  env: string;
  operation: (typeof OPERATIONS)[number];
  event: (typeof OPERATION_EVENTS)[number];
  /** The verify or repair run. */
  workflowId: string;
  range: MinuteRange | null;
  /** The figures to keep with the entry (counts, plan, outcome). */
  summary: Record<string, unknown>;
}

/** The latest finished verify run, as the migration workflow keeps it (for the cutover gate). */
export interface VerifyOutcome {
  workflowId: string;
  range: MinuteRange;
  clean: boolean;
  finishedAt: number;
  compared: number;
  mismatches: number;
}

/** The activities of verify and repair. */
export interface VerifyActivities {
  /** Fixes what a verify run compares: the range, the horizon, tolerance and retention, the series per slice. */
  planVerify(input: { workflowId: string; env: string; range?: MinuteRange; slices: number }): Promise<VerifyPlan>;
  /** Compares one chunk of one slice (heartbeats its position; a retry resumes from it). */
  verifySlice(input: VerifySliceInput): Promise<VerifySliceResult>;
  /** Fixes what a repair run rewrites: coverage by the topic, offsets for the range's times, the verify run behind deleted extras. */
  planRepair(input: RepairInput & { workflowId: string }): Promise<RepairPlan>;
  /**
   * Rewrites the new store for part of the plan's range from the topic, from `positions` (null:
   * the plan's start offsets) for up to maxMs; heartbeats its offsets (a retry resumes). The
   * workflow calls it until done, so its progress shows between calls.
   */
  replayIntoNewStore(input: ReplayChunkInput): Promise<ReplayChunkResult>;
  /** Deletes the plan's listed extra items that the log did not hold and the old store does not hold. */
  deleteExtraItems(input: { workflowId: string; plan: RepairPlan; seenInLog: string[] }): Promise<{ deleted: number; kept: number }>;
  /** Records a verify or repair event in the env's audit history (through the migration workflow). */
  recordOperation(input: OperationRecord): Promise<void>;
}
