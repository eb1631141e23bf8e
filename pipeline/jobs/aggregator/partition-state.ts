/**
 * What the aggregator holds for each partition it owns: the partition's windows, the points and
 * dead letters produced but not yet acknowledged by Kafka, and when it last heard from the
 * partition. Batch processing and idle closes of one partition never overlap: each runs under the
 * partition's lock.
 */
import type { Message } from 'kafkajs';
import type { MetricPoint } from '../../kernel/model/metric-point.js';
import type { PartitionWindows } from './partition-windows.js';

/** One owned partition's windows and unpublished output. */
export interface PartitionState {
  windows: PartitionWindows;
  /** Points and dead letters produced but not yet acknowledged by Kafka. */
  pendingPoints: MetricPoint[];
  pendingDeadLetters: Message[];
  lastMessageAt: number;
  /**
   * The last batch reached the partition's end as the broker reported it (its high watermark): a
   * partition with a backlog is slow, not idle, and its windows must not close on the clock.
   */
  caughtUp: boolean;
  /** Serialises batch processing and idle ticks on this partition. */
  lock: Promise<void>;
}

/** A partition's state as it is taken over: its windows, nothing pending, heard from now. */
export function newPartitionState(windows: PartitionWindows, now: number): PartitionState {
  return { windows, pendingPoints: [], pendingDeadLetters: [], lastMessageAt: now, caughtUp: false, lock: Promise.resolve() };
}

/**
 * Whether a partition's windows may close on the clock: no message for idleMs, and its last batch
 * had reached the partition's end. Without the second rule a partition that merely waited for
 * its turn while a backlog drains (its last batch ended before the end of the log) would close its
 * windows early, and its next observations would be late.
 */
export function idleClosable(st: Pick<PartitionState, 'lastMessageAt' | 'caughtUp'>, now: number, idleMs: number): boolean {
  return st.caughtUp && now - st.lastMessageAt >= idleMs;
}

/** Runs fn once every earlier holder of the partition's lock is done. */
export async function withLock<T>(st: PartitionState, fn: () => Promise<T>): Promise<T> {
  const prev = st.lock;
  let release!: () => void;
  st.lock = new Promise<void>((r) => (release = r));
  await prev;
  try {
    return await fn();
  } finally {
    release();
  }
}
