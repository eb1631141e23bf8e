/**
 * The DynamoDB store's writes: points upserted in BatchWriteItem chunks of 25 (a few chunks in
 * flight at once), and items deleted by key the same way. DynamoDB may leave some items of a
 * batch unprocessed: those, and throttled or failed calls, are retried with backoff up to the
 * retry policy's attempts, then fail the write as retriable (nothing is dropped). A batch refused
 * as invalid names no culprit, so its items are then written one by one, and only the refused
 * ones are returned as rejected.
 */
import { BatchWriteItemCommand, PutItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { MetricPoint } from '../../model/metric-point.js';
import { forEachConcurrent } from '../bounded-concurrency.js';
import type { PointId, WriteResult } from '../metric-store.js';
import { planWrite } from '../point-rules.js';
import { errorMessage, StoreError } from '../store-error.js';
import { awsErrorName, callFailure, isTransientDynamoError } from './dynamo-errors.js';
import { itemKey, seriesKey, toItem } from './items.js';
import { TableAccess } from './table-access.js';

/** Most items in one BatchWriteItem call (a DynamoDB limit). */
export const DYNAMO_BATCH_SIZE = 25;

/** Writes and deletes one environment's items. */
export class BatchWriter extends TableAccess {
  /** Upserts points in BatchWriteItem chunks; items DynamoDB refuses are returned in `rejected`. */
  async writePoints(points: MetricPoint[]): Promise<WriteResult> {
    const plan = planWrite(points, this.retentionMs, this.now());
    const rejected = [...plan.rejected];
    let written = plan.superseded;
    const chunks: MetricPoint[][] = [];
    // planWrite left one point per key: BatchWriteItem refuses a chunk with duplicate keys.
    for (let i = 0; i < plan.toWrite.length; i += DYNAMO_BATCH_SIZE) chunks.push(plan.toWrite.slice(i, i + DYNAMO_BATCH_SIZE));
    await forEachConcurrent(chunks, this.chunkConcurrency, async (chunk) => {
      const result = await this.writeChunk(chunk);
      written += result.written;
      rejected.push(...result.rejected);
    });
    return { written, expired: plan.expired, rejected };
  }

  /** One BatchWriteItem chunk, retrying unprocessed items and throttling with backoff. */
  private async writeChunk(chunk: MetricPoint[]): Promise<Pick<WriteResult, 'written' | 'rejected'>> {
    const byKey = new Map(chunk.map((p) => [itemKey(seriesKey(p.app, p.metric), String(p.minute)), p]));
    let pending = chunk;
    let written = 0;
    for (let attempt = 1; ; attempt++) {
      let unprocessed: WriteRequest[];
      try {
        const requests = pending.map((p): WriteRequest => ({ PutRequest: { Item: toItem(p, this.retentionMs) } }));
        const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } }));
        unprocessed = out.UnprocessedItems?.[this.table] ?? [];
      } catch (err) {
        // The batch call names no culprit: write the chunk's items one by one to find which are refused.
        if (awsErrorName(err) === 'ValidationException') {
          const single = await this.putOneByOne(pending);
          return { written: written + single.written, rejected: single.rejected };
        }
        if (!isTransientDynamoError(err)) throw callFailure(err, `batch write to ${this.table}`);
        if (attempt >= this.retry.maxAttempts) {
          throw new StoreError(`batch write to ${this.table} failed after ${attempt} attempts: ${errorMessage(err)}`, { retriable: true, cause: err });
        }
        await this.backoff('batch write', attempt, err);
        continue;
      }
      written += pending.length - unprocessed.length;
      if (unprocessed.length === 0) return { written, rejected: [] };
      if (attempt >= this.retry.maxAttempts) {
        throw new StoreError(`batch write to ${this.table}: ${unprocessed.length} items still unprocessed after ${attempt} attempts`, { retriable: true });
      }
      pending = unprocessed.map((r) => {
        const item = r.PutRequest?.Item ?? {};
        const point = byKey.get(itemKey(item.series?.S ?? '', item.minute?.N ?? ''));
        if (point === undefined)
          throw new StoreError(`batch write to ${this.table}: DynamoDB returned an unprocessed item it was not sent`, { retriable: true });
        return point;
      });
      await this.backoff('batch write (unprocessed items)', attempt, `${unprocessed.length} unprocessed items`);
    }
  }

  /** PutItem per point: a ValidationException rejects that point only. */
  private async putOneByOne(points: MetricPoint[]): Promise<Pick<WriteResult, 'written' | 'rejected'>> {
    let written = 0;
    const rejected: WriteResult['rejected'] = [];
    for (const p of points) {
      try {
        await this.attempt('put item', () => this.client.send(new PutItemCommand({ TableName: this.table, Item: toItem(p, this.retentionMs) })));
        written++;
      } catch (err) {
        if (awsErrorName(err) !== 'ValidationException') throw callFailure(err, `put item to ${this.table}`);
        const reason = `dynamodb rejected the point: ${errorMessage(err)}`;
        this.logger?.debug(
          { env: this.env, store: this.kind, app: p.app, metric: p.metric, minute: p.minute, reason, action: 'write.reject' },
          'point rejected',
        );
        rejected.push({ point: p, reason });
      }
    }
    return { written, rejected };
  }

  /** Deletes items by key in BatchWriteItem chunks, retrying unprocessed ones. */
  async deletePoints(keys: PointId[]): Promise<number> {
    const unique = [...new Map(keys.map((k) => [itemKey(seriesKey(k.app, k.metric), String(k.minute)), k])).values()];
    const chunks: PointId[][] = [];
    for (let i = 0; i < unique.length; i += DYNAMO_BATCH_SIZE) chunks.push(unique.slice(i, i + DYNAMO_BATCH_SIZE));
    await forEachConcurrent(chunks, this.chunkConcurrency, async (chunk) => {
      let pending: WriteRequest[] = chunk.map((k) => ({
        DeleteRequest: { Key: { series: { S: seriesKey(k.app, k.metric) }, minute: { N: String(k.minute) } } },
      }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        const out = await this.run('batch delete', () => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } })));
        pending = out.UnprocessedItems?.[this.table] ?? [];
        if (pending.length === 0) break;
        if (attempt >= this.retry.maxAttempts) {
          throw new StoreError(`batch delete from ${this.table}: ${pending.length} items still unprocessed after ${attempt} attempts`, { retriable: true });
        }
        await this.backoff('batch delete (unprocessed items)', attempt, `${pending.length} unprocessed items`);
      }
    });
    return keys.length;
  }
}
