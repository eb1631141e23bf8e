import 'server-only';
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../../config/clients';
import { decodeControlState } from '../../pipeline/kernel/control/control-codec';
import { CONTROL_TOPIC, HEARTBEAT_TOPIC, type ControlState, type Heartbeat } from '../../pipeline/kernel/control/control-state';
import { HeartbeatTable } from '../../pipeline/clients/heartbeat-table';
import { tailTopic, type TopicTail } from '../../pipeline/kernel/control/topic-tail';
import { measureLag } from '../../pipeline/kernel/observability/consumer-lag';
import { measureGroupLag, type GroupLag } from '../../pipeline/kernel/observability/writer-lag';
import { createLogger } from '../../kit/logger';
import { aggregatorGroup, envTopics, writerGroup } from '../../pipeline/kernel/topics';
import { consoleSettings } from './console-settings';

/**
 * The console's view of the data plane from Kafka: a tail of the heartbeat and control topics
 * (every writer and query-service instance, the control-state version each applies, the latest
 * control state per env), and on demand the consumer lag, throughput and DLQ sizes. One per
 * server process, started on first use; reading never blocks a page for long.
 */
class FleetWatcher {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly heartbeats = new HeartbeatTable();
  private readonly control = new Map<string, ControlState>();
  private readonly tails: TopicTail[];
  private adminConnected: Promise<void> | undefined;
  /** Previous end-offset sums per topic, for throughput. */
  private readonly lastOffsets = new Map<string, { at: number; sum: number }>();
  private readonly rates = new Map<string, number>();

  constructor() {
    const { cfg } = consoleSettings();
    this.kafka = createKafka(cfg, { clientId: 'switchyard-console' });
    this.admin = this.kafka.admin({ retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 } });
    const logger = createLogger('console-fleet', process.env.LOG_LEVEL ?? 'warn');
    const id = `switchyard.console.${randomUUID().slice(0, 8)}`;
    this.tails = [
      tailTopic({
        kafka: this.kafka,
        topic: HEARTBEAT_TOPIC,
        groupId: `${id}.heartbeats`,
        deleteGroupOnStop: true,
        logger,
        onMessages: (m) => this.heartbeats.addMessages(m),
      }),
      tailTopic({
        kafka: this.kafka,
        topic: CONTROL_TOPIC,
        groupId: `${id}.control`,
        deleteGroupOnStop: true,
        logger,
        onMessages: (messages) => {
          for (const m of messages) {
            const decoded = decodeControlState(m.value);
            if (!decoded.ok) continue;
            const prev = this.control.get(decoded.value.env);
            if (!prev || decoded.value.version >= prev.version) this.control.set(decoded.value.env, decoded.value);
          }
        },
      }),
    ];
  }

  /** Why Kafka cannot be read right now, or undefined. */
  problem(): string | undefined {
    return this.tails.map((t) => t.lastError()).find((e) => e !== undefined);
  }

  /** The live instances (of one env or all), newest heartbeat each. */
  instances(env?: string): Heartbeat[] {
    return this.heartbeats.live(Date.now(), env === undefined ? {} : { env });
  }

  /** The latest control state published for env, if the tail has seen one. */
  controlState(env: string): ControlState | undefined {
    return this.control.get(env);
  }

  /** Whether the tails have read what the topics held when the console started. */
  caughtUp(): boolean {
    return this.tails.every((t) => t.isCaughtUp());
  }

  private async connectedAdmin(): Promise<Admin> {
    this.adminConnected ??= this.admin.connect().catch((err: unknown) => {
      this.adminConnected = undefined;
      throw err;
    });
    await this.adminConnected;
    return this.admin;
  }

  /** Lag per consumer group, records/s per topic and DLQ sizes for an env. */
  async pipelineFigures(env: string): Promise<PipelineFigures> {
    const admin = await this.connectedAdmin();
    const topics = envTopics(env);
    const groups = [
      { group: aggregatorGroup(env), topic: topics.observations, job: 'aggregator' },
      { group: writerGroup(env, 'cassandra'), topic: topics.metrics, job: 'writer (cassandra)' },
      { group: writerGroup(env, 'dynamodb'), topic: topics.metrics, job: 'writer (dynamodb)' },
    ];
    const lags = await Promise.all(
      groups.map(async (g) => {
        const parts = await measureLag(admin, g.group, g.topic).catch(() => null);
        return { ...g, lag: parts === null ? null : parts.reduce((a, p) => a + p.lag, 0), partitions: parts?.length ?? 0 };
      }),
    );
    const sizes = async (topic: string): Promise<{ total: number; end: number } | null> => {
      const offsets = await admin.fetchTopicOffsets(topic).catch(() => null);
      if (offsets === null) return null;
      return {
        total: offsets.reduce((a, o) => a + Number(o.high) - Number(o.low), 0),
        end: offsets.reduce((a, o) => a + Number(o.high), 0),
      };
    };
    const [obs, met, obsDlq, metDlq] = await Promise.all([
      sizes(topics.observations),
      sizes(topics.metrics),
      sizes(topics.observationsDlq),
      sizes(topics.metricsDlq),
    ]);
    return {
      lags,
      throughput: { observationBatchesPerSec: this.rate(topics.observations, obs?.end), metricPointsPerSec: this.rate(topics.metrics, met?.end) },
      dlq: { observations: obsDlq?.total ?? null, metrics: metDlq?.total ?? null },
    };
  }

  /**
   * How far behind each store's writers are now, in time and points (null for a store whose lag
   * cannot be read): the age of the oldest metrics record its writer group has not written.
   */
  async writerLag(env: string): Promise<{ old: GroupLag | null; new: GroupLag | null }> {
    const admin = await this.connectedAdmin();
    const topic = envTopics(env).metrics;
    const [oldLag, newLag] = await Promise.all(
      (['cassandra', 'dynamodb'] as const).map((sink) => measureGroupLag(admin, topic, writerGroup(env, sink)).catch(() => null)),
    );
    return { old: oldLag ?? null, new: newLag ?? null };
  }

  /** Records per second on a topic since the previous call at least 2 s ago. */
  private rate(topic: string, end: number | undefined): number | null {
    if (end === undefined) return null;
    const now = Date.now();
    const prev = this.lastOffsets.get(topic);
    if (!prev) this.lastOffsets.set(topic, { at: now, sum: end });
    else if (now - prev.at >= 2000) {
      this.rates.set(topic, ((end - prev.sum) * 1000) / (now - prev.at));
      this.lastOffsets.set(topic, { at: now, sum: end });
    }
    return this.rates.get(topic) ?? null;
  }
}

/** What the pipeline page shows for an env. */
export interface PipelineFigures {
  lags: { group: string; topic: string; job: string; lag: number | null; partitions: number }[];
  throughput: { observationBatchesPerSec: number | null; metricPointsPerSec: number | null };
  dlq: { observations: number | null; metrics: number | null };
}

const g = globalThis as unknown as { switchyardFleet?: FleetWatcher };

/** The process's fleet watcher (started on first use). */
export function fleet(): FleetWatcher {
  g.switchyardFleet ??= new FleetWatcher();
  return g.switchyardFleet;
}
