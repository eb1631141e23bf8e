/**
 * Creation and configuration of the two topics of the control channel: the compacted control
 * topic (the latest state of every environment, forever) and the heartbeat topic (the latest
 * heartbeat of every instance, for a while).
 */
import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import { waitForLeaders } from '../../kit/topic-leaders.js';
import { CONTROL_TOPIC, HEARTBEAT_TOPIC } from './schema.js';

// kafkajs is CommonJS and Node's named-export detection misses this one; take it off the default export.
const { ConfigResourceTypes } = kafkajs;

/**
 * Topic settings of the control topic. Compacted, never deleted: a control state must outlive
 * any retention, or an instance started months after the last transition would fall back to the
 * initial state (old store only). Short segments and a low dirty ratio let the cleaner drop
 * superseded versions within minutes, so compaction is visible when you look; tombstones (used
 * to retire an env) are kept a day so a slow reader still sees them.
 */
export const CONTROL_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'segment.ms': String(60_000),
  'min.cleanable.dirty.ratio': '0.01',
  'delete.retention.ms': String(86_400_000),
};

/**
 * Topic settings of the heartbeat topic: compact AND delete. Compaction keeps one record per
 * instance, so a reader that scans the topic reads about one record per instance rather than one
 * per heartbeat; deletion with a one-hour retention lets a dead instance's last heartbeat (which
 * compaction alone would keep forever) age out. Liveness itself never depends on retention: it is
 * decided from each heartbeat's own timestamp and interval (see heartbeat-table.ts).
 */
export const HEARTBEAT_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact,delete',
  'retention.ms': String(3_600_000),
  'segment.ms': String(60_000),
  'min.cleanable.dirty.ratio': '0.1',
  'delete.retention.ms': String(60_000),
};

/** What ensureControlTopics did. */
export interface EnsureControlTopicsResult {
  /** Topics that did not exist and were created. */
  created: string[];
  /** Topics that existed with other settings and were reconfigured. */
  reconfigured: string[];
}

const wanted: readonly { topic: string; config: Readonly<Record<string, string>> }[] = [
  { topic: CONTROL_TOPIC, config: CONTROL_TOPIC_CONFIG },
  { topic: HEARTBEAT_TOPIC, config: HEARTBEAT_TOPIC_CONFIG },
];

/**
 * Creates the control and heartbeat topics (one partition each: one partition keeps every record
 * in publish order for every reader) and puts their settings right if they exist with others —
 * e.g. auto-created by a broker with `auto.create.topics.enable`, which would make the control
 * topic delete old states after the broker's retention. Idempotent.
 */
export async function ensureControlTopics(admin: Admin, opts: { replicationFactor?: number } = {}): Promise<EnsureControlTopicsResult> {
  const replicationFactor = opts.replicationFactor ?? 1;
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = wanted
    .filter((w) => !existing.has(w.topic))
    .map((w) => ({ topic: w.topic, numPartitions: 1, replicationFactor, configEntries: Object.entries(w.config).map(([name, value]) => ({ name, value })) }));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: false });
      await waitForLeaders(
        admin,
        missing.map((m) => m.topic),
      );
    } catch (err) {
      // Another instance may have created it between listTopics and here; that is success.
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
    }
  }

  const present = wanted.filter((w) => existing.has(w.topic));
  const reconfigured: string[] = [];
  if (present.length > 0) {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((w) => ({ type: ConfigResourceTypes.TOPIC, name: w.topic, configNames: Object.keys(w.config) })),
    });
    for (const w of present) {
      const actual = new Map(described.resources.find((r) => r.resourceName === w.topic)?.configEntries.map((e) => [e.configName, e.configValue]) ?? []);
      const differs = Object.entries(w.config).some(([name, value]) => actual.get(name) !== value);
      if (!differs) continue;
      // alterConfigs replaces the topic's dynamic settings as a whole: these topics are ours alone.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: w.topic, configEntries: Object.entries(w.config).map(([name, value]) => ({ name, value })) }],
      });
      reconfigured.push(w.topic);
    }
  }
  return { created: missing.map((m) => m.topic), reconfigured };
}
