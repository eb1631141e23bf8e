/**
 * The console's end of the control channel: it watches and never writes. It follows both topics
 * from their beginning (reader.ts), each with a group of its own named after the console process,
 * so it can say at any moment which instances are live, which control-state version each applies,
 * and the latest state published for each environment.
 *
 * Invariants: reading never blocks a caller (every answer comes from what has been read so far;
 * caughtUp() says whether that is everything the topics held when the observer started); Kafka
 * being unreachable is reported by problem(), never thrown; stop() removes both groups.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../kit/logger.js';
import type { ControlState, Heartbeat } from './model.js';
import { followControlStates, followHeartbeats, type ControlStatesRead, type HeartbeatsRead } from './reader.js';

/** A running watch of the control channel. */
export interface ControlChannelObserver {
  /** Why a topic cannot be read right now, or undefined. */
  problem(): string | undefined;
  /** The live instances (of one env or all), newest heartbeat each, by instance id. */
  instances(env?: string): Heartbeat[];
  /** The latest control state published for env (as instances apply it), if one has been read. */
  controlState(env: string): ControlState | undefined;
  /** Whether both topics have been read up to what they held when the observer started. */
  caughtUp(): boolean;
  /** Stops reading and removes the observer's groups. */
  stop(): Promise<void>;
}

/** Options of observeControlChannel. */
export interface ObserveControlChannelOptions {
  kafka: Kafka;
  logger: Logger;
  /** Prefix of the observer's two consumer groups (`<prefix>.heartbeats`, `<prefix>.control`); default `switchyard.console.<random>`. */
  groupPrefix?: string;
}

/** Starts watching the control and heartbeat topics in the background. */
export function observeControlChannel(opts: ObserveControlChannelOptions): ControlChannelObserver {
  const { kafka, logger } = opts;
  const prefix = opts.groupPrefix ?? `switchyard.console.${randomUUID().slice(0, 8)}`;
  const heartbeats: HeartbeatsRead = followHeartbeats({ kafka, groupId: `${prefix}.heartbeats`, logger });
  const states: ControlStatesRead = followControlStates({ kafka, groupId: `${prefix}.control`, logger });
  const reads = [heartbeats, states];
  return {
    problem: () => reads.map((r) => r.lastError()).find((e) => e !== undefined),
    instances: (env) => heartbeats.live(Date.now(), env === undefined ? {} : { env }),
    controlState: (env) => states.latest(env),
    caughtUp: () => reads.every((r) => r.isCaughtUp()),
    stop: async () => {
      await Promise.all(reads.map((r) => r.stop()));
    },
  };
}
