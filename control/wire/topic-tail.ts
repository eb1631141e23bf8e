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
  return new Tail(opts);
}

/** A tail's state: the consumer of the current attempt, what is left to catch up on, the last failure. */
class Tail implements TopicTail {
  readonly caughtUp: Promise<void>;
  private resolveCaughtUp: () => void = () => undefined;
  private done = false;
  private readonly log: Logger;
  private readonly admin: Admin;
  private consumer: Consumer | undefined;
  private stopped = false;
  private wake: () => void = () => undefined;
  private readonly stopSignal: Promise<void>;
  private failureMessage: string | undefined;
  private readonly failure = { since: undefined as number | undefined, lastWarnAt: 0 };
  // The end offset of each partition when the tail started; undefined until fetched.
  private pending: Map<number, number> | undefined;
  private readonly loop: Promise<void>;

  constructor(private readonly opts: TopicTailOptions) {
    this.log = opts.logger.child({ topic: opts.topic, groupId: opts.groupId });
    this.admin = opts.kafka.admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 } });
    this.stopSignal = new Promise<void>((r) => (this.wake = r));
    this.caughtUp = new Promise<void>((r) => (this.resolveCaughtUp = r));
    this.loop = this.run();
  }

  isCaughtUp(): boolean {
    return this.done;
  }

  lastError(): string | undefined {
    return this.failureMessage;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    await this.consumer?.disconnect().catch(() => undefined);
    // A consumer stuck connecting to a dead broker must not hold up shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    if (this.opts.deleteGroupOnStop) {
      // Only this reader's own group: the id is unique to it, and Kafka refuses to delete a group with members.
      await this.admin
        .deleteGroups([this.opts.groupId])
        .catch((err: unknown) => this.log.debug({ action: 'delete-group-failed', err: (err as Error).message }, 'could not delete the reader group'));
    }
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Attempts to read until stopped, backing off (doubling, up to the maximum) after each failure. */
  private async run(): Promise<void> {
    const backoff = this.opts.retryBackoffMs ?? { initial: 500, max: 10_000 };
    let delay = backoff.initial;
    while (!this.stopped) {
      try {
        await this.attempt();
        delay = backoff.initial;
      } catch (err) {
        if (this.stopped) break;
        this.attemptFailed(err, delay);
        await this.sleepUnlessStopped(delay);
        delay = Math.min(delay * 2, backoff.max);
      }
    }
  }

  /** One consumer's life: join, read batch after batch, until it crashes or the tail stops. */
  private async attempt(): Promise<void> {
    if (this.pending === undefined) await this.fetchEnds();
    const c = this.newConsumer();
    this.consumer = c;
    // kafkajs restarts a consumer itself after retriable failures; a crash it gives up on ends this attempt.
    const crashed = new Promise<Error>((resolve) => {
      c.on(c.events.CRASH, (e) => {
        if (!e.payload.restart) resolve(e.payload.error);
      });
    });
    // Emitted after each batch, including batches that compaction left empty, so gaps in offsets still count as read.
    c.on(c.events.END_BATCH_PROCESS, (e) => this.progress(e.payload.partition, e.payload.lastOffset));
    try {
      await c.connect();
      if (this.stopped) return;
      await c.subscribe({ topic: this.opts.topic, fromBeginning: true });
      await c.run({ autoCommit: false, eachBatch: async ({ batch }) => this.onBatch(batch.messages) });
      const outcome = await Promise.race([crashed, this.stopSignal]);
      if (outcome instanceof Error) throw outcome;
    } finally {
      this.consumer = undefined;
      await c.disconnect().catch(() => undefined);
    }
  }

  /** The end offset of each partition now: what the tail must read before it has caught up. */
  private async fetchEnds(): Promise<void> {
    await this.admin.connect();
    const ends = await this.admin.fetchTopicOffsets(this.opts.topic);
    // A partition whose log is empty (high = low) has nothing to catch up on.
    this.pending = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high)]));
    if (this.pending.size === 0) this.markCaughtUp();
  }

  private newConsumer(): Consumer {
    return this.opts.kafka.consumer({
      groupId: this.opts.groupId,
      // Never create the topic by reading it: an auto-created topic would get the broker's default (delete) policy.
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.opts.maxWaitTimeInMs ?? 500,
      sessionTimeout: 10_000,
      heartbeatInterval: 3000,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 },
    });
  }

  private async onBatch(messages: KafkaMessage[]): Promise<void> {
    this.failureMessage = undefined;
    if (this.failure.since !== undefined) {
      this.log.info({ action: 'tail-resumed', failedForMs: Date.now() - this.failure.since }, 'reading the topic again');
      this.failure.since = undefined;
    }
    try {
      await this.opts.onMessages(messages);
    } catch (err) {
      this.log.error({ action: 'tail-handler-failed', err: (err as Error).message }, 'record handler threw; batch skipped');
    }
  }

  /** A failed attempt is reported at once, then at most every REPEAT_WARNING_MS (debug in between). */
  private attemptFailed(err: unknown, retryInMs: number): void {
    this.failureMessage = (err as Error).message;
    const now = Date.now();
    const fields = { action: 'tail-failed', err: this.failureMessage, retryInMs, failingForMs: now - (this.failure.since ?? now) };
    if (this.failure.since === undefined || now - this.failure.lastWarnAt >= REPEAT_WARNING_MS) {
      this.log.warn(fields, 'cannot read the topic; retrying');
      this.failure.lastWarnAt = now;
    } else this.log.debug(fields, 'cannot read the topic; retrying');
    this.failure.since ??= now;
  }

  private markCaughtUp(): void {
    if (this.done) return;
    this.done = true;
    this.resolveCaughtUp();
  }

  private progress(partition: number, lastOffset: string): void {
    const end = this.pending?.get(partition);
    if (end !== undefined && Number(lastOffset) + 1 >= end) this.pending?.delete(partition);
    if (this.pending?.size === 0) this.markCaughtUp();
  }

  private async sleepUnlessStopped(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.stopSignal, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }
}
