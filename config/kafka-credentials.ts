/**
 * Kafka principals and the local stack's SCRAM credentials.
 *
 * The local stack's broker requires SASL/SCRAM-SHA-256 from every client and authorizes with
 * ACLs: only the control worker's principal may write the control topic, only data-plane
 * principals may write heartbeats. Each process authenticates as the principal of what it is
 * (the aggregator as `aggregator`, the worker as `worker`, ...). The stack makes one random
 * password per principal when it formats the broker's storage and keeps them in
 * `<stack dir>/conf/kafka/credentials.json` (mode 600); a process on this machine reads its own
 * from there. Against any other cluster, KAFKA_SASL_MECHANISM / _USERNAME / _PASSWORD give each
 * process its credentials (docs/real-clusters.md).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The principals of the local stack, and what each may do beyond what everyone may. */
export const KAFKA_PRINCIPALS = {
  admin: 'the stack itself, setup and the tests: super user (creates topics and ACLs)',
  worker: 'the control worker: the only principal that writes the control topic',
  aggregator: 'the aggregator job: reads the control topic, writes heartbeats',
  writer: 'the writer jobs: read the control topic, write heartbeats',
  query: 'the query service: reads the control topic, writes heartbeats',
  console: 'the console: reads the control and heartbeat topics',
  tools: 'load and read generators, the operator CLI: read the control and heartbeat topics',
} as const;

export type KafkaPrincipal = keyof typeof KAFKA_PRINCIPALS;

/** Principals that run the data plane: they apply control states and announce themselves. */
export const DATA_PLANE_PRINCIPALS: readonly KafkaPrincipal[] = ['aggregator', 'writer', 'query'];

/** The only SCRAM mechanism the local broker enables. */
export const LOCAL_SCRAM_MECHANISM = 'scram-sha-256';

/** The local stack's credentials file. */
export interface LocalKafkaCredentials {
  mechanism: typeof LOCAL_SCRAM_MECHANISM;
  /** Password per principal. */
  users: Record<KafkaPrincipal, string>;
}

export function isKafkaPrincipal(name: string): name is KafkaPrincipal {
  return Object.prototype.hasOwnProperty.call(KAFKA_PRINCIPALS, name);
}

/** Where the local stack keeps its Kafka credentials. */
export function localKafkaCredentialsFile(stackDir: string): string {
  return path.join(stackDir, 'conf', 'kafka', 'credentials.json');
}

/** Client settings for Kafka's own tools (console producer/consumer, kafka-topics) as admin, next to the credentials. */
export function localKafkaAdminClientProperties(stackDir: string): string {
  return path.join(stackDir, 'conf', 'kafka', 'admin-client.properties');
}

/** New random credentials for every principal (SCRAM passwords: 24 random bytes each, base64url). */
export function makeLocalKafkaCredentials(): LocalKafkaCredentials {
  const users = Object.fromEntries(Object.keys(KAFKA_PRINCIPALS).map((p) => [p, randomBytes(24).toString('base64url')])) as Record<KafkaPrincipal, string>;
  return { mechanism: LOCAL_SCRAM_MECHANISM, users };
}

/** Writes the credentials file readable by its owner only. */
export function writeLocalKafkaCredentials(file: string, creds: LocalKafkaCredentials): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** The credentials file's content, or undefined when the stack has not made it (yet). Throws on a damaged file. */
export function readLocalKafkaCredentials(file: string): LocalKafkaCredentials | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Kafka credentials: cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`Kafka credentials: ${file} is not JSON (${(err as Error).message}); delete it and Kafka's data folder to make new ones`);
  }
  const d = doc as Partial<LocalKafkaCredentials>;
  const missing = Object.keys(KAFKA_PRINCIPALS).filter((p) => typeof d.users?.[p as KafkaPrincipal] !== 'string');
  if (d.mechanism !== LOCAL_SCRAM_MECHANISM || missing.length > 0) {
    throw new Error(`Kafka credentials: ${file} lacks ${missing.length > 0 ? `the principal(s) ${missing.join(', ')}` : `mechanism ${LOCAL_SCRAM_MECHANISM}`}`);
  }
  return d as LocalKafkaCredentials;
}
