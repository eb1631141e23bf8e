/**
 * The wire format's schemas: the control state, one versioned record per environment that tells
 * every data-plane instance what to do (which stores to write, how much to shadow-read, how much
 * to serve from the new store), and the heartbeat each instance answers with. The control plane
 * publishes states to the compacted topic `switchyard.control` (key = env); the data plane applies
 * the newest version it has seen and keeps going with it when the control plane is down.
 * Everything read from either topic is checked against these schemas (codec.ts): a record may
 * have been written by anyone.
 */
import { z } from 'zod';
import { COHORT_NAME_PATTERN, ENV_NAME_PATTERN, type ControlCohort, type ControlPatch } from '../../contract/index.js';

// The control channel's two topics (their names are the contract's: the local stack's ACLs name them too).
export { CONTROL_TOPIC, HEARTBEAT_TOPIC } from '../../contract/index.js';

/**
 * Header of a control record naming the process that published it (host and pid). Only the
 * control worker's principal may write the control topic (the local broker's ACLs), so this says
 * which worker; instances log it with each state they apply.
 */
export const CONTROL_PUBLISHER_HEADER = 'switchyard-publisher';

/**
 * One cohort of apps and what applies to it (contract/cohorts.ts: an app is in the first cohort
 * whose selector takes it; the last has none and takes everyone else).
 */
export const controlCohortSchema = z.object({
  name: z.string().regex(COHORT_NAME_PATTERN),
  apps: z.array(z.string().min(1)).min(1).optional(),
  prefix: z.string().min(1).optional(),
  bucketPercent: z.number().int().min(1).max(99).optional(),
  /** Percent of this cohort's queries shadow-read from the new store and compared. */
  sciencePercent: z.number().min(0).max(100),
  /** Percent of this cohort's queries served from the new store. */
  cutoverPercent: z.number().min(0).max(100),
});

/** How an environment's data plane is configured. */
export const controlStateSchema = z.object({
  /** Environment name. */
  env: z.string().regex(ENV_NAME_PATTERN),
  /** Monotonically increasing per environment; instances apply only newer versions. */
  version: z.number().int().nonnegative(),
  /** The old store's (Cassandra) writer writes. */
  oldWriter: z.boolean(),
  /** The new store's (DynamoDB) writer writes (dual write once oldWriter is also on). */
  newWriter: z.boolean(),
  /** Percent of queries shadow-read from the new store and compared (science mode), 0..100. */
  sciencePercent: z.number().min(0).max(100),
  /** Percent of queries served from the new store (cutover), 0..100. */
  cutoverPercent: z.number().min(0).max(100),
  /** Coverage horizon H: first minute (epoch ms) from which the new store holds complete data; null before dual write. */
  coverageHorizon: z.number().int().nullable(),
  /** Whether the old store still exists (after decommission it does not: no comparisons, no fallback). */
  oldStoreAvailable: z.boolean(),
  /** Retention of stored points, ms. */
  retentionMs: z.number().int().positive(),
  /** Comparison tolerance for value drift: |a-b| <= absolute + relative * max(|a|,|b|). */
  tolerance: z.object({ relative: z.number().min(0), absolute: z.number().min(0) }),
  /**
   * Fault injection for demos and tests: share of points the new-store writer corrupts (0 = off),
   * of every app, or only of the apps of the cohort named.
   */
  faults: z.object({ newWriterCorruptionRate: z.number().min(0).max(1), cohort: z.string().regex(COHORT_NAME_PATTERN).optional() }),
  /**
   * Per-cohort science and cutover percents (migrations with cohorts): for an app in a cohort they
   * replace sciencePercent and cutoverPercent. Absent (states published before cohorts, or a
   * migration without them): every app follows the environment's percents.
   */
  cohorts: z.array(controlCohortSchema).optional(),
  /** When, by whom and why this version was published. */
  updatedAt: z.string(),
  updatedBy: z.string(),
  reason: z.string(),
  /** The control-plane transition that published this version (workflow id + audit seq): lets a retried publish see it already happened. Absent on hand-published states. */
  transitionId: z.string().optional(),
});

/** One environment's control state. */
export type ControlState = z.infer<typeof controlStateSchema>;

// The contract's vocabulary is held to the schema at compile time: every field of a patch is a
// field of the state, typed alike, and a cohort's row has exactly the fields the schema reads. A
// field the contract adds (or types otherwise) without the schema fails to compile here.
type Holds<T extends true> = T;
type KeysWithin<A, B> = [Exclude<keyof A, keyof B>] extends [never] ? true : false;
type ControlCohortRow = z.infer<typeof controlCohortSchema>;
export type _PatchFieldsAreStateFields = Holds<KeysWithin<ControlPatch, ControlState>>;
export type _PatchIsPartOfState = Holds<ControlPatch extends Partial<ControlState> ? true : false>;
export type _CohortRowFieldsAreTheWire = Holds<KeysWithin<ControlCohort, ControlCohortRow>>;
export type _WireFieldsAreTheCohortRow = Holds<KeysWithin<ControlCohortRow, ControlCohort>>;
export type _CohortRowIsOnTheWire = Holds<[ControlCohort, ControlCohortRow] extends [ControlCohortRow, ControlCohort] ? true : false>;

/** What an instance announces on the heartbeat topic. */
export const heartbeatSchema = z.object({
  /** Unique per process (host/pid/random). */
  instanceId: z.string().min(1),
  /** What the instance is: writer-cassandra, writer-dynamodb, query, aggregator. */
  role: z.string().min(1),
  env: z.string(),
  /** Version of the env's control state the instance applies now. */
  appliedVersion: z.number().int().nonnegative(),
  /** When the heartbeat was sent (epoch ms). */
  at: z.number().int(),
  /** Interval until the next heartbeat (ms): an instance silent for 3 intervals is not live. */
  intervalMs: z.number().int().positive(),
  /** False in the last heartbeat of an instance shutting down cleanly. */
  alive: z.boolean(),
});

/** One heartbeat. */
export type Heartbeat = z.infer<typeof heartbeatSchema>;
