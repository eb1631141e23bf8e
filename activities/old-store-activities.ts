/**
 * The old-store family: verifyOldStoreAgedOut (the TTL gate's proof that retention has emptied
 * the old store before the coverage horizon) and decommissionOldStore (dropping its table and
 * keyspace, refused while the newest control state still uses it). Dropping uses IF EXISTS, so a
 * repeat is a no-op.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ActivityFailureType, type MigrationActivities } from '../contract/index.js';
import { readLatestControlState } from '../control/publisher.js';
import { cassandraKeyspaceFor, openOldStoreAdmin } from '../pipeline/kernel/stores/cassandra-store.js';
import { activityContext } from './activity-context.js';
import type { ActivityDeps } from './activity-deps.js';
import { invalidInput } from './activity-failures.js';

/** Builds the old-store family on ready clients. */
export function createOldStoreActivities(deps: ActivityDeps) {
  const { kafka } = deps;
  const db = deps.cassandra;
  const { logFor, run, checkEnv, readTimeoutMs } = activityContext(deps);

  return {
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
  } satisfies Pick<MigrationActivities, 'verifyOldStoreAgedOut' | 'decommissionOldStore'>;
}
