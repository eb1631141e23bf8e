/**
 * The data plane's end of the control channel. Every writer and query-service instance runs one:
 * it reads `switchyard.control` from the beginning and follows it (reader.ts), applies each newer
 * version of its environment's state (through the instance's onChange), and announces the version
 * it applies on `switchyard.heartbeats`, which is what the control plane waits on.
 *
 * Invariants: versions are applied one at a time, in order, and only newer ones; a version whose
 * onChange throws is neither applied nor acknowledged (the control plane then names this instance
 * as a laggard), and is tried again on the next record or heartbeat tick; what current() returns
 * is frozen. Kafka being down never stops an instance: it starts with the last state it could read
 * (or the initial one) and keeps serving with its current state while heartbeats fail quietly.
 *
 * Its parts: subscriberSettings (the options, checked), StateApplier (candidates and their
 * application), HeartbeatSender (the heartbeats, one send at a time), ControlStateSubscriber (start,
 * the tick, stop).
 */
import { hostname } from 'node:os';
import type { Kafka, Producer } from 'kafkajs';
import { ENV_NAME_PATTERN } from '../contract/index.js';
import { createLogger, type Logger } from '../kit/logger.js';
import { InvalidControlStateError } from './errors.js';
import type { ControlState, Heartbeat } from './model.js';
import { followControlStates, type ControlRecord, type ControlStatesRead } from './reader.js';
import { describeIssues, encodeHeartbeat } from './wire/codec.js';
import { HEARTBEAT_TOPIC, controlStateSchema } from './wire/schema.js';

/** Options of createControlStateClient. */
export interface ControlStateClientOptions {
  kafka: Kafka;
  /** The environment whose state this instance applies. */
  env: string;
  /** What the instance is (writer-cassandra, writer-dynamodb, query, ...): shown in heartbeats and acknowledgement errors. */
  role: string;
  /** Unique per process; default `<role>-<host>-<pid>-<random>`. A reused id must not run twice at once. */
  instanceId?: string;
  /** Heartbeat period, ms (default 1000); an instance silent for 3 periods counts as gone. */
  heartbeatIntervalMs?: number;
  /** The state to run with until a newer one is read (usually initialControlState(env, retention)). */
  initial: ControlState;
  logger?: Logger;
  /**
   * Called (and awaited) before a new version becomes current. If it throws, the version is not
   * applied and not acknowledged; the client tries again on the next record or heartbeat tick.
   */
  onChange?: (next: ControlState, prev: ControlState) => void | Promise<void>;
  /** How long start() waits to read the control topic to its end before starting anyway, ms (default 10 000). */
  startTimeoutMs?: number;
}

/** A data-plane instance's view of its environment's control state. */
export interface ControlStateClient {
  /** This instance's id, as announced in heartbeats. */
  readonly instanceId: string;
  /** Reads the control topic to its end (or until the start timeout), applies the newest state, starts heartbeats. */
  start(): Promise<void>;
  /** The state applied now (frozen). */
  current(): ControlState;
  /** The version applied now. */
  appliedVersion(): number;
  /** Stops reading, sends a last heartbeat with alive=false and disconnects. */
  stop(): Promise<void>;
}

// A failing dependency is reported at once, then at most this often, so logs stay readable when Kafka is down for hours.
const REPEAT_WARNING_MS = 30_000;
const FINAL_HEARTBEAT_TIMEOUT_MS = 3000;

/** Builds a control-state client; call start() before serving. Invalid options throw InvalidControlStateError. */
export function createControlStateClient(opts: ControlStateClientOptions): ControlStateClient {
  return new ControlStateSubscriber(opts, subscriberSettings(opts));
}

// ---- The options, checked ----

/** What a client runs with, once its options are checked. */
interface SubscriberSettings {
  instanceId: string;
  heartbeatIntervalMs: number;
  startTimeoutMs: number;
  initial: ControlState;
}

/** The options' defaults filled in and every problem named at once (InvalidControlStateError). */
function subscriberSettings(opts: ControlStateClientOptions): SubscriberSettings {
  const { env, role } = opts;
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 1000;
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const problems: string[] = [];
  if (!ENV_NAME_PATTERN.test(env)) problems.push(`env ${JSON.stringify(env)} must match ${ENV_NAME_PATTERN}`);
  if (role.length === 0) problems.push('role must not be empty');
  if (opts.instanceId !== undefined && opts.instanceId.length === 0) problems.push('instanceId must not be empty');
  if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs <= 0)
    problems.push(`heartbeatIntervalMs must be a positive integer, got ${heartbeatIntervalMs}`);
  if (!(startTimeoutMs >= 0)) problems.push(`startTimeoutMs must be >= 0, got ${startTimeoutMs}`);
  const initial = controlStateSchema.safeParse(opts.initial);
  if (!initial.success) problems.push(`initial state is invalid: ${describeIssues(initial.error)}`);
  else if (initial.data.env !== env) problems.push(`initial state is for env ${initial.data.env}, not ${env}`);
  if (problems.length > 0 || !initial.success) throw new InvalidControlStateError(`createControlStateClient: ${problems.join('; ')}`);
  const instanceId = opts.instanceId ?? `${role}-${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  return { instanceId, heartbeatIntervalMs, startTimeoutMs, initial: initial.data };
}

// ---- Applying states ----

/**
 * The state applied now and the newest newer one read (the candidate). Applications run one at a
 * time, in order; a record arriving mid-onChange waits its turn.
 */
class StateApplier {
  private applied: ControlState;
  private candidate: ControlState | undefined;
  // Where the candidate came from: its offset and the publisher its record names.
  private candidateFrom = { offset: '-1', publisher: 'unknown' };
  private chain: Promise<void> = Promise.resolve();
  private readonly failedApply = { version: -1, lastLoggedAt: 0 };

  constructor(
    initial: ControlState,
    private readonly deps: {
      log: Logger;
      onChange: ControlStateClientOptions['onChange'];
      /** True once the client stops: nothing more is applied. */
      stopped: () => boolean;
      /** Called after each application: the acknowledgement. */
      applied: () => void;
    },
  ) {
    this.applied = deepFreeze(initial);
  }

  current(): ControlState {
    return this.applied;
  }

  /** The version start() would apply: the candidate's, or the applied one's. */
  newestVersion(): number {
    return this.candidate?.version ?? this.applied.version;
  }

  hasCandidate(): boolean {
    return this.candidate !== undefined;
  }

  /** Takes this env's records (in topic order): a newer valid state becomes the candidate; the rest are logged and ignored. */
  offer(records: readonly ControlRecord[]): void {
    const { log } = this.deps;
    for (const r of records) {
      if (r.kind === 'tombstone') {
        log.info({ action: 'control-tombstone-ignored', offset: r.offset }, 'ignoring a tombstone for this env; keeping the current state');
      } else if (r.kind === 'invalid' && r.stateEnv !== undefined) {
        log.warn(
          { action: 'control-record-invalid', offset: r.offset, key: r.key, stateEnv: r.stateEnv },
          'ignoring a control record whose key and env disagree',
        );
      } else if (r.kind === 'invalid') {
        log.warn({ action: 'control-record-invalid', offset: r.offset, key: r.key, reason: r.reason }, 'ignoring an invalid control record');
      } else if (r.state.version > this.newestVersion()) {
        this.candidate = r.state;
        this.candidateFrom = { offset: r.offset, publisher: r.publisher };
      }
    }
  }

  /** Queues an application of the candidate (if any is newer by then); resolves when it has run. */
  schedule(): Promise<void> {
    this.chain = this.chain.then(() => this.applyCandidate());
    return this.chain;
  }

  /** Resolves once every queued application has run. */
  settled(): Promise<void> {
    return this.chain;
  }

  private async applyCandidate(): Promise<void> {
    const next = this.candidate;
    const from = this.candidateFrom;
    if (next === undefined || next.version <= this.applied.version || this.deps.stopped()) return;
    const prev = this.applied;
    try {
      await this.deps.onChange?.(next, prev);
    } catch (err) {
      this.applyFailed(next, prev, err);
      return;
    }
    this.applied = deepFreeze(next);
    if (this.candidate === next) this.candidate = undefined;
    this.deps.log.info(
      {
        action: 'control-state-applied',
        version: next.version,
        previousVersion: prev.version,
        reason: next.reason,
        offset: from.offset,
        publishedBy: from.publisher,
      },
      'applied control state',
    );
    // Acknowledge at once rather than at the next tick: the control plane is waiting on it.
    this.deps.applied();
  }

  /** Not applied, so not acknowledged: the control plane sees this instance lag and names it. Logged once per version and interval. */
  private applyFailed(next: ControlState, prev: ControlState, err: unknown): void {
    const now = Date.now();
    if (this.failedApply.version === next.version && now - this.failedApply.lastLoggedAt < REPEAT_WARNING_MS) return;
    this.deps.log.error(
      { action: 'control-state-apply-failed', version: next.version, appliedVersion: prev.version, err: (err as Error).message },
      'onChange failed; keeping the current state and retrying',
    );
    this.failedApply.version = next.version;
    this.failedApply.lastLoggedAt = now;
  }
}

// ---- Heartbeats ----

/** The instance's heartbeats: at most one send in flight; a request made meanwhile is sent right after it. */
class HeartbeatSender {
  private readonly producer: Producer;
  private producerConnected = false;
  private sending: Promise<void> | undefined;
  private sendAgain = false;
  private readonly failure = { since: undefined as number | undefined, lastWarnAt: 0 };

  constructor(
    kafka: Kafka,
    private readonly who: { instanceId: string; role: string; env: string; intervalMs: number },
    private readonly deps: {
      log: Logger;
      appliedVersion: () => number;
      /** Whether heartbeats are due (started and not stopped). */
      active: () => boolean;
    },
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 } });
  }

  /** Sends a heartbeat now (or right after the one in flight); failures are logged, never thrown. */
  beat(): void {
    if (!this.deps.active()) return;
    if (this.sending) {
      this.sendAgain = true;
      return;
    }
    this.sending = this.sendUntilCurrent().finally(() => (this.sending = undefined));
  }

  /** Resolves once no heartbeat is in flight. */
  async settled(): Promise<void> {
    await this.sending;
  }

  /** The last heartbeat (alive=false), so the control plane stops waiting for this instance at once, not after 3 silent intervals. */
  async goodbye(): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const bye = this.send(false).then(
      () => true,
      (err: unknown) => {
        this.deps.log.warn(
          { action: 'final-heartbeat-failed', err: (err as Error).message },
          'could not send the final heartbeat; the instance will count as gone after 3 intervals',
        );
        return true;
      },
    );
    const done = await Promise.race([bye, new Promise<false>((r) => (t = setTimeout(() => r(false), FINAL_HEARTBEAT_TIMEOUT_MS)))]);
    clearTimeout(t);
    if (!done) this.deps.log.warn({ action: 'final-heartbeat-timeout' }, 'the final heartbeat timed out');
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }

  private async send(alive: boolean): Promise<void> {
    if (!this.producerConnected) {
      await this.producer.connect();
      this.producerConnected = true;
    }
    const { instanceId, role, env, intervalMs } = this.who;
    const hb: Heartbeat = { instanceId, role, env, appliedVersion: this.deps.appliedVersion(), at: Date.now(), intervalMs, alive };
    await this.producer.send({ topic: HEARTBEAT_TOPIC, acks: 1, timeout: 5000, messages: [{ key: instanceId, value: encodeHeartbeat(hb) }] });
  }

  private async sendUntilCurrent(): Promise<void> {
    do {
      this.sendAgain = false;
      try {
        await this.send(true);
        if (this.failure.since !== undefined)
          this.deps.log.info({ action: 'heartbeat-resumed', failedForMs: Date.now() - this.failure.since }, 'heartbeats are being delivered again');
        this.failure.since = undefined;
      } catch (err) {
        this.sendFailed(err);
      }
    } while (this.sendAgain && this.deps.active());
  }

  /** A failed heartbeat is reported at once, then at most every REPEAT_WARNING_MS (debug in between). */
  private sendFailed(err: unknown): void {
    const now = Date.now();
    const fields = { action: 'heartbeat-failed', err: (err as Error).message, appliedVersion: this.deps.appliedVersion() };
    if (this.failure.since === undefined || now - this.failure.lastWarnAt >= REPEAT_WARNING_MS) {
      this.deps.log.warn(
        { ...fields, failingForMs: this.failure.since === undefined ? 0 : now - this.failure.since },
        'cannot send heartbeats; serving on with the current state',
      );
      this.failure.lastWarnAt = now;
    } else this.deps.log.debug(fields, 'heartbeat failed');
    this.failure.since ??= now;
  }
}

// ---- The client ----

/** One instance's subscription: the read of the control topic, the applier, the heartbeats and the tick that drives both. */
class ControlStateSubscriber implements ControlStateClient {
  readonly instanceId: string;
  private readonly log: Logger;
  private readonly states: StateApplier;
  private readonly heartbeats: HeartbeatSender;
  private stopped = false;
  private startupDone = false;
  private read: ControlStatesRead | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private wakeStart: () => void = () => undefined;
  private readonly stopRequested = new Promise<false>((r) => (this.wakeStart = () => r(false)));

  constructor(
    private readonly opts: ControlStateClientOptions,
    private readonly settings: SubscriberSettings,
  ) {
    const { env, role } = opts;
    this.instanceId = settings.instanceId;
    this.log = (opts.logger ?? createLogger('control-state-client')).child({ env, role, instanceId: this.instanceId, component: 'control-state-client' });
    this.states = new StateApplier(settings.initial, {
      log: this.log,
      onChange: opts.onChange,
      stopped: () => this.stopped,
      applied: () => this.heartbeats.beat(),
    });
    this.heartbeats = new HeartbeatSender(
      opts.kafka,
      { instanceId: this.instanceId, role, env, intervalMs: settings.heartbeatIntervalMs },
      { log: this.log, appliedVersion: () => this.states.current().version, active: () => !this.stopped && this.startupDone },
    );
  }

  current(): ControlState {
    return this.states.current();
  }

  appliedVersion(): number {
    return this.states.current().version;
  }

  start(): Promise<void> {
    this.startPromise ??= this.startOnce();
    return this.startPromise;
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.stopOnce();
    return this.stopPromise;
  }

  private async startOnce(): Promise<void> {
    if (this.stopped) return;
    const t0 = Date.now();
    const caughtUp = await this.catchUp();
    this.startupDone = true;
    await this.states.schedule();
    this.log.info({ action: 'control-state-started', version: this.appliedVersion(), caughtUp, ms: Date.now() - t0 }, 'control state client started');
    if (this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.settings.heartbeatIntervalMs);
    this.heartbeats.beat();
  }

  /** Starts following the control topic and waits until it has been read to its end, the start timeout passes or stop() is called. */
  private async catchUp(): Promise<boolean> {
    const { startTimeoutMs } = this.settings;
    // A group of its own: every instance must read every record, never share the partition.
    const read = followControlStates({
      kafka: this.opts.kafka,
      env: this.opts.env,
      groupId: `switchyard.control-reader.${this.instanceId}`,
      logger: this.log,
      onRecords: (records) => {
        this.states.offer(records);
        if (this.startupDone) void this.states.schedule();
      },
    });
    this.read = read;
    let waitTimer: NodeJS.Timeout | undefined;
    const caughtUp = await Promise.race([
      read.caughtUp.then(() => true),
      this.stopRequested,
      new Promise<false>((r) => (waitTimer = setTimeout(() => r(false), startTimeoutMs))),
    ]);
    clearTimeout(waitTimer);
    if (!caughtUp && !this.stopped) {
      this.log.warn(
        { action: 'control-catch-up-timeout', timeoutMs: startTimeoutMs, version: this.states.newestVersion(), err: read.lastError() },
        'could not read the control topic to its end; starting with the newest state read so far and following the topic in the background',
      );
    }
    return caughtUp;
  }

  /** Every heartbeat interval: retry a candidate whose onChange failed, and heartbeat. */
  private tick(): void {
    if (this.states.hasCandidate()) void this.states.schedule();
    this.heartbeats.beat();
  }

  private async stopOnce(): Promise<void> {
    const wasStarted = this.startupDone;
    this.stopped = true;
    this.wakeStart();
    clearInterval(this.timer);
    await this.read?.stop();
    await this.states.settled();
    await this.heartbeats.settled();
    if (wasStarted) await this.heartbeats.goodbye();
    await this.heartbeats.disconnect();
    this.log.info({ action: 'control-state-stopped', version: this.appliedVersion() }, 'control state client stopped');
  }
}

/** Freezes a state and its nested objects, so no consumer of current() can change what others see. */
function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(o);
}
