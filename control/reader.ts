/**
 * The one reader of the control channel's topics, used by all three of its ends: an instance's
 * subscriber, the publisher's reads (the latest state, the live instances, the acknowledgement
 * watch) and the console's observer. Each follows a topic from its beginning with a consumer group
 * of its own (wire/topic-tail.ts) and sees the records through here:
 *
 * - control records are decoded, checked against their schema and against their key (a state is
 *   filed under its own env, or it is not taken), and the newest state of each env is kept: the
 *   highest version, and of two records of one version the first, as instances apply them;
 * - heartbeats are gathered into the newest heartbeat of each instance, with the liveness rule
 *   (wire/heartbeat-table.ts).
 *
 * A read to the end (readToEnd) waits until everything the topic held when the read began has
 * been seen, or fails with ControlReadTimeoutError (retriable), and removes its group either way.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../kit/logger.js';
import { ControlReadTimeoutError } from './errors.js';
import type { ControlState, Heartbeat } from './model.js';
import { decodeControlState } from './wire/codec.js';
import { HeartbeatTable, type InstanceFilter } from './wire/heartbeat-table.js';
import { CONTROL_PUBLISHER_HEADER, CONTROL_TOPIC, HEARTBEAT_TOPIC } from './wire/schema.js';
import { tailTopic, type TopicTail } from './wire/topic-tail.js';

/** One record of the control topic, decoded and checked. */
export type ControlRecord =
  /** A valid state filed under its own env; `publisher` is the process its header names. */
  | { kind: 'state'; key: string; offset: string; state: ControlState; publisher: string }
  /** A record without a value (compaction's delete marker): it changes no state. */
  | { kind: 'tombstone'; key: string | undefined; offset: string }
  /** Not a state, or a state filed under another key (`stateEnv` then says whose it is). */
  | { kind: 'invalid'; key: string | undefined; offset: string; reason: string; stateEnv?: string };

/** Decodes and checks one control-topic record; never throws. */
export function readControlRecord(m: KafkaMessage): ControlRecord {
  const key = m.key?.toString('utf8');
  if (m.value === null) return { kind: 'tombstone', key, offset: m.offset };
  const decoded = decodeControlState(m.value);
  if (!decoded.ok) return { kind: 'invalid', key, offset: m.offset, reason: decoded.reason };
  const state = decoded.value;
  if (key !== state.env)
    return { kind: 'invalid', key, offset: m.offset, reason: `filed under key ${String(key)}, not its env ${state.env}`, stateEnv: state.env };
  const publisher = m.headers?.[CONTROL_PUBLISHER_HEADER]?.toString() ?? 'unknown (no publisher header)';
  return { kind: 'state', key, offset: m.offset, state, publisher };
}

/** What every reader of a channel topic offers: TopicTail's view of the read. */
export type ChannelRead = Pick<TopicTail, 'caughtUp' | 'isCaughtUp' | 'lastError' | 'stop'>;

/** Options shared by followControlStates and followHeartbeats. */
export interface ChannelReadOptions {
  kafka: Kafka;
  /** A consumer group id no other reader uses (throwawayGroupId for a one-off read). */
  groupId: string;
  logger: Logger;
}

/** Options of followControlStates. */
export interface ControlStatesOptions extends ChannelReadOptions {
  /** Only this environment's records: records filed under another env's key are skipped unread. */
  env?: string;
  /** Receives each batch's records (those of `env`, when set) in topic order, after latest() has taken them in. */
  onRecords?: (records: ControlRecord[]) => void;
}

/** A running read of the control topic. */
export interface ControlStatesRead extends ChannelRead {
  /** The newest valid state read for env (highest version; of equal versions the first read), or undefined. */
  latest(env: string): ControlState | undefined;
}

/** Starts reading the control topic from its beginning in the background; retries until stopped. */
export function followControlStates(opts: ControlStatesOptions): ControlStatesRead {
  const newest = new Map<string, ControlState>();
  const onMessages = (messages: KafkaMessage[]): void => {
    const records: ControlRecord[] = [];
    for (const m of messages) {
      // Records of other environments are none of this reader's business, valid or not.
      if (opts.env !== undefined && m.key !== null && m.key.toString('utf8') !== opts.env) continue;
      const record = readControlRecord(m);
      if (record.kind === 'state' && record.state.version > (newest.get(record.key)?.version ?? -1)) newest.set(record.key, record.state);
      records.push(record);
    }
    opts.onRecords?.(records);
  };
  const tail = tailTopic({ kafka: opts.kafka, topic: CONTROL_TOPIC, groupId: opts.groupId, logger: opts.logger, deleteGroupOnStop: true, onMessages });
  return { ...channelRead(tail), latest: (env) => newest.get(env) };
}

/** Options of followHeartbeats. */
export interface HeartbeatsOptions extends ChannelReadOptions {
  /** Called after each batch of heartbeats has been taken in. */
  onHeartbeats?: () => void;
}

/** A running read of the heartbeat topic. */
export interface HeartbeatsRead extends ChannelRead {
  /** The newest heartbeat of every instance live at `now` that matches the filter, by instance id. */
  live(now: number, filter?: InstanceFilter): Heartbeat[];
}

/** Starts reading the heartbeat topic from its beginning in the background; retries until stopped. */
export function followHeartbeats(opts: HeartbeatsOptions): HeartbeatsRead {
  const table = new HeartbeatTable();
  const onMessages = (messages: KafkaMessage[]): void => {
    table.addMessages(messages);
    opts.onHeartbeats?.();
  };
  const tail = tailTopic({ kafka: opts.kafka, topic: HEARTBEAT_TOPIC, groupId: opts.groupId, logger: opts.logger, deleteGroupOnStop: true, onMessages });
  return { ...channelRead(tail), live: (now, filter = {}) => table.live(now, filter) };
}

/**
 * Waits until `read` has seen everything its topic held when it began, then stops it (removing its
 * group) and returns it, to be asked what it read. ControlReadTimeoutError after timeoutMs.
 */
export async function readToEnd<R extends ChannelRead>(read: R, topic: string, timeoutMs: number): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const caughtUp = await Promise.race([read.caughtUp.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    if (!caughtUp) throw new ControlReadTimeoutError(topic, timeoutMs, read.lastError());
    return read;
  } finally {
    clearTimeout(timer);
    await read.stop();
  }
}

/** A consumer group id nobody else uses, for one read by the control plane (`switchyard.control-admin.<purpose>.<uuid>`). */
export function throwawayGroupId(purpose: string): string {
  return `switchyard.control-admin.${purpose}.${randomUUID()}`;
}

function channelRead(tail: TopicTail): ChannelRead {
  return { caughtUp: tail.caughtUp, isCaughtUp: () => tail.isCaughtUp(), lastError: () => tail.lastError(), stop: () => tail.stop() };
}
