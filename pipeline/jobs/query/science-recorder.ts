/**
 * Aggregates science results in memory and flushes them in batches to the control tables:
 * counters per env and minute (atomic ADDs, so several query-service instances add up) and a
 * bounded number of mismatch samples per env and minute (both results and the diff).
 *
 * Recording never throws and never blocks a query: a failed flush keeps the counts and retries
 * at the next flush (up to a bound, after which the oldest minutes are dropped and logged).
 *
 * Every method takes the *scope* of what it records: the environment, or, for a read of an app in
 * a cohort (migrations with cohorts), `<env>#<cohort>` (scienceStatsKey). A cohort's figures are
 * counted twice: in the environment's row, which stays the whole environment's, and in the
 * cohort's own row, which that cohort's gates and rollbacks read. Mismatch samples are kept per
 * environment only.
 *
 * Bad news travels first: a mismatch or a new-store failure brings the next flush forward to
 * within alertFlushDelayMs (default 250 ms), so the control plane's short rollback window sees a
 * burst without waiting out the regular interval. Flushes stay bounded (one per delay at most).
 */
import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MINUTE_MS } from '../../../contract/index.js';
import { minuteOf } from '../../kernel/model/metric-point.js';
import type { Logger } from '../../../kit/logger.js';
import type { Comparison, MismatchKind } from '../../kernel/science/compare.js';
import {
  latencyAttribute,
  latencyBucket,
  MISMATCH_SAMPLES_TABLE,
  SCIENCE_STATS_TABLE,
  scienceStatsEnv,
  SLOT_MS,
  slotAttribute,
  type MismatchSample,
  type StatsCounter,
} from '../../kernel/science/control-tables.js';

const KIND_COUNTER: Record<MismatchKind, StatsCounter> = {
  missing: 'mmMissing',
  extra: 'mmExtra',
  value_drift: 'mmValueDrift',
  expired_returned: 'mmExpiredReturned',
};

/** Options of the recorder. */
export interface ScienceRecorderOptions {
  dynamo: DynamoDBClient;
  instanceId: string;
  logger?: Logger;
  flushIntervalMs?: number;
  /**
   * After a mismatch or a new-store failure, the longest wait before the next flush (while
   * started); default 250 ms. Healthy traffic is flushed every flushIntervalMs.
   */
  alertFlushDelayMs?: number;
  /** Samples kept per env and minute by this instance. */
  maxSamplesPerMinute?: number;
  /** How long stats and samples are kept (DynamoDB TTL attribute expiresAt), ms. */
  keepMs?: number;
  now?: () => number;
}

interface Bucket {
  counters: Map<string, number>;
  samples: MismatchSample[];
  samplesTaken: number;
}

/** What the read path reports science results to (the recorder; a fake in unit tests). */
export type ScienceSink = Pick<
  ScienceRecorder,
  | 'recordServed'
  | 'recordSplit'
  | 'recordFreshSplit'
  | 'recordShadowLatency'
  | 'recordCandidateFailure'
  | 'recordNewStoreError'
  | 'recordSkipped'
  | 'recordComparison'
>;

/** In-memory science aggregation with periodic batched flushes. */
export class ScienceRecorder {
  private readonly buckets = new Map<string, Bucket>();
  private readonly opts: Required<Omit<ScienceRecorderOptions, 'logger'>> & { logger?: Logger };
  private timer: NodeJS.Timeout | undefined;
  private alertTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private seq = 0;

  constructor(opts: ScienceRecorderOptions) {
    this.opts = { flushIntervalMs: 2000, alertFlushDelayMs: 250, maxSamplesPerMinute: 5, keepMs: 30 * 86_400_000, now: Date.now, ...opts };
  }

  /** Starts periodic flushing. */
  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs);
  }

  /** Stops flushing after a last flush. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.alertTimer) clearTimeout(this.alertTimer);
    this.alertTimer = undefined;
    await this.flush();
  }

  /** Brings the next flush forward (while started): something the rollback rule counts happened. */
  private flushSoon(): void {
    if (!this.timer || this.alertTimer) return;
    this.alertTimer = setTimeout(() => {
      this.alertTimer = undefined;
      // A flush under way took its entries before this news: write it right after that one.
      const running = this.flushing;
      void (running ? running.then(() => this.flush()) : this.flush());
    }, this.opts.alertFlushDelayMs);
    this.alertTimer.unref();
  }

  private bucket(env: string): Bucket {
    const key = `${env}\u0000${minuteOf(this.opts.now())}`;
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { counters: new Map(), samples: [], samplesTaken: 0 }));
    return b;
  }

  /** Adds to a counter of the current minute, in the environment's row and, for a cohort's scope, in the cohort's too. */
  private add(scope: string, counter: string, n = 1): void {
    const env = scienceStatsEnv(scope);
    for (const key of env === scope ? [scope] : [env, scope]) {
      const b = this.bucket(key);
      b.counters.set(counter, (b.counters.get(counter) ?? 0) + n);
    }
  }

  /** Adds to a counter of the current minute and to its 10-second slot (windows that start inside a minute read the slots). */
  private count(env: string, counter: StatsCounter, n = 1): void {
    this.add(env, counter, n);
    this.add(env, slotAttribute(counter, Math.floor((this.opts.now() % MINUTE_MS) / SLOT_MS)), n);
  }

  /**
   * A query (or, with countQuery false, the part of a split query before the coverage horizon)
   * was served by a store, in latencyMs (failed: the client got an error).
   */
  recordServed(env: string, store: 'old' | 'new', latencyMs: number, failed = false, countQuery = true): void {
    if (countQuery) this.count(env, 'queries');
    this.count(env, store === 'old' ? 'servedOld' : 'servedNew');
    if (store === 'new') this.count(env, 'newReads');
    if (failed) this.count(env, 'servedErrors');
    this.add(env, latencyAttribute(store, latencyBucket(latencyMs)));
  }

  /** A query was served in two parts: the old store before the coverage horizon, the new store from it. */
  recordSplit(env: string): void {
    this.count(env, 'splitQueries');
  }

  /** A shadow (not served) read of a store took latencyMs. */
  recordShadowLatency(env: string, store: 'old' | 'new', latencyMs: number): void {
    if (store === 'new') this.count(env, 'newReads');
    this.add(env, latencyAttribute(store, latencyBucket(latencyMs)));
  }

  /**
   * The candidate read failed or timed out; the served result was not affected. The candidate is
   * the new store in science and the old store in cutover (its shadow read): only the new store's
   * failures count in the new-store error rate.
   */
  recordCandidateFailure(env: string, kind: 'error' | 'timeout', store: 'old' | 'new' = 'new'): void {
    if (store === 'old') this.count(env, kind === 'error' ? 'oldShadowErrors' : 'oldShadowTimeouts');
    else {
      this.count(env, kind === 'error' ? 'candidateErrors' : 'candidateTimeouts');
      this.count(env, 'newReads');
      this.flushSoon();
    }
  }

  /** A served new-store read failed (cutover) and was answered from the old store instead. */
  recordNewStoreError(env: string): void {
    this.count(env, 'newStoreErrors');
    this.count(env, 'newReads');
    this.flushSoon();
  }

  /** The candidate was not read because the in-flight cap was reached (skipped, never queued). */
  recordSkipped(env: string): void {
    this.count(env, 'candidateSkipped');
  }

  /**
   * A cutover read whose fresh end (past what the new store's writer is proven to have written)
   * got from the old store a minute the new store did not have: a hole the fence kept out.
   */
  recordFreshSplit(env: string): void {
    this.count(env, 'freshSplits');
  }

  /**
   * One comparison's outcome; keeps a sample of it when it differs and the minute has room.
   * `unjudged`: minutes only one store had whose other writer was not proven past them in time,
   * counted apart (a comparison with any counts once in `unjudged`), never as a difference.
   */
  recordComparison(
    env: string,
    query: { app: string; metric: string; from: number; to: number },
    c: Pick<Comparison, 'compared' | 'matched' | 'mismatches'> & { unjudged?: number },
  ): void {
    if ((c.unjudged ?? 0) > 0) this.count(env, 'unjudged');
    if (c.compared === 0) return;
    this.count(env, 'comparisons');
    if (c.mismatches.length === 0) {
      this.count(env, 'matches');
      return;
    }
    this.count(env, 'mismatches');
    this.flushSoon();
    const kinds = [...new Set(c.mismatches.map((m) => m.kind))];
    for (const k of kinds) this.count(env, KIND_COUNTER[k]);
    const sampleEnv = scienceStatsEnv(env);
    const b = this.bucket(sampleEnv);
    if (b.samplesTaken >= this.opts.maxSamplesPerMinute) return;
    b.samplesTaken++;
    const at = this.opts.now();
    b.samples.push({
      env: sampleEnv,
      minute: minuteOf(at),
      sampleId: `${this.opts.instanceId}#${++this.seq}`,
      app: query.app,
      metric: query.metric,
      from: query.from,
      to: query.to,
      kinds,
      detail: JSON.stringify({ compared: c.compared, matched: c.matched, mismatches: c.mismatches.slice(0, 20) }),
      at,
    });
  }

  /** Writes what has accumulated; concurrent calls share one flush. */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.doFlush().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const entries = [...this.buckets];
    this.buckets.clear();
    const expiresAt = String(Math.ceil((this.opts.now() + this.opts.keepMs) / 1000));
    for (const [key, b] of entries) {
      const [env, minuteText] = key.split('\u0000') as [string, string];
      try {
        if (b.counters.size > 0) {
          const names: Record<string, string> = {};
          const values: Record<string, { N: string }> = { ':exp': { N: expiresAt } };
          const adds: string[] = [];
          let i = 0;
          for (const [counter, n] of b.counters) {
            names[`#c${i}`] = counter;
            values[`:v${i}`] = { N: String(n) };
            adds.push(`#c${i} :v${i}`);
            i++;
          }
          await this.opts.dynamo.send(
            new UpdateItemCommand({
              TableName: SCIENCE_STATS_TABLE,
              Key: { env: { S: env }, minute: { N: minuteText } },
              UpdateExpression: `ADD ${adds.join(', ')} SET expiresAt = :exp`,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
            }),
          );
          b.counters.clear();
        }
        while (b.samples.length > 0) {
          const s = b.samples[0]!;
          await this.opts.dynamo.send(
            new PutItemCommand({
              TableName: MISMATCH_SAMPLES_TABLE,
              Item: {
                envMinute: { S: `${s.env}#${s.minute}` },
                sampleId: { S: s.sampleId },
                env: { S: s.env },
                minute: { N: String(s.minute) },
                app: { S: s.app },
                metric: { S: s.metric },
                from: { N: String(s.from) },
                to: { N: String(s.to) },
                kinds: { SS: s.kinds },
                detail: { S: s.detail },
                at: { N: String(s.at) },
                expiresAt: { N: expiresAt },
              },
            }),
          );
          b.samples.shift();
        }
      } catch (err) {
        // Keep what was not written and merge it back; the next flush retries.
        this.opts.logger?.warn({ env, action: 'science-flush-failed', err: (err as Error).message }, 'could not write science stats; will retry');
        const current = this.buckets.get(key);
        if (!current) this.buckets.set(key, b);
        else {
          for (const [c, n] of b.counters) current.counters.set(c, (current.counters.get(c) ?? 0) + n);
          current.samples.unshift(...b.samples);
        }
        if (this.buckets.size > 120) {
          const oldest = [...this.buckets.keys()].sort()[0]!;
          this.buckets.delete(oldest);
          this.opts.logger?.error({ action: 'science-stats-dropped', key: oldest }, 'dropped unflushed science stats of an old minute');
        }
      }
    }
  }
}
