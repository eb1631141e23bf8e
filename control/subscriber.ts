/**
 * The data plane's end of the control channel. Every writer and query-service instance runs one:
 * it reads `switchyard.control` from the beginning and follows it, applies each newer version of
 * its environment's state (through the instance's onChange), and announces the version it applies
 * on `switchyard.heartbeats`, which is what the control plane waits on.
 *
 * Kafka being down never stops an instance: it starts with the last state it could read (or the
 * initial one) and keeps serving with its current state while heartbeats fail quietly.
 */
import { hostname } from 'node:os';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { ENV_NAME_PATTERN } from '../../contract/index.js';
import { createLogger, type Logger } from '../../kit/logger.js';
import { decodeControlState, describeIssues, encodeHeartbeat } from '../kernel/control/control-codec.js';
import { InvalidControlStateError } from '../kernel/control/control-errors.js';
import {
  CONTROL_PUBLISHER_HEADER,
  CONTROL_TOPIC,
  HEARTBEAT_TOPIC,
  controlStateSchema,
  type ControlState,
  type Heartbeat,
} from '../kernel/control/control-state.js';
import { tailTopic, type TopicTail } from '../kernel/control/topic-tail.js';

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
  const { kafka, env, role } = opts;
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
  const log = (opts.logger ?? createLogger('control-state-client')).child({ env, role, instanceId, component: 'control-state-client' });

  let applied: ControlState = deepFreeze(initial.data);
  // The newest valid state read that is newer than `applied` and not yet applied.
  let candidate: ControlState | undefined;
  let applyChain: Promise<void> = Promise.resolve();
  let startupDone = false;
  // Where the candidate came from: its offset and the publisher its record names.
  let candidateFrom = { offset: '-1', publisher: 'unknown' };
  let stopped = false;
  let tail: TopicTail | undefined;
  let timer: NodeJS.Timeout | undefined;
  let startPromise: Promise<void> | undefined;
  let stopPromise: Promise<void> | undefined;
  const failedApply = { version: -1, lastLoggedAt: 0 };
  let wakeStart: () => void = () => undefined;
  const stopRequested = new Promise<false>((r) => (wakeStart = () => r(false)));

  const offer = (messages: KafkaMessage[]): void => {
    for (const m of messages) {
      const key = m.key?.toString('utf8');
      // Records of other environments are none of this instance's business, valid or not.
      if (key !== undefined && key !== env) continue;
      if (m.value === null) {
        log.info({ action: 'control-tombstone-ignored', offset: m.offset }, 'ignoring a tombstone for this env; keeping the current state');
        continue;
      }
      const decoded = decodeControlState(m.value);
      if (!decoded.ok) {
        log.warn({ action: 'control-record-invalid', offset: m.offset, key, reason: decoded.reason }, 'ignoring an invalid control record');
        continue;
      }
      const state = decoded.value;
      if (state.env !== env || key !== env) {
        log.warn({ action: 'control-record-invalid', offset: m.offset, key, stateEnv: state.env }, 'ignoring a control record whose key and env disagree');
        continue;
      }
      if (state.version > (candidate?.version ?? applied.version)) {
        candidate = state;
        candidateFrom = { offset: m.offset, publisher: m.headers?.[CONTROL_PUBLISHER_HEADER]?.toString() ?? 'unknown (no publisher header)' };
      }
    }
    if (startupDone) void scheduleApply();
  };

  // Applications run one at a time, in order; a record arriving mid-onChange waits its turn.
  const scheduleApply = (): Promise<void> => (applyChain = applyChain.then(applyCandidate));

  const applyCandidate = async (): Promise<void> => {
    const next = candidate;
    const from = candidateFrom;
    if (next === undefined || next.version <= applied.version || stopped) return;
    const prev = applied;
    try {
      await opts.onChange?.(next, prev);
    } catch (err) {
      // Not applied, so not acknowledged: the control plane sees this instance lag and names it.
      const now = Date.now();
      if (failedApply.version !== next.version || now - failedApply.lastLoggedAt >= REPEAT_WARNING_MS) {
        log.error(
          { action: 'control-state-apply-failed', version: next.version, appliedVersion: prev.version, err: (err as Error).message },
          'onChange failed; keeping the current state and retrying',
        );
        failedApply.version = next.version;
        failedApply.lastLoggedAt = now;
      }
      return;
    }
    applied = deepFreeze(next);
    if (candidate === next) candidate = undefined;
    log.info(
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
    beat();
  };

  // Heartbeats: at most one send in flight; a request made meanwhile is sent right after it.
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 } });
  let producerConnected = false;
  let sending: Promise<void> | undefined;
  let sendAgain = false;
  const beatFailure = { since: undefined as number | undefined, lastWarnAt: 0 };

  const sendHeartbeat = async (alive: boolean): Promise<void> => {
    if (!producerConnected) {
      await producer.connect();
      producerConnected = true;
    }
    const hb: Heartbeat = { instanceId, role, env, appliedVersion: applied.version, at: Date.now(), intervalMs: heartbeatIntervalMs, alive };
    await producer.send({ topic: HEARTBEAT_TOPIC, acks: 1, timeout: 5000, messages: [{ key: instanceId, value: encodeHeartbeat(hb) }] });
  };

  const beat = (): void => {
    if (stopped || !startupDone) return;
    if (sending) {
      sendAgain = true;
      return;
    }
    sending = (async () => {
      do {
        sendAgain = false;
        try {
          await sendHeartbeat(true);
          if (beatFailure.since !== undefined)
            log.info({ action: 'heartbeat-resumed', failedForMs: Date.now() - beatFailure.since }, 'heartbeats are being delivered again');
          beatFailure.since = undefined;
        } catch (err) {
          const now = Date.now();
          const fields = { action: 'heartbeat-failed', err: (err as Error).message, appliedVersion: applied.version };
          if (beatFailure.since === undefined || now - beatFailure.lastWarnAt >= REPEAT_WARNING_MS) {
            log.warn(
              { ...fields, failingForMs: beatFailure.since === undefined ? 0 : now - beatFailure.since },
              'cannot send heartbeats; serving on with the current state',
            );
            beatFailure.lastWarnAt = now;
          } else log.debug(fields, 'heartbeat failed');
          beatFailure.since ??= now;
        }
      } while (sendAgain && !stopped);
    })().finally(() => (sending = undefined));
  };

  const tick = (): void => {
    if (candidate !== undefined) void scheduleApply();
    beat();
  };

  return {
    instanceId,
    current: () => applied,
    appliedVersion: () => applied.version,

    start() {
      startPromise ??= (async () => {
        if (stopped) return;
        const t0 = Date.now();
        // A group of its own: every instance must read every record, never share the partition.
        tail = tailTopic({
          kafka,
          topic: CONTROL_TOPIC,
          groupId: `switchyard.control-reader.${instanceId}`,
          logger: log,
          onMessages: offer,
          deleteGroupOnStop: true,
        });
        let waitTimer: NodeJS.Timeout | undefined;
        const caughtUp = await Promise.race([
          tail.caughtUp.then(() => true),
          stopRequested,
          new Promise<false>((r) => (waitTimer = setTimeout(() => r(false), startTimeoutMs))),
        ]);
        clearTimeout(waitTimer);
        if (!caughtUp && !stopped) {
          log.warn(
            { action: 'control-catch-up-timeout', timeoutMs: startTimeoutMs, version: candidate?.version ?? applied.version, err: tail.lastError() },
            'could not read the control topic to its end; starting with the newest state read so far and following the topic in the background',
          );
        }
        startupDone = true;
        await scheduleApply();
        log.info({ action: 'control-state-started', version: applied.version, caughtUp, ms: Date.now() - t0 }, 'control state client started');
        if (stopped) return;
        timer = setInterval(tick, heartbeatIntervalMs);
        beat();
      })();
      return startPromise;
    },

    stop() {
      stopPromise ??= (async () => {
        const wasStarted = startupDone;
        stopped = true;
        wakeStart();
        clearInterval(timer);
        await tail?.stop();
        await applyChain;
        await sending;
        if (wasStarted) {
          // Say goodbye so the control plane stops waiting for this instance at once, not after 3 silent intervals.
          let t: NodeJS.Timeout | undefined;
          const bye = sendHeartbeat(false).then(
            () => true,
            (err: unknown) => {
              log.warn(
                { action: 'final-heartbeat-failed', err: (err as Error).message },
                'could not send the final heartbeat; the instance will count as gone after 3 intervals',
              );
              return true;
            },
          );
          const done = await Promise.race([bye, new Promise<false>((r) => (t = setTimeout(() => r(false), FINAL_HEARTBEAT_TIMEOUT_MS)))]);
          clearTimeout(t);
          if (!done) log.warn({ action: 'final-heartbeat-timeout' }, 'the final heartbeat timed out');
        }
        await producer.disconnect().catch(() => undefined);
        log.info({ action: 'control-state-stopped', version: applied.version }, 'control state client stopped');
      })();
      return stopPromise;
    },
  };
}

/** Freezes a state and its nested objects, so no consumer of current() can change what others see. */
function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(o);
}
