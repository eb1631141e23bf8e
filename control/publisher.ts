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

/** Why a wait for an acknowledgement cannot start (a bad version or timeout, or an aborted signal's reason), or undefined. */
function waitArgumentsRefused(version: number, timeoutMs: number, signal: AbortSignal | undefined): unknown {
  if (!Number.isInteger(version) || version < 0) return new InvalidControlStateError(`version must be a non-negative integer, got ${version}`);
  if (!(timeoutMs > 0)) return new InvalidControlStateError(`timeoutMs must be positive, got ${timeoutMs}`);
  return signal?.aborted ? (signal.reason as unknown) : undefined;
}

/** Options of watchAcknowledgements. */
export interface AcknowledgementWatchOptions {
  env: string;
  /** Only count instances of these roles (default: every role). */
  roles?: readonly string[];
  logger?: Logger;
}

/** A running read of the heartbeat topic, to wait on acknowledgements of versions published later. */
export interface AcknowledgementWatch {
  /**
   * Resolves with the live instances of the env (and roles) once every one of them reports
   * appliedVersion >= version; rejects with AcknowledgementTimeoutError (retriable) naming each
   * laggard after timeoutMs, or with the signal's reason.
   */
  until(version: number, timeoutMs: number, signal?: AbortSignal): Promise<Heartbeat[]>;
  /** Stops reading and removes the reader's group; a wait still open is rejected. */
  stop(): Promise<void>;
}

/**
 * Starts reading the heartbeat topic (a throwaway group, from the beginning) before there is a
 * version to wait for, so joining the group overlaps the caller's other work: the control plane
 * starts it while it reads the latest state, and the wait for the acknowledgement of what it then
 * publishes costs no group join of its own. An instance that says goodbye or goes silent for 3
 * intervals stops counting. With no live instance at all a wait resolves at once with []: the data
 * plane may simply be down, and every instance reads the newest state when it starts.
 */
export function watchAcknowledgements(kafka: Kafka, opts: AcknowledgementWatchOptions): AcknowledgementWatch {
  const { env } = opts;
  const baseLog = (opts.logger ?? createLogger('control-state-publisher')).child({ env, call: 'await-acknowledgement' });
  const filter = { env, ...(opts.roles ? { roles: opts.roles } : {}) };
  const table = new HeartbeatTable();
  interface Waiter {
    version: number;
    resolve: (v: Heartbeat[]) => void;
    reject: (e: unknown) => void;
  }
  const waiters = new Set<Waiter>();
  let recheckTimer: NodeJS.Timeout | undefined;

  const check = (): void => {
    // Before the tail has read everything up to the start, an absent instance may just be unread.
    if (waiters.size === 0 || !tail.isCaughtUp()) return;
    const live = table.live(Date.now(), filter);
    for (const w of [...waiters]) {
      if (live.every((hb) => hb.appliedVersion >= w.version)) {
        baseLog.debug({ version: w.version, instances: live.map((hb) => hb.instanceId) }, 'every live instance acknowledged');
        waiters.delete(w);
        w.resolve(live);
      }
    }
  };
  // The live set is re-judged between records too, so an instance that goes silent stops counting.
  const recheck = (): void => {
    recheckTimer = undefined;
    check();
    if (waiters.size > 0) recheckTimer = setTimeout(recheck, RECHECK_MS);
  };

  const tail: TopicTail = tailTopic({
    kafka,
    topic: HEARTBEAT_TOPIC,
    groupId: throwawayGroupId('await-ack'),
    logger: baseLog,
    deleteGroupOnStop: true,
    onMessages: (messages) => {
      table.addMessages(messages);
      check();
    },
  });
  void tail.caughtUp.then(check);

  return {
    until(version, timeoutMs, signal) {
      const refused = waitArgumentsRefused(version, timeoutMs, signal);
      if (refused !== undefined) return Promise.reject(refused);
      return new Promise<Heartbeat[]>((resolve, reject) => {
        let timeoutTimer: NodeJS.Timeout | undefined = undefined;
        const done = (): void => {
          clearTimeout(timeoutTimer);
          signal?.removeEventListener('abort', onAbort);
        };
        const w: Waiter = {
          version,
          resolve: (v) => {
            done();
            resolve(v);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        };
        const fail = (e: unknown): void => {
          if (!waiters.delete(w)) return;
          w.reject(e);
        };
        const onAbort = (): void => fail(signal?.reason ?? new Error('aborted'));
        timeoutTimer = setTimeout(() => {
          if (!tail.isCaughtUp()) {
            fail(
              new AcknowledgementTimeoutError(env, version, [], timeoutMs, new ControlReadTimeoutError(HEARTBEAT_TOPIC, timeoutMs, tail.lastError()).message),
            );
            return;
          }
          const now = Date.now();
          const laggards = table
            .live(now, filter)
            .filter((hb) => hb.appliedVersion < version)
            .map((hb) => ({ instanceId: hb.instanceId, role: hb.role, appliedVersion: hb.appliedVersion, lastHeartbeatAgoMs: now - hb.at }));
          // Everyone may have caught up in the last instant: check once more before failing.
          if (laggards.length === 0) return check();
          fail(new AcknowledgementTimeoutError(env, version, laggards, timeoutMs));
        }, timeoutMs);
        signal?.addEventListener('abort', onAbort);
        waiters.add(w);
        check();
        if (waiters.has(w) && recheckTimer === undefined) recheckTimer = setTimeout(recheck, RECHECK_MS);
      });
    },
    async stop() {
      clearTimeout(recheckTimer);
      recheckTimer = undefined;
      for (const w of [...waiters]) {
        waiters.delete(w);
        w.reject(new Error('the acknowledgement watch was stopped'));
      }
      await tail.stop();
    },
  };
}

/**
 * Resolves with the live instances of the env (and roles) once every one of them reports
 * appliedVersion >= version: a watch (above) for one wait. Its group is removed before it answers,
 * so a finished activity leaves nothing behind. Rejects with AcknowledgementTimeoutError
 * (retriable) naming each laggard on timeout.
 */
export async function waitForAcknowledgement(kafka: Kafka, opts: AcknowledgementOptions): Promise<Heartbeat[]> {
  const { version, timeoutMs } = opts;
  // Refused before a reader group is joined for nothing.
  const refused = waitArgumentsRefused(version, timeoutMs, opts.signal);
  if (refused !== undefined) throw refused;
  const watch = watchAcknowledgements(kafka, { env: opts.env, ...(opts.roles ? { roles: opts.roles } : {}), ...(opts.logger ? { logger: opts.logger } : {}) });
  try {
    return await watch.until(version, timeoutMs, opts.signal);
  } finally {
    await watch.stop();
  }
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
 * before the publish, so joining the reader group overlaps the publish and the instances' work;
 * a caller that started a watch earlier (watchAcknowledgements) passes it, and stops it itself.
 */
export async function publishAndAwait(
  clients: { kafka: Kafka; producer: Producer },
  state: ControlState,
  opts: { timeoutMs: number; roles?: readonly string[]; logger?: Logger; watch?: AcknowledgementWatch },
): Promise<PublishAndAwaitResult> {
  const parsed = controlStateSchema.safeParse(state);
  if (!parsed.success)
    throw new InvalidControlStateError(`control state for env ${String((state as { env?: unknown }).env)} is invalid: ${describeIssues(parsed.error)}`);
  const t0 = Date.now();
  const abort = new AbortController();
  const own = opts.watch === undefined;
  const watch =
    opts.watch ??
    watchAcknowledgements(clients.kafka, { env: state.env, ...(opts.roles ? { roles: opts.roles } : {}), ...(opts.logger ? { logger: opts.logger } : {}) });
  try {
    const acknowledged = watch.until(state.version, opts.timeoutMs, abort.signal);
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
  } finally {
    if (own) await watch.stop();
  }
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
