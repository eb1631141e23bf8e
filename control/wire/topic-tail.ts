/**
 * Reading a small topic from its beginning and then following it, telling when everything that
 * was in the topic at the start has been read. The control channel's readers all need every
 * record, so none may share partitions with another: kafkajs has no group-less consumer, so each
 * reader runs a consumer group of its own. Offsets are never committed — a reader keeps what it
 * read in memory and reads from the beginning again after a restart. The channel's one reader
 * (../reader.ts) is built on it; nothing else reads the channel's topics.
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../kit/logger.js';

/** Options of tailTopic. */
export interface TopicTailOptions {
  kafka: Kafka;
  topic: string;
  /** A consumer group id no other reader uses. */
  groupId: string;
  /** Receives each fetched batch in topic order; awaited before the next batch. Must not throw (a throw is logged and the batch skipped). */
  onMessages: (messages: KafkaMessage[]) => void | Promise<void>;
  logger: Logger;
  /** Delete the (by then empty) consumer group on stop: readers with a throwaway group id set this. */
  deleteGroupOnStop?: boolean;
  /** Longest time a fetch waits for new records (a fetch returns at once when one arrives). Default 500 ms. */
  maxWaitTimeInMs?: number;
  /** Backoff between attempts to (re)connect when Kafka is unreachable. */
  retryBackoffMs?: { initial: number; max: number };
}

/** A running tail. */
export interface TopicTail {
  /** Resolves once every record present when the tail started has been passed to onMessages (never rejects). */
  readonly caughtUp: Promise<void>;
  /** Whether caughtUp has resolved. */
  isCaughtUp(): boolean;
  /** The last error that kept the tail from reading, until it reads again. */
  lastError(): string | undefined;
  /** Stops reading, leaves the group (and deletes it if asked) and disconnects. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5000;
// A broker that stays down is reported at once, then at most this often (debug in between).
const REPEAT_WARNING_MS = 30_000;

/** Starts reading `topic` from its beginning in the background; never throws, retries until stopped. */
export function tailTopic(opts: TopicTailOptions): TopicTail {
  const { kafka, topic, groupId, logger } = opts;
  const log = logger.child({ topic, groupId });
  const backoff = opts.retryBackoffMs ?? { initial: 500, max: 10_000 };
  const admin: Admin = kafka.admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 } });
  let consumer: Consumer | undefined;
  let stopped = false;
  let wake: () => void = () => undefined;
  const stopSignal = new Promise<void>((r) => (wake = r));
  let lastError: string | undefined;
  const failure = { since: undefined as number | undefined, lastWarnAt: 0 };
  let caughtUp = false;
  let resolveCaughtUp: () => void = () => undefined;
  const caughtUpPromise = new Promise<void>((r) => (resolveCaughtUp = r));
  // The end offset of each partition when the tail started; undefined until fetched.
  let pending: Map<number, number> | undefined;

  const markCaughtUp = (): void => {
    if (caughtUp) return;
    caughtUp = true;
    resolveCaughtUp();
  };

  const progress = (partition: number, lastOffset: string): void => {
    const end = pending?.get(partition);
    if (end !== undefined && Number(lastOffset) + 1 >= end) pending?.delete(partition);
    if (pending?.size === 0) markCaughtUp();
  };

  const sleepUnlessStopped = async (ms: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopSignal, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  };

  const attempt = async (): Promise<void> => {
    if (pending === undefined) {
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(topic);
      // A partition whose log is empty (high = low) has nothing to catch up on.
      pending = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]));
      if (pending.size === 0) markCaughtUp();
    }
    const c = kafka.consumer({
      groupId,
      // Never create the topic by reading it: an auto-created topic would get the broker's default (delete) policy.
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: opts.maxWaitTimeInMs ?? 500,
      sessionTimeout: 10_000,
      heartbeatInterval: 3000,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 },
    });
    consumer = c;
    // kafkajs restarts a consumer itself after retriable failures; a crash it gives up on ends this attempt.
    const crashed = new Promise<Error>((resolve) => {
      c.on(c.events.CRASH, (e) => {
        if (!e.payload.restart) resolve(e.payload.error);
      });
    });
    // Emitted after each batch, including batches that compaction left empty, so gaps in offsets still count as read.
    c.on(c.events.END_BATCH_PROCESS, (e) => progress(e.payload.partition, e.payload.lastOffset));
    try {
      await c.connect();
      if (stopped) return;
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          lastError = undefined;
          if (failure.since !== undefined) {
            log.info({ action: 'tail-resumed', failedForMs: Date.now() - failure.since }, 'reading the topic again');
            failure.since = undefined;
          }
          try {
            await opts.onMessages(batch.messages);
          } catch (err) {
            log.error({ action: 'tail-handler-failed', err: (err as Error).message }, 'record handler threw; batch skipped');
          }
        },
      });
      const outcome = await Promise.race([crashed, stopSignal]);
      if (outcome instanceof Error) throw outcome;
    } finally {
      consumer = undefined;
      await c.disconnect().catch(() => undefined);
    }
  };

  const loop = (async () => {
    let delay = backoff.initial;
    while (!stopped) {
      try {
        await attempt();
        delay = backoff.initial;
      } catch (err) {
        if (stopped) break;
        lastError = (err as Error).message;
        const now = Date.now();
        const fields = { action: 'tail-failed', err: lastError, retryInMs: delay, failingForMs: now - (failure.since ?? now) };
        if (failure.since === undefined || now - failure.lastWarnAt >= REPEAT_WARNING_MS) {
          log.warn(fields, 'cannot read the topic; retrying');
          failure.lastWarnAt = now;
        } else log.debug(fields, 'cannot read the topic; retrying');
        failure.since ??= now;
        await sleepUnlessStopped(delay);
        delay = Math.min(delay * 2, backoff.max);
      }
    }
  })();

  return {
    caughtUp: caughtUpPromise,
    isCaughtUp: () => caughtUp,
    lastError: () => lastError,
    async stop() {
      if (stopped) return;
      stopped = true;
      wake();
      await consumer?.disconnect().catch(() => undefined);
      // A consumer stuck connecting to a dead broker must not hold up shutdown.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([loop, new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
      clearTimeout(timer);
      if (opts.deleteGroupOnStop) {
        // Only this reader's own group: the id is unique to it, and Kafka refuses to delete a group with members.
        await admin
          .deleteGroups([groupId])
          .catch((err: unknown) => log.debug({ action: 'delete-group-failed', err: (err as Error).message }, 'could not delete the reader group'));
      }
      await admin.disconnect().catch(() => undefined);
    },
  };
}
