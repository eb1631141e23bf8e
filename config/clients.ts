/**
 * Builds the project's clients (Temporal, Kafka, Cassandra, DynamoDB) from configuration.
 *
 * Process entry points (workers/, pipeline CLIs, the local stack) call these; library code
 * receives ready clients and never reads configuration itself.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Connection } from '@temporalio/client';
import cassandra from 'cassandra-driver';
import { Kafka, logLevel as kafkaLogLevel, type KafkaConfig } from 'kafkajs';
import { formatHostPort, isLoopbackHost, type SwitchyardConfig } from './config.js';
import { readLocalKafkaCredentials, type KafkaPrincipal } from './kafka-credentials.js';

/** Options shared by the client factories. */
export interface ClientOptions {
  /** How long a connection attempt may take, in ms. */
  connectTimeoutMs?: number;
}

let negativeTimerWarningHidden = false;

/**
 * kafkajs 2.2.4 (the latest release) arms its request queue's throttle timer with a negative
 * delay whenever nothing is throttled (`throttledUntil - Date.now()`, throttledUntil -1); Node.js
 * has always run such a timer after 1 ms, and since Node 23 it also prints a
 * TimeoutNegativeWarning on stderr, once per process, into every command's output (`ops status`
 * promises only its report). Only that warning is dropped, recognised by kafkajs' request queue in
 * its stack; every other warning is printed as before. (Node prints a TimeoutNegativeWarning once
 * per process, so after kafkajs' one it would print no other anyway.)
 */
function hideKafkajsNegativeTimerWarning(): void {
  if (negativeTimerWarningHidden) return;
  negativeTimerWarningHidden = true;
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    if (w.name === 'TimeoutNegativeWarning' && /kafkajs[\\/]src[\\/]network[\\/]requestQueue/.test(w.stack ?? '')) return;
    for (const print of printers) print(w);
  });
}

/** A kafkajs instance for the configured brokers (kafkajs' own logging is kept to errors). */
export function createKafka(
  cfg: SwitchyardConfig,
  opts: ClientOptions & {
    clientId?: string;
    quiet?: boolean;
    /** Authenticate as this principal instead of the process's own (local stack). */ principal?: KafkaPrincipal;
  } = {},
): Kafka {
  // The producers pick partitions with the default (murmur2) partitioner on purpose; no need to warn.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  hideKafkajsNegativeTimerWarning();
  const config: KafkaConfig = {
    clientId: opts.clientId ?? cfg.kafka.clientId,
    brokers: cfg.kafka.brokers.map(formatHostPort),
    ssl: cfg.kafka.ssl,
    connectionTimeout: opts.connectTimeoutMs ?? 3000,
    // kafkajs logs every failed connection attempt at ERROR; probes that expect failures stay quiet.
    logLevel: opts.quiet ? kafkaLogLevel.NOTHING : kafkaLogLevel.ERROR,
  };
  const sasl = kafkaSasl(cfg, opts.principal);
  if (sasl) config.sasl = sasl as KafkaConfig['sasl'];
  return new Kafka(config);
}

/**
 * The SASL settings a Kafka client uses: KAFKA_SASL_* when set; on the local stack, the password
 * of the process's principal (or `principal`) from the stack's credentials file, read when the
 * client is made (the stack writes it on first start); none when neither exists.
 */
export function kafkaSasl(
  cfg: SwitchyardConfig,
  principal: KafkaPrincipal = cfg.kafka.principal,
): { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined {
  if (cfg.kafka.sasl) return cfg.kafka.sasl;
  if (cfg.kafka.localCredentialsFile === undefined) return undefined;
  const creds = readLocalKafkaCredentials(cfg.kafka.localCredentialsFile);
  return creds ? { mechanism: creds.mechanism, username: principal, password: creds.users[principal] } : undefined;
}

/** A cassandra-driver client for the configured contact points (not yet connected). */
export function createCassandraClient(cfg: SwitchyardConfig, opts: ClientOptions & { keyspace?: string } = {}): cassandra.Client {
  const port = cfg.cassandra.contactPoints[0]?.port ?? 9042;
  const options: cassandra.DseClientOptions = {
    contactPoints: cfg.cassandra.contactPoints.map((c) => c.host),
    protocolOptions: { port },
    localDataCenter: cfg.cassandra.localDataCenter,
    socketOptions: { connectTimeout: opts.connectTimeoutMs ?? 5000 },
  };
  if (opts.keyspace) options.keyspace = opts.keyspace;
  if (cfg.cassandra.username && cfg.cassandra.password) {
    options.authProvider = new cassandra.auth.PlainTextAuthProvider(cfg.cassandra.username, cfg.cassandra.password);
  }
  return new cassandra.Client(options);
}

/** A DynamoDB client for the configured endpoint; local endpoints get placeholder credentials. */
export function createDynamoClient(cfg: SwitchyardConfig, opts: ClientOptions = {}): DynamoDBClient {
  const endpoint = cfg.dynamodb.endpoint;
  const local = endpoint !== undefined && isLoopbackHost(endpoint.hostname);
  const hasEnvCredentials = process.env.AWS_ACCESS_KEY_ID !== undefined;
  // The pinned SDK supports Node 20 (README prerequisites); its notice about future releases is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new DynamoDBClient({
    region: cfg.dynamodb.region,
    ...(endpoint ? { endpoint: endpoint.toString() } : {}),
    // A local DynamoDB-compatible server accepts any credentials; AWS uses the default chain.
    ...(local && !hasEnvCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 3000, requestTimeout: 10_000 },
    maxAttempts: 3,
  });
}

/** Connects to Temporal (plain on loopback, TLS and API key for Temporal Cloud). */
export async function connectTemporal(cfg: SwitchyardConfig, opts: ClientOptions = {}): Promise<Connection> {
  return Connection.connect({
    address: formatHostPort(cfg.temporal.address),
    tls: cfg.temporal.tls ? {} : false,
    ...(cfg.temporal.apiKey ? { apiKey: cfg.temporal.apiKey } : {}),
    connectTimeout: opts.connectTimeoutMs ?? 5000,
  });
}
