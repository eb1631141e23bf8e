/**
 * What every activity family is built on: ready clients and a few settings, handed over by the
 * worker (the one place that builds clients from configuration). The activities never read
 * configuration themselves.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Client } from '@temporalio/client';
import type cassandra from 'cassandra-driver';
import type { Kafka, Producer } from 'kafkajs';
import type { KeyRing } from '../kit/integrity.js';
import type { Logger } from '../kit/logger.js';
import type { Notifier } from '../notify/notifier.js';

/** The clients the activities use (ready-built; the activities never read configuration). */
export interface ActivityDeps {
  kafka: Kafka;
  /** A connected producer (the control state is published with it). */
  producer: Producer;
  dynamo: DynamoDBClient;
  /** A cassandra-driver client for the old store (reached through its store interfaces); it connects on first use if it has not yet. */
  cassandra: cassandra.Client;
  /** A Temporal client, for other environments' migration stages. */
  temporal: Client;
  logger?: Logger;
  /** How long reading the control or heartbeat topic to its end may take, ms (default 15 000). */
  controlReadTimeoutMs?: number;
  /** How long the state query of another environment's workflow may take, ms (default 5 000). */
  stageQueryTimeoutMs?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Sends a notification for each audit entry that needs a person (absent: none are sent). */
  notifier?: Notifier;
  /** The console's address, for links in notifications. */
  consoleUrl?: string | null;
  /** The integrity key ring, read at each use (a rotation reaches a running worker): it hashes the audit chain. */
  integrityKeys: () => KeyRing;
}
