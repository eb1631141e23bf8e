import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetricStore } from '../../../../pipeline/kernel/stores/create-metric-store.js';
import { StoreOptionsError } from '../../../../pipeline/kernel/stores/store-error.js';

/** Asserts that fn throws a non-retriable StoreOptionsError whose problems match every pattern. */
function assertOptionsError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StoreOptionsError, `expected StoreOptionsError, got ${String(err)}`);
    assert.equal(err.retriable, false);
    assert.equal(err.problems.length, patterns.length, err.message);
    patterns.forEach((p, i) => assert.match(err.problems[i]!, p));
    return true;
  });
}

describe('createMetricStore', () => {
  it('builds a memory store for a valid environment', () => {
    const store = createMetricStore('memory', { env: 'staging-eu', retentionMs: 3_600_000 });
    assert.equal(store.kind, 'memory');
    assert.equal(store.env, 'staging-eu');
  });

  it('names a missing client for the kind', () => {
    assertOptionsError(() => createMetricStore('cassandra', { env: 'test', retentionMs: 60_000 }), /^cassandraClient: required/);
    assertOptionsError(() => createMetricStore('dynamodb', { env: 'test', retentionMs: 60_000 }), /^dynamoClient: required/);
  });

  it('lists every bad option at once', () => {
    assertOptionsError(() => createMetricStore('dynamodb', { env: 'Prod_1', retentionMs: 0 }), /^env: 'Prod_1'/, /^retentionMs: 0/, /^dynamoClient: required/);
    assertOptionsError(() => createMetricStore('memory', { env: 'test', retentionMs: 1500 }), /^retentionMs: 1500 must be a positive whole number of seconds/);
    assertOptionsError(() => createMetricStore('memory', { env: 'test', retentionMs: 60_000, retry: { maxAttempts: 0 } }), /^retry.maxAttempts: 0/);
  });

  it('refuses an unknown kind', () => {
    assertOptionsError(() => createMetricStore('mongo' as never, { env: 'test', retentionMs: 60_000 }), /^kind: 'mongo'/);
  });

  it('lets the implementation refuse a client of the wrong shape', () => {
    assertOptionsError(
      () => createMetricStore('cassandra', { env: 'test', retentionMs: 60_000, cassandraClient: {} as never, replicationFactor: 0 }),
      /^client: a cassandra-driver Client is required/,
      /^replicationFactor: 0/,
    );
  });
});
