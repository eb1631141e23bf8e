/**
 * Picks a MetricStore implementation by kind (like Flagger's provider factory), checking every
 * option up front so a misconfigured writer or query service fails at start-up, not mid-stream.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type cassandra from 'cassandra-driver';
import { CassandraMetricStore } from './cassandra-store.js';
import { DynamoMetricStore } from './dynamodb-store.js';
import { MemoryMetricStore } from './memory-store.js';
import type { MetricStore, StoreKind } from './metric-store.js';
import { assertNoProblems, storeOptionProblems, type StoreOptions } from './store-options.js';

/** Every store kind, in the order the migration meets them. */
export const STORE_KINDS: readonly StoreKind[] = ['cassandra', 'dynamodb', 'memory'];

/** Options of createMetricStore: the shared ones plus the client (and settings) of the chosen kind. */
export interface CreateMetricStoreOptions extends StoreOptions {
  /** Required for kind 'cassandra'. */
  cassandraClient?: cassandra.Client;
  /** Required for kind 'dynamodb'. */
  dynamoClient?: DynamoDBClient;
  /** Cassandra only: SimpleStrategy replication factor when creating the keyspace (default 1). */
  replicationFactor?: number;
  /** Cassandra: most writes in flight; DynamoDB: most BatchWriteItem calls in flight. */
  concurrency?: number;
  /** Whether close() also closes the client (default true); false when one client serves several stores. */
  closeClient?: boolean;
}

/** Builds the store of `kind` for one environment; throws a non-retriable StoreOptionsError naming every bad option. */
export function createMetricStore(kind: 'cassandra', opts: CreateMetricStoreOptions): CassandraMetricStore;
export function createMetricStore(kind: 'dynamodb', opts: CreateMetricStoreOptions): DynamoMetricStore;
export function createMetricStore(kind: 'memory', opts: CreateMetricStoreOptions): MemoryMetricStore;
export function createMetricStore(kind: StoreKind, opts: CreateMetricStoreOptions): MetricStore;
export function createMetricStore(kind: StoreKind, opts: CreateMetricStoreOptions): MetricStore {
  const problems: string[] = [];
  if (!STORE_KINDS.includes(kind)) problems.push(`kind: '${String(kind)}' must be one of ${STORE_KINDS.join(', ')}`);
  problems.push(...storeOptionProblems(opts));
  if (opts !== null && typeof opts === 'object') {
    if (kind === 'cassandra' && opts.cassandraClient === undefined) problems.push("cassandraClient: required for kind 'cassandra' (createCassandraClient)");
    if (kind === 'dynamodb' && opts.dynamoClient === undefined) problems.push("dynamoClient: required for kind 'dynamodb' (createDynamoClient)");
  }
  assertNoProblems(problems);
  // The constructors check the rest (client shape, replication factor, concurrency).
  const { cassandraClient, dynamoClient, replicationFactor, concurrency, closeClient, ...shared } = opts;
  switch (kind) {
    case 'cassandra':
      return new CassandraMetricStore({ ...shared, client: cassandraClient!, replicationFactor, concurrency, closeClient });
    case 'dynamodb':
      return new DynamoMetricStore({ ...shared, client: dynamoClient!, chunkConcurrency: concurrency, closeClient });
    case 'memory':
      return new MemoryMetricStore(shared);
  }
}
