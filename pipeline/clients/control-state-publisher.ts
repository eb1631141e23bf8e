/**
 * The control plane's end of the control channel, for its activities: publish a control state,
 * read the latest one, list the live data-plane instances, and wait until every live instance of
 * an environment has applied a version.
 *
 * Every reader here uses a throwaway consumer group of its own (kafkajs has no group-less
 * consumer) and deletes it when done. Joining a new group costs the broker's
 * `group.initial.rebalance.delay.ms` (3 s by default, 0 on the local stack), so a control plane
 * on a shared cluster should lower that setting or accept the extra seconds per call.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka, Producer } from 'kafkajs';
import { createLogger, type Logger } from '../../kit/logger.js';
import { decodeControlState, describeIssues, encodeControlState } from '../kernel/control/control-codec.js';
import { AcknowledgementTimeoutError, ControlReadTimeoutError, InvalidControlStateError } from '../kernel/control/control-errors.js';
import {
  CONTROL_PUBLISHER_HEADER,
  CONTROL_TOPIC,
  HEARTBEAT_TOPIC,
  controlStateSchema,
  type ControlState,
  type Heartbeat,
} from '../kernel/control/control-state.js';
import { HeartbeatTable } from './heartbeat-table.js';
import { tailTopic, type TopicTail } from '../kernel/control/topic-tail.js';

/** The publishing process (host and pid), sent with every state: instances log it when they apply one. */
export function defaultPublisher(): string {
  return `${hostname()}/pid ${process.pid}`;
}

/** Where a published state landed. */
export interface PublishedControlState {
  env: string;
  version: number;
  partition: number;
  offset: string;
}

/**
 * Validates a state and publishes it to the control topic under its env (acks from all in-sync
 * replicas: a state the control plane reports as published must survive a broker loss). Throws
 * InvalidControlStateError (not retriable) for an invalid state. Publishing the same version
 * twice is harmless (instances apply only newer versions), so an activity may retry it; the
 * caller must never publish a lower version than the env's latest — after compaction it would
 * become what newly started instances read.
 */
export async function publishControlState(producer: Producer, state: ControlState, publisher = defaultPublisher()): Promise<PublishedControlState> {
  const parsed = controlStateSchema.safeParse(state);
  if (!parsed.success)
    throw new InvalidControlStateError(`control state for env ${String((state as { env?: unknown }).env)} is invalid: ${describeIssues(parsed.error)}`);
  const valid = parsed.data;
  const [meta] = await producer.send({
    topic: CONTROL_TOPIC,
    acks: -1,
    messages: [{ key: valid.env, value: encodeControlState(valid), headers: { [CONTROL_PUBLISHER_HEADER]: publisher } }],
  });
  return { env: valid.env, version: valid.version, partition: meta?.partition ?? 0, offset: meta?.baseOffset ?? meta?.offset ?? '-1' };
}

/** Options shared by the readers below. */
export interface ControlReadOptions {
  /** How long reading to the end of the topic may take, ms; then ControlReadTimeoutError (retriable). */
  timeoutMs: number;
  logger?: Logger;
}

/** Reads the control topic to its end and returns env's newest valid state (highest version, as instances apply it), or undefined if none. */
export async function readLatestControlState(kafka: Kafka, env: string, timeoutMs: number, opts: { logger?: Logger } = {}): Promise<ControlState | undefined> {
  let latest: ControlState | undefined;
  await readToEnd(kafka, CONTROL_TOPIC, 'read-state', timeoutMs, opts.logger, (messages) => {
    for (const m of messages) {
      if (m.key?.toString('utf8') !== env) continue;
      const decoded = decodeControlState(m.value);
      if (decoded.ok && decoded.value.env === env && decoded.value.version > (latest?.version ?? -1)) latest = decoded.value;
    }
  });
  return latest;
}

/** Options of listLiveInstances. */
export interface ListLiveInstancesOptions extends ControlReadOptions {
  /** Only this environment's instances (default: every environment's). */
  env?: string;
  /** The time liveness is judged at, epoch ms (default: when the topic has been read). */
  now?: number;
}

/** Reads the heartbeat topic to its end and returns the newest heartbeat of every live instance (see heartbeat-table.ts for the rule), by instance id. */
export async function listLiveInstances(kafka: Kafka, opts: ListLiveInstancesOptions): Promise<Heartbeat[]> {
  const table = new HeartbeatTable();
  await readToEnd(kafka, HEARTBEAT_TOPIC, 'list-instances', opts.timeoutMs, opts.logger, (messages) => table.addMessages(messages));
  return table.live(opts.now ?? Date.now(), opts.env === undefined ? {} : { env: opts.env });
}

/** Options of waitForAcknowledgement. */
export interface AcknowledgementOptions {
  env: string;
  /** The version every live instance must report (or exceed). */
  version: number;
  /** How long to wait, ms; then AcknowledgementTimeoutError naming the laggards. */
  timeoutMs: number;
  /** Only wait for instances of these roles (default: every role). */
  roles?: readonly string[];
  /** Abandons the wait (rejects with the signal's reason). */
  signal?: AbortSignal;
  logger?: Logger;
}

// How often the live set is re-judged between records, so an instance that goes silent stops counting.
const RECHECK_MS = 200;

/**
 * Resolves with the live instances of the env (and roles) once every one of them reports
 * appliedVersion >= version. Tails the heartbeat topic for the whole wait (one consumer, no
 * re-reads); an instance that says goodbye or goes silent for 3 intervals stops counting.
 *
 * With no live instance at all it resolves at once with []: the data plane may simply be down,
 * and every instance reads the newest state when it starts, so there is nobody to wait for.
 * Rejects with AcknowledgementTimeoutError (retriable) naming each laggard on timeout.
 */
export function waitForAcknowledgement(kafka: Kafka, opts: AcknowledgementOptions): Promise<Heartbeat[]> {
  const { env, version, timeoutMs } = opts;
  if (!Number.isInteger(version) || version < 0) return Promise.reject(new InvalidControlStateError(`version must be a non-negative integer, got ${version}`));
  if (!(timeoutMs > 0)) return Promise.reject(new InvalidControlStateError(`timeoutMs must be positive, got ${timeoutMs}`));
  const log = (opts.logger ?? createLogger('control-state-publisher')).child({ env, version, call: 'await-acknowledgement' });
  const filter = { env, ...(opts.roles ? { roles: opts.roles } : {}) };
  const table = new HeartbeatTable();

  if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);

  return new Promise<Heartbeat[]>((resolve, reject) => {
    let done = false;
    let recheckTimer: NodeJS.Timeout | undefined;

    const finish = (outcome: { ok: true; value: Heartbeat[] } | { ok: false; error: unknown }): void => {
      if (done) return;
      done = true;
      clearTimeout(recheckTimer);
      clearTimeout(timeoutTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // The group is cleaned up before answering, so a finished activity leaves nothing behind.
      void tail.stop().finally(() => (outcome.ok ? resolve(outcome.value) : reject(outcome.error)));
    };

    const check = (): void => {
      // Before the tail has read everything up to the start, an absent instance may just be unread.
      if (done || !tail.isCaughtUp()) return;
      const live = table.live(Date.now(), filter);
      if (live.every((hb) => hb.appliedVersion >= version)) {
        log.debug({ instances: live.map((hb) => hb.instanceId) }, 'every live instance acknowledged');
        finish({ ok: true, value: live });
      }
    };

    const onTimeout = (): void => {
      if (!tail.isCaughtUp()) {
        finish({
          ok: false,
          error: new AcknowledgementTimeoutError(
            env,
            version,
            [],
            timeoutMs,
            new ControlReadTimeoutError(HEARTBEAT_TOPIC, timeoutMs, tail.lastError()).message,
          ),
        });
        return;
      }
      const now = Date.now();
      const laggards = table
        .live(now, filter)
        .filter((hb) => hb.appliedVersion < version)
        .map((hb) => ({ instanceId: hb.instanceId, role: hb.role, appliedVersion: hb.appliedVersion, lastHeartbeatAgoMs: now - hb.at }));
      // Everyone may have caught up in the last instant: check once more before failing.
      if (laggards.length === 0) return check();
      finish({ ok: false, error: new AcknowledgementTimeoutError(env, version, laggards, timeoutMs) });
    };

    const recheck = (): void => {
      check();
      if (!done) recheckTimer = setTimeout(recheck, RECHECK_MS);
    };

    const onAbort = (): void => finish({ ok: false, error: opts.signal?.reason ?? new Error('aborted') });

    // The handlers above run only from Kafka callbacks and timers, i.e. after `tail` and `timeoutTimer` exist.
    const tail: TopicTail = tailTopic({
      kafka,
      topic: HEARTBEAT_TOPIC,
      groupId: throwawayGroupId('await-ack'),
      logger: log,
      deleteGroupOnStop: true,
      onMessages: (messages) => {
        table.addMessages(messages);
        check();
      },
    });
    opts.signal?.addEventListener('abort', onAbort);
    void tail.caughtUp.then(check);
    recheckTimer = setTimeout(recheck, RECHECK_MS);
    const timeoutTimer = setTimeout(onTimeout, timeoutMs);
  });
}

/** What publishAndAwait did. */
export interface PublishAndAwaitResult extends PublishedControlState {
  /** The live instances that acknowledged (empty if none was live). */
  acknowledged: Heartbeat[];
  /** From the call to the last acknowledgement, ms. */
  elapsedMs: number;
}

/**
 * Publishes a state and waits until every live instance of its env (optionally: of some roles)
 * applies it — the call the control plane's activities make for each transition. The wait starts
 * before the publish, so joining the reader group overlaps the publish and the instances' work.
 */
export async function publishAndAwait(
  clients: { kafka: Kafka; producer: Producer },
  state: ControlState,
  opts: { timeoutMs: number; roles?: readonly string[]; logger?: Logger },
): Promise<PublishAndAwaitResult> {
  const parsed = controlStateSchema.safeParse(state);
  if (!parsed.success)
    throw new InvalidControlStateError(`control state for env ${String((state as { env?: unknown }).env)} is invalid: ${describeIssues(parsed.error)}`);
  const t0 = Date.now();
  const abort = new AbortController();
  const acknowledged = waitForAcknowledgement(clients.kafka, {
    env: state.env,
    version: state.version,
    timeoutMs: opts.timeoutMs,
    signal: abort.signal,
    ...(opts.roles ? { roles: opts.roles } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  let published: PublishedControlState;
  try {
    published = await publishControlState(clients.producer, parsed.data);
  } catch (err) {
    abort.abort(err);
    await acknowledged.catch(() => undefined);
    throw err;
  }
  const instances = await acknowledged;
  return { ...published, acknowledged: instances, elapsedMs: Date.now() - t0 };
}

/** A consumer group id nobody else uses, for one read. */
function throwawayGroupId(purpose: string): string {
  return `switchyard.control-admin.${purpose}.${randomUUID()}`;
}

/** Reads a topic to its end with a throwaway group, then removes the group; ControlReadTimeoutError on timeout. */
async function readToEnd(
  kafka: Kafka,
  topic: string,
  purpose: string,
  timeoutMs: number,
  logger: Logger | undefined,
  onMessages: Parameters<typeof tailTopic>[0]['onMessages'],
): Promise<void> {
  const log = (logger ?? createLogger('control-state-publisher')).child({ call: purpose });
  const tail = tailTopic({ kafka, topic, groupId: throwawayGroupId(purpose), logger: log, deleteGroupOnStop: true, onMessages });
  let timer: NodeJS.Timeout | undefined;
  try {
    const caughtUp = await Promise.race([tail.caughtUp.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    if (!caughtUp) throw new ControlReadTimeoutError(topic, timeoutMs, tail.lastError());
  } finally {
    clearTimeout(timer);
    await tail.stop();
  }
}
