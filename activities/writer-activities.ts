/**
 * The writers family: checkWriters (live writers per store, each writer group's lag and the
 * parity of their committed offsets: the dual-write gate's figures) and writerLag (how far behind
 * each store's writers are, in time: the ramps hold on it). Reads only.
 */
import { ROLES, type MigrationActivities, type WriterHealth, type WriterLag } from '../contract/index.js';
import { listLiveInstances } from '../control/publisher.js';
import { measureGroupLag } from '../pipeline/kernel/observability/writer-lag.js';
import { envTopics, writerGroup } from '../pipeline/kernel/topics.js';
import { activityContext } from './activity-context.js';
import type { ActivityDeps } from './activity-deps.js';
import { committedByPartition, summarizeWriterOffsets, type PartitionEnds } from './writer-offsets.js';

/** Builds the writers family on ready clients. */
export function createWriterActivities(deps: ActivityDeps) {
  const { kafka } = deps;
  const { logFor, run, checkEnv, readTimeoutMs, now } = activityContext(deps);

  return {
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
  } satisfies Pick<MigrationActivities, 'checkWriters' | 'writerLag'>;
}
