/**
 * The control plane's end of the control channel, for its activities and the operator CLI: how a
 * transition's patch becomes the next version of an environment's state, publishing it, reading
 * the latest one and the live data-plane instances, and the acknowledgement watch that waits until
 * every live instance of an environment has applied a version.
 *
 * Invariants: a state is validated before it is sent and sent with acks from every in-sync
 * replica; a version is only ever followed by a higher one (the next state is built on the newest
 * read); a transition already on the topic (its transitionId) is not published again. Every read
 * here uses a throwaway consumer group of its own (reader.ts) and deletes it when done. Joining a
 * new group costs the broker's `group.initial.rebalance.delay.ms` (3 s by default, 0 on the local
 * stack), so a control plane on a shared cluster should lower that setting or accept the extra
 * seconds per call.
 */
import { hostname } from 'node:os';
import type { Kafka, Producer } from 'kafkajs';
import type { PublishControlInput } from '../contract/index.js';
import { createLogger, type Logger } from '../kit/logger.js';
import { AcknowledgementTimeoutError, ControlReadTimeoutError, InvalidControlStateError } from './errors.js';
import { initialControlState, type ControlPatch, type ControlState, type Heartbeat } from './model.js';
import { followControlStates, followHeartbeats, readToEnd, throwawayGroupId, type HeartbeatsRead } from './reader.js';
import { describeIssues, encodeControlState } from './wire/codec.js';
import { CONTROL_PUBLISHER_HEADER, CONTROL_TOPIC, HEARTBEAT_TOPIC, controlStateSchema } from './wire/schema.js';

// ---- The next state ----

/** Retention assumed for an environment that has never had a control state and whose patch names none. */
export const DEFAULT_RETENTION_MS = 7 * 86_400_000;

/** The fields of the patch that are set (a key present with `undefined` changes nothing; `null` does, e.g. coverageHorizon). */
export function definedPatch(patch: ControlPatch): Partial<ControlState> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<ControlState>;
}

/** The state to build on: the newest published one, or the initial state (old store only) when there is none. */
export function baseControlState(latest: ControlState | undefined, input: Pick<PublishControlInput, 'env' | 'patch'>): ControlState {
  return latest ?? initialControlState(input.env, input.patch.retentionMs ?? DEFAULT_RETENTION_MS);
}

/** True when `latest` was published by this very transition (an earlier attempt of the same activity). */
export function alreadyPublished(latest: ControlState | undefined, transitionId: string): latest is ControlState {
  return latest?.transitionId !== undefined && latest.transitionId === transitionId;
}

/** The next version: base + patch, version + 1, stamped with the transition, actor, reason and time. Fields the patch leaves out (e.g. faults) are kept. */
export function nextControlState(base: ControlState, input: Pick<PublishControlInput, 'transitionId' | 'patch' | 'actor' | 'reason'>, now: Date): ControlState {
  return {
    ...base,
    ...definedPatch(input.patch),
    env: base.env,
    version: base.version + 1,
    transitionId: input.transitionId,
    updatedAt: now.toISOString(),
    updatedBy: input.actor,
    reason: input.reason,
  };
}

// ---- Publishing ----

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

/** The state, checked against the schema; InvalidControlStateError (not retriable) naming every problem otherwise. */
function validState(state: ControlState): ControlState {
  const parsed = controlStateSchema.safeParse(state);
  if (!parsed.success)
    throw new InvalidControlStateError(`control state for env ${String((state as { env?: unknown }).env)} is invalid: ${describeIssues(parsed.error)}`);
  return parsed.data;
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
  const valid = validState(state);
  const [meta] = await producer.send({
    topic: CONTROL_TOPIC,
    acks: -1,
    messages: [{ key: valid.env, value: encodeControlState(valid), headers: { [CONTROL_PUBLISHER_HEADER]: publisher } }],
  });
  return { env: valid.env, version: valid.version, partition: meta?.partition ?? 0, offset: meta?.baseOffset ?? meta?.offset ?? '-1' };
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
  const valid = validState(state);
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
      published = await publishControlState(clients.producer, valid);
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

// ---- Reads to the end ----

/** Options shared by the reads below. */
export interface ControlReadOptions {
  /** How long reading to the end of the topic may take, ms; then ControlReadTimeoutError (retriable). */
  timeoutMs: number;
  logger?: Logger;
}

function readLogger(logger: Logger | undefined, call: string): Logger {
  return (logger ?? createLogger('control-state-publisher')).child({ call });
}

/** Reads the control topic to its end and returns env's newest valid state (highest version, as instances apply it), or undefined if none. */
export async function readLatestControlState(kafka: Kafka, env: string, timeoutMs: number, opts: { logger?: Logger } = {}): Promise<ControlState | undefined> {
  const logger = readLogger(opts.logger, 'read-state');
  const read = await readToEnd(followControlStates({ kafka, env, groupId: throwawayGroupId('read-state'), logger }), CONTROL_TOPIC, timeoutMs);
  return read.latest(env);
}

/** Options of listLiveInstances. */
export interface ListLiveInstancesOptions extends ControlReadOptions {
  /** Only this environment's instances (default: every environment's). */
  env?: string;
  /** The time liveness is judged at, epoch ms (default: when the topic has been read). */
  now?: number;
}

/** Reads the heartbeat topic to its end and returns the newest heartbeat of every live instance (see wire/heartbeat-table.ts for the rule), by instance id. */
export async function listLiveInstances(kafka: Kafka, opts: ListLiveInstancesOptions): Promise<Heartbeat[]> {
  const logger = readLogger(opts.logger, 'list-instances');
  const read = await readToEnd(followHeartbeats({ kafka, groupId: throwawayGroupId('list-instances'), logger }), HEARTBEAT_TOPIC, opts.timeoutMs);
  return read.live(opts.now ?? Date.now(), opts.env === undefined ? {} : { env: opts.env });
}

// ---- The acknowledgement watch ----

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

// How often the live set is re-judged between records, so an instance that goes silent stops counting.
const RECHECK_MS = 200;

/** Why a wait for an acknowledgement cannot start (a bad version or timeout, or an aborted signal's reason), or undefined. */
function waitArgumentsRefused(version: number, timeoutMs: number, signal: AbortSignal | undefined): unknown {
  if (!Number.isInteger(version) || version < 0) return new InvalidControlStateError(`version must be a non-negative integer, got ${version}`);
  if (!(timeoutMs > 0)) return new InvalidControlStateError(`timeoutMs must be positive, got ${timeoutMs}`);
  return signal?.aborted ? (signal.reason as unknown) : undefined;
}

/** One open wait: a version, and how to settle the caller's promise (once). */
interface Waiter {
  version: number;
  resolve: (v: Heartbeat[]) => void;
  reject: (e: unknown) => void;
}

/** The watch behind watchAcknowledgements: the heartbeat read, the open waits, and the judge of both. */
class HeartbeatAcknowledgements implements AcknowledgementWatch {
  private readonly waiters = new Set<Waiter>();
  private readonly filter: { env: string; roles?: readonly string[] };
  private readonly log: Logger;
  private readonly heartbeats: HeartbeatsRead;
  private recheckTimer: NodeJS.Timeout | undefined;

  constructor(kafka: Kafka, opts: AcknowledgementWatchOptions) {
    this.filter = { env: opts.env, ...(opts.roles ? { roles: opts.roles } : {}) };
    this.log = (opts.logger ?? createLogger('control-state-publisher')).child({ env: opts.env, call: 'await-acknowledgement' });
    this.heartbeats = followHeartbeats({ kafka, groupId: throwawayGroupId('await-ack'), logger: this.log, onHeartbeats: () => this.check() });
    void this.heartbeats.caughtUp.then(() => this.check());
  }

  until(version: number, timeoutMs: number, signal?: AbortSignal): Promise<Heartbeat[]> {
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
      const onAbort = (): void => this.fail(w, signal?.reason ?? new Error('aborted'));
      timeoutTimer = setTimeout(() => this.timedOut(w, timeoutMs), timeoutMs);
      signal?.addEventListener('abort', onAbort);
      this.waiters.add(w);
      this.check();
      if (this.waiters.has(w) && this.recheckTimer === undefined) this.recheckTimer = setTimeout(() => this.recheck(), RECHECK_MS);
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
    for (const w of [...this.waiters]) this.fail(w, new Error('the acknowledgement watch was stopped'));
    await this.heartbeats.stop();
  }

  /** Settles every wait whose version each live instance has reached. */
  private check(): void {
    // Before the read has reached what the topic held at the start, an absent instance may just be unread.
    if (this.waiters.size === 0 || !this.heartbeats.isCaughtUp()) return;
    const live = this.heartbeats.live(Date.now(), this.filter);
    for (const w of [...this.waiters]) {
      if (live.every((hb) => hb.appliedVersion >= w.version)) {
        this.log.debug({ version: w.version, instances: live.map((hb) => hb.instanceId) }, 'every live instance acknowledged');
        this.waiters.delete(w);
        w.resolve(live);
      }
    }
  }

  /** The live set is re-judged between records too, so an instance that goes silent stops counting. */
  private recheck(): void {
    this.recheckTimer = undefined;
    this.check();
    if (this.waiters.size > 0) this.recheckTimer = setTimeout(() => this.recheck(), RECHECK_MS);
  }

  /** The wait's time is up: fail it naming each laggard (or the unread topic), unless everyone caught up in the last instant. */
  private timedOut(w: Waiter, timeoutMs: number): void {
    const { env } = this.filter;
    if (!this.heartbeats.isCaughtUp()) {
      const unread = new ControlReadTimeoutError(HEARTBEAT_TOPIC, timeoutMs, this.heartbeats.lastError()).message;
      this.fail(w, new AcknowledgementTimeoutError(env, w.version, [], timeoutMs, unread));
      return;
    }
    const now = Date.now();
    const laggards = this.heartbeats
      .live(now, this.filter)
      .filter((hb) => hb.appliedVersion < w.version)
      .map((hb) => ({ instanceId: hb.instanceId, role: hb.role, appliedVersion: hb.appliedVersion, lastHeartbeatAgoMs: now - hb.at }));
    if (laggards.length === 0) return this.check();
    this.fail(w, new AcknowledgementTimeoutError(env, w.version, laggards, timeoutMs));
  }

  private fail(w: Waiter, e: unknown): void {
    if (!this.waiters.delete(w)) return;
    w.reject(e);
  }
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
  return new HeartbeatAcknowledgements(kafka, opts);
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
