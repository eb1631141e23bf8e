/**
 * Switchyard configuration: defaults, then environment variables, then validation, in one place.
 *
 * Every endpoint comes from here, so the same code runs against the local stack and against
 * real clusters (Temporal Cloud, a Kafka cluster, a Cassandra ring, AWS DynamoDB). A service
 * whose endpoint is on loopback is one the local stack may start; any other is left alone.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ENV_NAME_PATTERN } from '../contract/index.js';
import { CONFIG_ERROR_NAME } from '../kit/cli.js';
import { isKafkaPrincipal, KAFKA_PRINCIPALS, localKafkaCredentialsFile, type KafkaPrincipal } from './kafka-credentials.js';

/** Root of the repository (the folder holding package.json). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A host and a port, as parsed from an endpoint setting. */
export interface HostPort {
  /** Host name or IP address. */
  host: string;
  /** TCP port, 1..65535. */
  port: number;
}

/** The validated configuration of every Switchyard process. */
export interface SwitchyardConfig {
  /** Temporal connection and local dev-server settings. */
  temporal: {
    address: HostPort;
    namespace: string;
    /** API key for Temporal Cloud; implies TLS. */
    apiKey: string | undefined;
    tls: boolean;
    taskQueue: string;
    /** HTTP API port of the local dev server (default: the frontend's port + 10): known, and closed to every request (local stack only). */
    httpPort: number;
    /** Prometheus /metrics port of the local dev server (default: the frontend's port + 11; local stack only). */
    metricsPort: number;
  };
  /** Kafka connection and local broker settings. */
  kafka: {
    brokers: HostPort[];
    clientId: string;
    ssl: boolean;
    /** SASL credentials from KAFKA_SASL_*; when unset, a local stack broker's own (see localCredentialsFile). */
    sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined;
    /** Who this process is to the local stack's broker (config/kafka-credentials.ts): the process's own, or SWITCHYARD_KAFKA_PRINCIPAL. */
    principal: KafkaPrincipal;
    /**
     * The local stack's SCRAM credentials file, when the broker is the stack's (one loopback broker)
     * and KAFKA_SASL_* is not set: clients read their principal's password from it.
     */
    localCredentialsFile: string | undefined;
    /** KRaft controller port of the local broker. */
    controllerPort: number;
  };
  /** Cassandra connection and local node settings. */
  cassandra: {
    contactPoints: HostPort[];
    localDataCenter: string;
    username: string | undefined;
    password: string | undefined;
    /** Inter-node storage port of the local node. */
    storagePort: number;
    /** JVM heap of the local node, in MiB. */
    heapMb: number;
  };
  /** DynamoDB connection settings. */
  dynamodb: {
    /** undefined means AWS DynamoDB's regional endpoint. */
    endpoint: URL | undefined;
    region: string;
  };
  /** Where the local stack keeps its tools, data and logs. */
  stack: {
    dir: string;
    toolsDir: string;
    dataDir: string;
    logDir: string;
    runDir: string;
    /** JDK used for Kafka and Cassandra (must be Java 17; Cassandra 5.0 does not run on 24+). */
    javaHome: string | undefined;
    /** Python 3 used to build the tools virtualenv. */
    python: string;
  };
  /** Environments Switchyard manages, in promotion order. */
  environments: string[];
  /** Log level for pino. */
  logLevel: string;
}

/** Thrown when configuration is invalid; lists every problem, one per line. */
export class ConfigError extends Error {
  /** Each problem, naming the variable and what is wrong. */
  readonly problems: string[];
  /** Never retriable: the same settings fail the same way. */
  readonly retriable = false;
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = CONFIG_ERROR_NAME;
    this.problems = problems;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** Parses "host:port" (or "[v6]:port"); returns a message instead when malformed. */
export function parseHostPort(raw: string, defaultPort?: number): HostPort | string {
  const value = raw.trim();
  if (value === '') return 'is empty';
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  let host: string;
  let portText: string | undefined;
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else {
    const idx = value.lastIndexOf(':');
    if (idx === -1) {
      host = value;
    } else {
      host = value.slice(0, idx);
      portText = value.slice(idx + 1);
    }
  }
  if (host === '' || /\s|\//.test(host)) return `'${raw}' has no valid host`;
  if (portText === undefined) {
    if (defaultPort === undefined) return `'${raw}' has no port (expected host:port)`;
    return { host, port: defaultPort };
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    return `'${raw}' has port '${portText}', expected a whole number from 1 to 65535`;
  }
  return { host, port };
}

/** True when a host is this machine (so the local stack may run a server for it). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h.startsWith('127.') || h === '0:0:0:0:0:0:0:1';
}

/** Formats a HostPort back to "host:port". */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

type Env = Record<string, string | undefined>;

/** What a process says about itself when it loads the configuration. */
export interface LoadConfigOptions {
  /** The Kafka principal this kind of process authenticates as on the local stack (default admin). */
  kafkaPrincipal?: KafkaPrincipal;
}

/** Reads the environment's settings over the defaults, validates them, and returns the config. */
export function loadConfig(env: Env = process.env, opts: LoadConfigOptions = {}): SwitchyardConfig {
  const problems: string[] = [];
  const get = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  };
  const optional = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const hostPort = (name: string, fallback: string, defaultPort?: number): HostPort => {
    const parsed = parseHostPort(get(name, fallback), defaultPort);
    if (typeof parsed === 'string') {
      problems.push(`${name}: ${parsed}`);
      return { host: '127.0.0.1', port: 1 };
    }
    return parsed;
  };
  const hostPortList = (name: string, fallback: string, defaultPort: number): HostPort[] => {
    const items = get(name, fallback)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) {
      problems.push(`${name}: needs at least one host:port`);
      return [];
    }
    return items.flatMap((item) => {
      const parsed = parseHostPort(item, defaultPort);
      if (typeof parsed === 'string') {
        problems.push(`${name}: ${parsed}`);
        return [];
      }
      return [parsed];
    });
  };
  const port = (name: string, fallback: number): number => {
    const raw = get(name, String(fallback));
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      problems.push(`${name}: '${raw}' is not a port (a whole number from 1 to 65535)`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name, String(fallback)).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name}: '${raw}' is not a boolean (use true or false)`);
    return fallback;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name, String(fallback));
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name}: '${raw}' must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const name = (varName: string, fallback: string): string => {
    const v = get(varName, fallback);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(v)) {
      problems.push(`${varName}: '${v}' must be 1-100 letters, digits, '.', '_' or '-'`);
    }
    return v;
  };

  // Temporal
  const temporalApiKey = optional('TEMPORAL_API_KEY');
  const temporalAddress = hostPort('TEMPORAL_ADDRESS', '127.0.0.1:7233', 7233);
  // The dev server's other fixed ports follow the frontend's (7243 and 7244 for 7233), so a second
  // local server on another frontend port does not collide with the first.
  const besideFrontend = (offset: number): number => (temporalAddress.port + offset <= 65535 ? temporalAddress.port + offset : temporalAddress.port - offset);
  const temporal = {
    address: temporalAddress,
    namespace: name('TEMPORAL_NAMESPACE', 'default'),
    apiKey: temporalApiKey,
    tls: bool('TEMPORAL_TLS', temporalApiKey !== undefined),
    taskQueue: name('TEMPORAL_TASK_QUEUE', 'switchyard-control'),
    httpPort: port('TEMPORAL_HTTP_PORT', besideFrontend(10)),
    metricsPort: port('TEMPORAL_METRICS_PORT', besideFrontend(11)),
  };

  // Kafka
  const saslMechanism = optional('KAFKA_SASL_MECHANISM')?.toLowerCase();
  let sasl: SwitchyardConfig['kafka']['sasl'];
  if (saslMechanism !== undefined) {
    const username = optional('KAFKA_SASL_USERNAME');
    const password = optional('KAFKA_SASL_PASSWORD');
    if (!(SASL_MECHANISMS as readonly string[]).includes(saslMechanism)) {
      problems.push(`KAFKA_SASL_MECHANISM: '${saslMechanism}' must be one of ${SASL_MECHANISMS.join(', ')}`);
    } else if (username === undefined || password === undefined) {
      problems.push('KAFKA_SASL_MECHANISM is set, so KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required');
    } else {
      sasl = { mechanism: saslMechanism as (typeof SASL_MECHANISMS)[number], username, password };
    }
  }
  const principalName = optional('SWITCHYARD_KAFKA_PRINCIPAL') ?? opts.kafkaPrincipal ?? 'admin';
  if (!isKafkaPrincipal(principalName))
    problems.push(`SWITCHYARD_KAFKA_PRINCIPAL: '${principalName}' must be one of ${Object.keys(KAFKA_PRINCIPALS).join(', ')}`);
  const brokers = hostPortList('KAFKA_BROKERS', '127.0.0.1:9092', 9092);
  const kafka = {
    brokers,
    clientId: name('KAFKA_CLIENT_ID', 'switchyard'),
    ssl: bool('KAFKA_SSL', false),
    sasl,
    principal: (isKafkaPrincipal(principalName) ? principalName : 'admin') as KafkaPrincipal,
    localCredentialsFile: undefined as string | undefined,
    controllerPort: port('KAFKA_CONTROLLER_PORT', 9093),
  };

  // Cassandra
  const cassandra = {
    contactPoints: hostPortList('CASSANDRA_CONTACT_POINTS', '127.0.0.1:9042', 9042),
    localDataCenter: name('CASSANDRA_LOCAL_DC', 'datacenter1'),
    username: optional('CASSANDRA_USERNAME'),
    password: optional('CASSANDRA_PASSWORD'),
    storagePort: port('CASSANDRA_STORAGE_PORT', 7000),
    heapMb: int('CASSANDRA_HEAP_MB', 768, 256, 16384),
  };
  const cassPorts = new Set(cassandra.contactPoints.map((c) => c.port));
  if (cassPorts.size > 1) {
    problems.push('CASSANDRA_CONTACT_POINTS: all contact points must use the same port');
  }

  // DynamoDB
  const rawEndpoint = get('DYNAMODB_ENDPOINT', 'http://127.0.0.1:8000');
  let endpoint: URL | undefined;
  if (rawEndpoint.toLowerCase() !== 'aws') {
    try {
      endpoint = new URL(rawEndpoint);
      if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
        problems.push(`DYNAMODB_ENDPOINT: '${rawEndpoint}' must be an http(s) URL, or 'aws' for AWS DynamoDB`);
      }
    } catch {
      problems.push(`DYNAMODB_ENDPOINT: '${rawEndpoint}' is not a URL (use e.g. http://127.0.0.1:8000, or 'aws')`);
    }
  }
  const region = get('AWS_REGION', get('AWS_DEFAULT_REGION', 'us-east-1'));
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region) && region !== 'local') {
    problems.push(`AWS_REGION: '${region}' is not an AWS region name (like us-east-1)`);
  }
  const dynamodb = { endpoint, region };

  // Local stack folders
  const dir = path.resolve(REPO_ROOT, get('SWITCHYARD_STACK_DIR', '.stack'));
  const stack = {
    dir,
    toolsDir: path.resolve(dir, get('SWITCHYARD_TOOLS_DIR', 'tools')),
    dataDir: path.resolve(dir, get('SWITCHYARD_DATA_DIR', 'data')),
    logDir: path.resolve(dir, get('SWITCHYARD_LOG_DIR', 'logs')),
    runDir: path.resolve(dir, 'run'),
    javaHome: optional('SWITCHYARD_JAVA_HOME') ?? optional('JAVA_HOME'),
    python: get('SWITCHYARD_PYTHON', 'python3'),
  };

  // A local stack broker's credentials (only when no others are configured).
  if (saslMechanism === undefined && brokers.length === 1 && isLoopbackHost(brokers[0]!.host)) kafka.localCredentialsFile = localKafkaCredentialsFile(dir);

  // Environments
  const environments = get('SWITCHYARD_ENVS', 'test,staging,production')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const envSchema = z.string().regex(ENV_NAME_PATTERN);
  for (const e of environments) {
    if (!envSchema.safeParse(e).success) {
      problems.push(`SWITCHYARD_ENVS: '${e}' must be lower-case letters, digits or '-', starting with a letter, at most 31 characters`);
    }
  }
  if (environments.length === 0) problems.push('SWITCHYARD_ENVS: needs at least one environment');
  if (new Set(environments).size !== environments.length) problems.push('SWITCHYARD_ENVS: names must be unique');

  const logLevel = get('LOG_LEVEL', 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: '${logLevel}' must be one of ${LOG_LEVELS.join(', ')}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return { temporal, kafka, cassandra, dynamodb, stack, environments, logLevel };
}
