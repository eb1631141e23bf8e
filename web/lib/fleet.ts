import 'server-only';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../../config/clients';
import type { ControlState, Heartbeat } from '../../control';
import { observeControlChannel, type ControlChannelObserver } from '../../control/observer';
import { measureLag } from '../../pipeline/kernel/observability/consumer-lag';
import { measureGroupLag, type GroupLag } from '../../pipeline/kernel/observability/writer-lag';
import { withTimeout } from '../../kit/async';
import { createLogger } from '../../kit/logger';
import { aggregatorGroup, envTopics, writerGroup } from '../../pipeline/kernel/topics';
import { consoleSettings } from './console-settings';

/**
 * The console's view of the data plane from Kafka: the control channel as its observer sees it
 * (control/observer.ts: every writer and query-service instance, the control-state version each
 * applies, the latest control state per env), and on demand the consumer lag, throughput and DLQ
 * sizes. One per server process, started on first use; reading never blocks a page for long.
 */
class FleetWatcher {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly channel: ControlChannelObserver;
  private adminConnected: Promise<void> | undefined;
  /** Readings of each topic's end-offset sum (oldest first, the last THROUGHPUT_SPAN_MS or so), for throughput. */
  private readonly offsetReadings = new Map<string, { at: number; sum: number }[]>();

  constructor() {
    const { cfg } = consoleSettings();
    this.kafka = createKafka(cfg, { clientId: 'switchyard-console' });
    this.admin = this.kafka.admin({ retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 } });
    this.channel = observeControlChannel({ kafka: this.kafka, logger: createLogger('console-fleet', process.env.LOG_LEVEL ?? 'warn') });
  }

  /** Why Kafka cannot be read right now, or undefined. */
  problem(): string | undefined {
    return this.channel.problem();
  }

  /** The live instances (of one env or all), newest heartbeat each. */
  instances(env?: string): Heartbeat[] {
    return this.channel.instances(env);
  }

  /** The latest control state published for env, if the observer has read one. */
  controlState(env: string): ControlState | undefined {
    return this.channel.controlState(env);
  }

  /** Whether the observer has read what the topics held when the console started. */
  caughtUp(): boolean {
    return this.channel.caughtUp();
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
      throughput: { observationBatches: this.rate(topics.observations, obs?.end), metricPoints: this.rate(topics.metrics, met?.end) },
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
      (['cassandra', 'dynamodb'] as const).map((sink) =>
        withTimeout(measureGroupLag(admin, topic, writerGroup(env, sink)), 5_000, `the ${sink} writer's lag`).catch(() => null),
      ),
    );
    return { old: oldLag ?? null, new: newLag ?? null };
  }

  /**
   * Records per second on a topic over the last minute or so of readings (the metrics topic gets
   * its points in a burst when each minute closes, so a few seconds' difference would read 0):
   * null until two readings at least THROUGHPUT_MIN_SPAN_MS apart exist, with how long it has
   * been measuring.
   */
  private rate(topic: string, end: number | undefined): Throughput {
    if (end === undefined) return { perSec: null, overMs: 0 };
    const now = Date.now();
    const readings = (this.offsetReadings.get(topic) ?? []).filter((r) => now - r.at <= THROUGHPUT_SPAN_MS + 30_000);
    readings.push({ at: now, sum: end });
    // Keep the newest reading older than the span (the window's start) and everything after it.
    while (readings.length > 2 && now - readings[1]!.at >= THROUGHPUT_SPAN_MS) readings.shift();
    this.offsetReadings.set(topic, readings);
    const first = readings[0]!;
    const overMs = now - first.at;
    if (overMs < THROUGHPUT_MIN_SPAN_MS) return { perSec: null, overMs };
    return { perSec: ((end - first.sum) * 1000) / overMs, overMs };
  }
}

/** How long a throughput figure reaches back (a little over a minute: the metrics topic fills once a minute). */
const THROUGHPUT_SPAN_MS = 70_000;
/** The shortest span a throughput figure is given over (shorter ones say "measuring"). */
const THROUGHPUT_MIN_SPAN_MS = 20_000;

/** A topic's records per second over `overMs` (null while measuring: fewer than THROUGHPUT_MIN_SPAN_MS of readings). */
export interface Throughput {
  perSec: number | null;
  overMs: number;
}

/** What the pipeline page shows for an env. */
export interface PipelineFigures {
  lags: { group: string; topic: string; job: string; lag: number | null; partitions: number }[];
  throughput: { observationBatches: Throughput; metricPoints: Throughput };
  dlq: { observations: number | null; metrics: number | null };
}

const g = globalThis as unknown as { switchyardFleet?: FleetWatcher };

/** The process's fleet watcher (started on first use). */
export function fleet(): FleetWatcher {
  g.switchyardFleet ??= new FleetWatcher();
  return g.switchyardFleet;
}
