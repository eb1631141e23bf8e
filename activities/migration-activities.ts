/**
 * The migration workflow's activities: everything it does to the world. Built by
 * createActivities(deps) from ready clients (the worker builds them from config); the workflow
 * proxies them by type only (`proxyActivities<MigrationActivities>`).
 *
 * Every activity can run more than once (a retry, or a worker that died after doing the work but
 * before reporting it), so every side effect is idempotent: a control state carries the
 * transition id that published it, an audit entry is keyed on (env, seq) and its chain hash is a
 * function of the entry and the one before it, dropping the old store uses IF EXISTS. Business failures are non-retryable ApplicationFailures; unavailable services
 * surface as plain errors for Temporal to retry (see activity-failures.ts).
 */
import { ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type cassandra from 'cassandra-driver';
import type { Kafka, Producer } from 'kafkajs';
import type { KeyRing } from '../kit/integrity.js';
import type { ControlState, Heartbeat } from '../control/index.js';
import {
  alreadyPublished,
  baseControlState,
  listLiveInstances,
  nextControlState,
  publishAndAwait,
  readLatestControlState,
  watchAcknowledgements,
} from '../control/publisher.js';
import { createLogger, type Logger } from '../kit/logger.js';
import { finiteP99, readScienceSummary, summarizeScience, type ScienceSummary } from '../pipeline/kernel/science/science-stats-reader.js';
import { cassandraKeyspaceFor, openOldStoreAdmin } from '../pipeline/kernel/stores/cassandra-store.js';
import { scienceStatsKey } from '../pipeline/kernel/science/control-tables.js';
import { envTopics, writerGroup } from '../pipeline/kernel/topics.js';
import { measureGroupLag } from '../pipeline/kernel/observability/writer-lag.js';
import { ActivityFailureType, COHORT_NAME_PATTERN, ENV_NAME_PATTERN, MINUTE_MS, migrationWorkflowId, NOT_STARTED, ROLES } from '../contract/index.js';
import { stateQuery } from '../contract/migration-messages.js';
import type {
  AuditEntry,
  MigrationActivities,
  PublishControlInput,
  PublishControlResult,
  ScienceFigures,
  StageOrNotStarted,
  WriterHealth,
  WriterLag,
} from '../contract/index.js';
import { notificationFromAudit } from '../notify/events.js';
import type { Notifier } from '../notify/notifier.js';
import { invalidInput, toActivityFailure } from './activity-failures.js';
import { appendAuditEntry, ensureAuditTable, readAudit } from '../audit/audit-log.js';
import { STAGE_SEARCH_ATTRIBUTE, stageFromSearchAttributes, stageFromState, stageOfClosedExecution } from './environment-stage.js';
import { committedByPartition, summarizeWriterOffsets, type PartitionEnds } from './writer-offsets.js';

/** The clients the activities use (ready-built; the activities never read configuration). */
export interface ActivityDeps {
  kafka: Kafka;
  /** A connected producer (the control state is published with it). */
  producer: Producer;
  dynamo: DynamoDBClient;
  /** A cassandra-driver client for the old store (reached through its store interfaces); it connects on first use if it has not yet. */
  cassandra: cassandra.Client;
  /** A Temporal client, for other environments' migration stages. */
  temporal: Client;
  logger?: Logger;
  /** How long reading the control or heartbeat topic to its end may take, ms (default 15 000). */
  controlReadTimeoutMs?: number;
  /** How long the state query of another environment's workflow may take, ms (default 5 000). */
  stageQueryTimeoutMs?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Sends a notification for each audit entry that needs a person (absent: none are sent). */
  notifier?: Notifier;
  /** The console's address, for links in notifications. */
  consoleUrl?: string | null;
  /** The integrity key ring, read at each use (a rotation reaches a running worker): it hashes the audit chain. */
  integrityKeys: () => KeyRing;
}

/** Reported for a p99 above the largest latency bucket (JSON has no Infinity: Temporal would turn it into null, i.e. "no data"). */
export const P99_OVER_LARGEST_BUCKET_MS = Number.MAX_SAFE_INTEGER;

/** Science figures for gates and automatic rollback, from a summary of the stats tables. */
export function toScienceFigures(summary: ScienceSummary, windowMs: number): ScienceFigures {
  const p99 = (v: number | null): number | null => finiteP99(v, () => P99_OVER_LARGEST_BUCKET_MS);
  const c = summary.counters;
  return {
    windowMs,
    comparisons: c.comparisons,
    mismatches: c.mismatches,
    mismatchRate: summary.mismatchRate,
    newStoreErrorRate: summary.newStoreErrorRate,
    servedOld: c.servedOld,
    servedNew: c.servedNew,
    queries: c.queries,
    splitQueries: c.splitQueries,
    newStoreReads: summary.newStoreReads,
    unjudged: c.unjudged,
    freshSplits: c.freshSplits,
    candidateErrors: c.candidateErrors,
    candidateTimeouts: c.candidateTimeouts,
    p99OldMs: p99(summary.p99Ms.old),
    p99NewMs: p99(summary.p99Ms.new),
  };
}

/** Builds the migration activities on ready clients. */
export function createActivities(deps: ActivityDeps) {
  const { kafka, producer, dynamo, temporal } = deps;
  const db = deps.cassandra;
  const baseLog = deps.logger ?? createLogger('migration-activities');
  const readTimeoutMs = deps.controlReadTimeoutMs ?? 15_000;
  const stageQueryTimeoutMs = deps.stageQueryTimeoutMs ?? 5_000;
  const now = deps.now ?? Date.now;

  // The audit table is created once per process, on first use; a failed attempt is tried again next time.
  let auditTableReady: Promise<void> | undefined;
  const ensureAuditTableOnce = (): Promise<void> =>
    (auditTableReady ??= ensureAuditTable(dynamo).catch((err: unknown) => {
      auditTableReady = undefined;
      throw err;
    }));

  /** A logger for one call, naming the env, the action and (inside a worker) the calling workflow. */
  const logFor = (env: string, action: string): Logger => {
    let workflow: { workflowId: string; runId: string; attempt: number } | undefined;
    try {
      const info = Context.current().info;
      // Standalone activities have no workflow execution.
      if (info.workflowExecution) workflow = { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId, attempt: info.attempt };
    } catch {
      // Called outside an activity (tests, scripts): no workflow to name.
    }
    return baseLog.child({ env, action, ...workflow });
  };

  /** How long the current activity attempt waited between being scheduled and starting (undefined outside a worker). */
  const activityQueuedMs = (startedAt: number): number | undefined => {
    try {
      return Math.max(0, startedAt - Context.current().info.currentAttemptScheduledTimestampMs);
    } catch {
      return undefined;
    }
  };

  /** Runs an activity body, turning data-plane errors into Temporal failures. */
  const run = async <T>(log: Logger, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const failure = toActivityFailure(err);
      const nonRetryable = failure instanceof ApplicationFailure && failure.nonRetryable;
      log.warn({ err: (err as Error).message, retryable: !nonRetryable }, 'activity failed');
      throw failure;
    }
  };

  const checkEnv = (env: unknown): string => {
    if (typeof env !== 'string' || !ENV_NAME_PATTERN.test(env)) throw invalidInput(`env ${JSON.stringify(env)} must match ${ENV_NAME_PATTERN}`);
    return env;
  };

  const ids = (hbs: Heartbeat[]): string[] => hbs.map((h) => h.instanceId).sort();

  const activities = {
    /**
     * Publishes the newest control state with the patch applied, as version latest + 1, and waits
     * until every live data-plane instance of the env applies it. Idempotent per transitionId:
     * when the newest state on the topic already carries this transition (an earlier attempt
     * published it), nothing is published again; the call only waits for its acknowledgement
     * and returns published=false.
     *
     * Not every instance acknowledging in time fails with a *retryable* ApplicationFailure
     * (type AcknowledgementTimeout) naming the laggards: they may catch up, or die and stop
     * counting, before the next attempt, which will then only wait. The workflow's retry policy
     * (maximumAttempts / scheduleToCloseTimeout) bounds how long. Note that once published, a
     * version stays published: if the workflow gives up, the data plane still converges on it.
     */
    async publishControl(input: PublishControlInput): Promise<PublishControlResult> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'publish-control');
      if (typeof input.transitionId !== 'string' || input.transitionId.length === 0) throw invalidInput('transitionId must be a non-empty string');
      if (!(input.ackTimeoutMs > 0)) throw invalidInput(`ackTimeoutMs must be positive, got ${input.ackTimeoutMs}`);
      return run(log, async () => {
        const startedAt = Date.now();
        // Waiting in the task queue under load is part of how long a rollback takes: say how long.
        const queuedMs = activityQueuedMs(startedAt);
        // The heartbeat reader joins its group while the latest state is read: one join, not two, before the publish.
        const watch = watchAcknowledgements(kafka, { env, logger: log });
        try {
          const latest = await readLatestControlState(kafka, env, readTimeoutMs, { logger: log });
          const readLatestMs = Date.now() - startedAt;
          if (alreadyPublished(latest, input.transitionId)) {
            log.info(
              { version: latest.version, transitionId: input.transitionId },
              'transition already published by an earlier attempt; waiting for acknowledgement only',
            );
            const acknowledged = await watch.until(latest.version, input.ackTimeoutMs);
            return { version: latest.version, acknowledged: ids(acknowledged), acknowledgedAt: now(), published: false };
          }
          const next: ControlState = nextControlState(baseControlState(latest, input), input, new Date(now()));
          const res = await publishAndAwait({ kafka, producer }, next, { timeoutMs: input.ackTimeoutMs, logger: log, watch });
          log.info(
            {
              version: next.version,
              transitionId: input.transitionId,
              acknowledged: ids(res.acknowledged),
              elapsedMs: res.elapsedMs,
              readLatestMs,
              ...(queuedMs === undefined ? {} : { queuedMs }),
              reason: input.reason,
            },
            'published control state',
          );
          return { version: next.version, acknowledged: ids(res.acknowledged), acknowledgedAt: now(), published: true };
        } finally {
          await watch.stop();
        }
      });
    },

    /**
     * Science figures of the env over the last windowMs, or, given a cohort, of that cohort's apps
     * only (their own rows, `<env>#<cohort>`); zeros when no query service has recorded any yet.
     */
    async readScience(input: { env: string; windowMs: number; cohort?: string }): Promise<ScienceFigures> {
      const env = checkEnv(input.env);
      if (!(input.windowMs > 0)) throw invalidInput(`windowMs must be positive, got ${input.windowMs}`);
      const cohort = input.cohort;
      if (cohort !== undefined && (typeof cohort !== 'string' || !COHORT_NAME_PATTERN.test(cohort)))
        throw invalidInput(`cohort ${JSON.stringify(cohort)} must match ${COHORT_NAME_PATTERN}`);
      const log = logFor(env, 'read-science');
      return run(log, async () => {
        const at = now();
        try {
          return toScienceFigures(await readScienceSummary(dynamo, scienceStatsKey(env, cohort), input.windowMs, at), input.windowMs);
        } catch (err) {
          // No stats table yet: science mode has not recorded anything anywhere. The gates need
          // minimum sample counts, so zeros can never pass one.
          if (!(err instanceof ResourceNotFoundException)) throw err;
          const to = Math.floor(at / MINUTE_MS) * MINUTE_MS;
          return toScienceFigures(summarizeScience([], to, to), input.windowMs);
        }
      });
    },

    /**
     * Writers of the env: live instances per writer role (from heartbeats), each writer group's
     * lag on `<env>.metrics` and the parity gap between the groups' committed offsets. A metrics
     * topic that does not exist yet has nothing to lag behind: lag and gap 0 (the writer counts
     * still show nobody is writing).
     */
    async checkWriters(input: { env: string }): Promise<WriterHealth> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'check-writers');
      return run(log, async () => {
        const topic = envTopics(env).metrics;
        const admin = kafka.admin();
        await admin.connect();
        try {
          const [live, offsets] = await Promise.all([
            listLiveInstances(kafka, { env, timeoutMs: readTimeoutMs, logger: log }),
            (async () => {
              if (!(await admin.listTopics()).includes(topic)) return undefined;
              const [ends, oldCommitted, newCommitted] = await Promise.all([
                admin.fetchTopicOffsets(topic),
                admin.fetchOffsets({ groupId: writerGroup(env, 'cassandra'), topics: [topic] }),
                admin.fetchOffsets({ groupId: writerGroup(env, 'dynamodb'), topics: [topic] }),
              ]);
              return summarizeWriterOffsets(ends as PartitionEnds[], committedByPartition(oldCommitted, topic), committedByPartition(newCommitted, topic));
            })(),
          ]);
          if (!offsets) log.warn({ topic }, 'metrics topic does not exist; reporting no lag');
          const health: WriterHealth = {
            cassandraWriters: live.filter((h) => h.role === ROLES.writerCassandra).length,
            dynamodbWriters: live.filter((h) => h.role === ROLES.writerDynamodb).length,
            cassandraLag: offsets?.cassandraLag ?? 0,
            dynamodbLag: offsets?.dynamodbLag ?? 0,
            parityGap: offsets?.parityGap ?? 0,
          };
          log.debug({ ...health }, 'writer health');
          return health;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      });
    },

    /**
     * How far behind each store's writers are: the age of the oldest metrics record each writer
     * group has not committed, and how many there are. Never throws: the evaluation that asks
     * must go on (its rollback rule does not depend on this), so an unreachable Kafka is reported
     * as `error` with no figures.
     */
    async writerLag(input: { env: string }): Promise<WriterLag> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'writer-lag');
      const at = now();
      const admin = kafka.admin();
      try {
        await admin.connect();
        const topic = envTopics(env).metrics;
        const [oldLag, newLag] = await Promise.all(
          (['cassandra', 'dynamodb'] as const).map((sink) => measureGroupLag(admin, topic, writerGroup(env, sink), { now: at })),
        );
        const lag: WriterLag = {
          at,
          old: { behindMs: oldLag!.behindMs, messages: oldLag!.messages },
          new: { behindMs: newLag!.behindMs, messages: newLag!.messages },
        };
        log.debug({ ...lag }, 'writer lag');
        return lag;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not measure the writers\u2019 lag');
        return { at, old: null, new: null, error: (err as Error).message };
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },

    /**
     * Whether the old store holds any point older than the horizon (the TTL gate's proof that
     * retention has emptied it). A missing keyspace or table holds nothing: aged out.
     *
     * One filtered scan, `minute < ? LIMIT 1 ALLOW FILTERING`, stopping at the first row: fine at
     * this scale, and run once per gate. On a large production ring, scan token ranges in
     * parallel (SELECT ... WHERE token(app, metric) > ? AND token(app, metric) <= ? AND minute < ?
     * per range, per replica set) so no single coordinator reads the whole table under one timeout.
     * oldestMinute is the oldest such minute when a min() over the same filter answers in time,
     * otherwise the first one found.
     */
    async verifyOldStoreAgedOut(input: { env: string; horizon: number }): Promise<{ agedOut: boolean; oldestMinute: number | null }> {
      const env = checkEnv(input.env);
      if (!Number.isSafeInteger(input.horizon)) throw invalidInput(`horizon must be an epoch-ms integer, got ${input.horizon}`);
      const log = logFor(env, 'verify-old-store-aged-out');
      return run(log, async () => {
        const oldStore = openOldStoreAdmin(db, env);
        const held = await oldStore.pointsBefore(input.horizon);
        if (!held.tableExists) {
          log.info({ keyspace: oldStore.location }, 'old store table does not exist: aged out');
          return { agedOut: true, oldestMinute: null };
        }
        if (held.oldestMinute === null) {
          log.info({ horizon: input.horizon }, 'old store holds nothing older than the horizon');
          return { agedOut: true, oldestMinute: null };
        }
        if (!held.exact) log.debug({ horizon: input.horizon }, 'min(minute) did not answer; reporting the first old minute found');
        log.info({ horizon: input.horizon, oldestMinute: held.oldestMinute }, 'old store still holds points older than the horizon');
        return { agedOut: false, oldestMinute: held.oldestMinute };
      });
    },

    /** Appends an audit entry; a repeat of the same (env, seq) by the same workflow and action is a no-op, a different entry on that seq a non-retryable failure. */
    async appendAudit(entry: AuditEntry): Promise<void> {
      const env = checkEnv(entry.env);
      const log = logFor(env, 'append-audit');
      await run(log, async () => {
        await ensureAuditTableOnce();
        const { written } = await appendAuditEntry(dynamo, entry, deps.integrityKeys());
        log.info(
          { seq: entry.seq, auditAction: entry.action, from: entry.from, to: entry.to, actor: entry.actor, written },
          written ? 'audit entry written' : 'audit entry already written',
        );
        // Notify in the background, so a slow webhook never holds the transition (the notifier
        // retries on its own and never throws). A retried activity notifies again with the same
        // id (workflow id + seq): at least once, and receivers de-duplicate on the id.
        const notifier = deps.notifier;
        const notification = notifier ? notificationFromAudit(entry, deps.consoleUrl ?? null) : null;
        if (notifier && notification) void notifier.send(notification);
      });
    },

    /**
     * Drops the old store's table and keyspace (IF EXISTS: a repeat is a no-op and reports
     * dropped=true, the store being gone either way), or keeps them when asked to.
     *
     * Refuses (non-retryable, type OldStoreInUse) while the env's newest control state still
     * has the old writer on or the old store available: dropping the tables under running
     * writers and readers would fail their writes and the reads still routed to it. Publish
     * `{ oldWriter: false, oldStoreAvailable: false }` (and have it acknowledged) first.
     * Cassandra snapshots a dropped table by default (auto_snapshot): the disk space comes back
     * once an operator clears the snapshot, which is also the last way back.
     */
    async decommissionOldStore(input: { env: string; keepTables: boolean }): Promise<{ dropped: boolean }> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'decommission-old-store');
      const keyspace = cassandraKeyspaceFor(env);
      if (input.keepTables) {
        log.info({ keyspace }, 'keeping the old store tables, as asked');
        return { dropped: false };
      }
      return run(log, async () => {
        const latest = await readLatestControlState(kafka, env, readTimeoutMs, { logger: log });
        if (!latest || latest.oldWriter || latest.oldStoreAvailable) {
          throw ApplicationFailure.create({
            type: ActivityFailureType.oldStoreInUse,
            nonRetryable: true,
            message:
              `env ${env}: refusing to drop ${keyspace}: ` +
              (latest
                ? `control state version ${latest.version} still has oldWriter=${latest.oldWriter}, oldStoreAvailable=${latest.oldStoreAvailable}`
                : 'no control state has been published, so every instance still uses the old store') +
              '; publish oldWriter=false and oldStoreAvailable=false first',
          });
        }
        await openOldStoreAdmin(db, env).drop();
        log.info({ keyspace, controlVersion: latest.version }, 'dropped the old store');
        return { dropped: true };
      });
    },

    /**
     * The stage of an environment's migration: 'not_started' when it has no workflow; the state
     * query's answer while it runs (falling back to its SwitchyardStage search attribute when no
     * worker answers in time); the search attribute, else 'complete', once it has closed.
     */
    async environmentStage(input: { env: string }): Promise<{ stage: StageOrNotStarted }> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'environment-stage');
      return run(log, async () => {
        const handle = temporal.workflow.getHandle(migrationWorkflowId(env));
        let description: Awaited<ReturnType<typeof handle.describe>>;
        try {
          description = await handle.describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return { stage: NOT_STARTED };
          throw err;
        }
        const attribute = stageFromSearchAttributes(description.typedSearchAttributes.getAll());
        if (description.status.name !== 'RUNNING') return { stage: stageOfClosedExecution(description.status.name, attribute) };
        try {
          const state = await temporal.withDeadline(now() + stageQueryTimeoutMs, () => handle.query(stateQuery));
          const stage = stageFromState(state);
          if (stage !== undefined) return { stage };
          log.warn({ state }, 'state query answered without a valid stage');
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'state query failed; using the search attribute');
        }
        if (attribute !== undefined) return { stage: attribute };
        // Retryable: a worker may be back, or the workflow may have recorded its stage, next time.
        throw new Error(
          `env ${env}: migration workflow ${migrationWorkflowId(env)} is running but reports no stage (no worker answered the state query, no ${STAGE_SEARCH_ATTRIBUTE} search attribute)`,
        );
      });
    },

    /**
     * The highest audit seq of the env, 0 when it has none (a missing table reads as an empty
     * log). A fresh run of the env's workflow (e.g. one started again after a termination)
     * numbers its entries and transition ids after it instead of from 1.
     */
    async lastAuditSeq(input: { env: string }): Promise<{ seq: number }> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'last-audit-seq');
      return run(log, async () => {
        const [newest] = await readAudit(dynamo, { env, newestFirst: true, limit: 1 });
        const seq = newest?.seq ?? 0;
        log.info({ seq }, 'last audit seq');
        return { seq };
      });
    },
  } satisfies MigrationActivities;

  return activities;
}

/** The activities object createActivities returns. */
export type Activities = ReturnType<typeof createActivities>;
