/**
 * Errors of the control channel. Like kafkajs' errors, each carries `retriable`: whether trying
 * the same call again can help (Temporal activities map that to their retry policy).
 */
import { ActivityFailureType } from '../contract/index.js';

/** A control state, or the options of a control-channel call, fail validation: retrying cannot help. */
export class InvalidControlStateError extends Error {
  /** Retrying the same input gives the same answer. */
  readonly retriable = false;
  override readonly name = ActivityFailureType.invalidControlState;
}

/** A control-channel topic could not be read to its end in time (Kafka down or slow). */
export class ControlReadTimeoutError extends Error {
  /** Kafka may be back on the next attempt. */
  readonly retriable = true;
  override readonly name = 'ControlReadTimeoutError';
  constructor(
    /** The topic that could not be read. */
    readonly topic: string,
    /** How long the read was given, ms. */
    readonly timeoutMs: number,
    /** The last error the reader met, if any. */
    readonly lastError?: string,
  ) {
    super(`could not read ${topic} to its end within ${timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}`);
  }
}

/** A live instance that had not acknowledged the awaited version when the wait ended. */
export interface Laggard {
  instanceId: string;
  role: string;
  /** The version it reported last. */
  appliedVersion: number;
  /** How long ago its last heartbeat was sent, ms. */
  lastHeartbeatAgoMs: number;
}

/**
 * Not every live instance of an environment acknowledged a control-state version in time. The
 * message names each laggard (instance, role, applied version): it is what the console shows.
 */
export class AcknowledgementTimeoutError extends Error {
  /** The laggards may catch up (or die and stop counting) by the next attempt. */
  readonly retriable = true;
  override readonly name = 'AcknowledgementTimeoutError';
  constructor(
    /** The environment waited on. */
    readonly env: string,
    /** The version waited for. */
    readonly version: number,
    /** The live instances that had not applied it (empty when the heartbeats could not be read at all). */
    readonly laggards: Laggard[],
    /** How long the wait lasted, ms. */
    readonly timeoutMs: number,
    /** Set when the heartbeat topic itself could not be read to its end. */
    readonly readFailure?: string,
  ) {
    super(
      readFailure !== undefined
        ? `env ${env}: could not confirm version ${version} within ${timeoutMs} ms: ${readFailure}`
        : `env ${env}: ${laggards.length} live instance(s) did not acknowledge version ${version} within ${timeoutMs} ms: ` +
            laggards
              .map((l) => `${l.instanceId} (role ${l.role}, applies version ${l.appliedVersion}, last heartbeat ${l.lastHeartbeatAgoMs} ms ago)`)
              .join(', '),
    );
  }
}
