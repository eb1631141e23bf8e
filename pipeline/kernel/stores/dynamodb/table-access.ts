/**
 * One environment's metric-points table as the DynamoDB store's parts reach it (the schema, the
 * batch writer, the reader): the client, the table, the store's settings, and how every call is
 * made. A call's transient failures (dynamo-errors.ts) are retried with the store's retry policy
 * and logged; `run` turns whatever failure is left into a StoreError.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { backoffDelayMs, retryTransient, type RetryPolicy } from '../retry-policy.js';
import { errorMessage } from '../store-error.js';
import type { StoreOptions } from '../store-options.js';
import { callFailure, isTransientDynamoError } from './dynamo-errors.js';

/** The settings of one store's table, resolved from its options. */
export interface TableSettings {
  client: DynamoDBClient;
  env: string;
  table: string;
  retentionMs: number;
  now: () => number;
  /** Most batch calls in flight at once. */
  chunkConcurrency: number;
  retry: RetryPolicy;
  logger: StoreOptions['logger'];
}

/** A table's client and settings, with the call helpers every part of the store uses. */
export class TableAccess {
  /** Always 'dynamodb' (logged with every retry). */
  readonly kind = 'dynamodb' as const;
  protected readonly client: DynamoDBClient;
  protected readonly env: string;
  protected readonly table: string;
  protected readonly retentionMs: number;
  protected readonly now: () => number;
  protected readonly chunkConcurrency: number;
  protected readonly retry: RetryPolicy;
  protected readonly logger: StoreOptions['logger'];

  constructor(s: TableSettings) {
    this.client = s.client;
    this.env = s.env;
    this.table = s.table;
    this.retentionMs = s.retentionMs;
    this.now = s.now;
    this.chunkConcurrency = s.chunkConcurrency;
    this.retry = s.retry;
    this.logger = s.logger;
  }

  /** Waits the retry policy's delay before the next attempt, and says so in the log. */
  protected async backoff(action: string, attempt: number, cause: unknown): Promise<void> {
    const delayMs = backoffDelayMs(this.retry, attempt);
    this.logger?.warn({ env: this.env, store: this.kind, action, attempt, delayMs, err: errorMessage(cause) }, 'transient failure, retrying');
    await sleep(delayMs);
  }

  /** Every page of a Query or Scan, each call run (retried, its failure classified) like any other. */
  protected async *pages(
    action: string,
    send: (
      startKey: Record<string, AttributeValue> | undefined,
    ) => Promise<{ Items?: Record<string, AttributeValue>[]; LastEvaluatedKey?: Record<string, AttributeValue> }>,
  ): AsyncGenerator<Record<string, AttributeValue>[]> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.run(action, () => send(startKey));
      yield page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** attempt(), with every failure turned into a StoreError (for calls where no point is at fault). */
  protected async run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.attempt(action, fn);
    } catch (err) {
      throw callFailure(err, `dynamodb ${action} (${this.table})`);
    }
  }

  /** fn with transient failures retried; other failures come out unchanged for the caller to classify. */
  protected attempt<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return retryTransient(fn, {
      policy: this.retry,
      isTransient: isTransientDynamoError,
      action: `dynamodb ${action} (${this.table})`,
      onRetry: ({ attempt, delayMs, error }) =>
        this.logger?.warn({ env: this.env, store: this.kind, action, attempt, delayMs, err: errorMessage(error) }, 'transient failure, retrying'),
    });
  }
}
