/**
 * Apache Kafka 4.x in KRaft mode (one process is broker and controller), resolved by Maven from
 * the pinned manifest infra/kafka/pom.xml. Storage is formatted on first start, with a SCRAM
 * user per principal (config/kafka-credentials.ts); once the broker is up, the stack creates the
 * ACLs that keep the control channel's writers apart (kafka-acls.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createKafka } from '../../../config/clients.js';
import {
  localKafkaAdminClientProperties,
  localKafkaCredentialsFile,
  makeLocalKafkaCredentials,
  readLocalKafkaCredentials,
  writeLocalKafkaCredentials,
} from '../../../config/kafka-credentials.js';
import { controlChannelAcls } from './kafka-acls.js';
import { formatHostPort, isLoopbackHost, REPO_ROOT, type SwitchyardConfig } from '../../../config/config.js';
import { provisionMaven, run } from '../provision.js';
import type { StackService } from '../service.js';
import { javaBin, renderTemplate } from '../templates.js';

const INFRA = path.join(REPO_ROOT, 'infra', 'kafka');

/** Folder holding the broker's jars (and the console tools of kafka-tools). */
export function kafkaLib(cfg: SwitchyardConfig): string {
  return path.join(cfg.stack.toolsDir, 'kafka', 'lib');
}

function broker(cfg: SwitchyardConfig): { host: string; port: number } {
  return cfg.kafka.brokers[0]!;
}

/** The single-node Kafka broker as a stack service. */
export const kafkaService: StackService = {
  name: 'kafka',
  startTimeoutMs: 120_000,
  stopGraceMs: 30_000,
  ports: (cfg) => [
    { label: 'broker', host: broker(cfg).host, port: broker(cfg).port },
    { label: 'controller', host: broker(cfg).host, port: cfg.kafka.controllerPort },
  ],
  // Local only when there is exactly one broker and it is on this machine.
  isLocal: (cfg) => cfg.kafka.brokers.length === 1 && isLoopbackHost(broker(cfg).host),
  endpoint: (cfg) => cfg.kafka.brokers.map(formatHostPort).join(','),
  marker: () => '-Dswitchyard.service=kafka',
  async provision(ctx) {
    if (await provisionMaven('kafka', path.join(INFRA, 'pom.xml'), kafkaLib(ctx.cfg), ctx.cfg.stack.javaHome)) {
      ctx.progress('kafka: resolved jars from infra/kafka/pom.xml');
    }
  },
  async prepare(ctx) {
    const { cfg } = ctx;
    const dataDir = path.join(cfg.stack.dataDir, 'kafka');
    const logsDir = path.join(cfg.stack.logDir, 'kafka');
    const props = path.join(cfg.stack.dir, 'conf', 'kafka', 'server.properties');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.mkdirSync(logsDir, { recursive: true });
    const formatted = fs.existsSync(path.join(dataDir, 'meta.properties'));
    const credsFile = localKafkaCredentialsFile(cfg.stack.dir);
    let creds = readLocalKafkaCredentials(credsFile);
    if (!creds && formatted) {
      throw new Error(
        `kafka: the data in ${dataDir} was formatted before the local broker required authentication, and ${credsFile} is missing. ` +
          `Move the folder aside (npm run stack -- down; mv ${dataDir} ${dataDir}.old) and start again: the broker is formatted with new credentials and empty topics (a running migration publishes its control state again at its next step; until then the data plane runs with the initial state)`,
      );
    }
    if (!creds) {
      creds = makeLocalKafkaCredentials();
      writeLocalKafkaCredentials(credsFile, creds);
      ctx.progress(`kafka: made SCRAM credentials for ${Object.keys(creds.users).join(', ')} in ${credsFile} (owner-only)`);
    }
    // Kafka's own tools (console consumer, kafka-topics) connect as admin with this file.
    fs.writeFileSync(
      localKafkaAdminClientProperties(cfg.stack.dir),
      [
        'security.protocol=SASL_PLAINTEXT',
        'sasl.mechanism=SCRAM-SHA-256',
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${creds.users.admin}";`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    renderTemplate(
      path.join(INFRA, 'server.properties.template'),
      { BROKER_PORT: broker(cfg).port, CONTROLLER_PORT: cfg.kafka.controllerPort, LOG_DIR: dataDir, ADMIN_PASSWORD: creds.users.admin },
      props,
      0o600,
    );
    const java = javaBin(cfg.stack.javaHome);
    const cp = `${kafkaLib(cfg)}/*`;
    const logProps = [`-Dkafka.logs.dir=${logsDir}`, `-Dlog4j2.configurationFile=${path.join(INFRA, 'log4j2.xml')}`];
    if (!formatted) {
      const clusterId = (await run('kafka', java, ['-cp', cp, ...logProps, 'kafka.tools.StorageTool', 'random-uuid'])).trim().split('\n').pop()!;
      await run('kafka', java, [
        '-cp',
        cp,
        ...logProps,
        'kafka.tools.StorageTool',
        'format',
        '--standalone',
        '-t',
        clusterId,
        '-c',
        props,
        '--ignore-formatted',
        // Every principal's SCRAM credentials go into the metadata log with the format.
        ...Object.entries(creds.users).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-256=[name=${name},password=${password}]`]),
      ]);
      ctx.progress(`kafka: formatted storage in ${dataDir} (cluster ${clusterId})`);
    }
    return {
      command: java,
      args: [
        '-Dswitchyard.service=kafka',
        '-Xms256m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-Djava.awt.headless=true',
        ...logProps,
        '-cp',
        cp,
        'kafka.Kafka',
        props,
      ],
    };
  },
  async afterReady(ctx) {
    // Who may write the control channel's topics (idempotent: an existing ACL is kept; ACLs may
    // name topics not created yet: setup or the first job creates them).
    const admin = createKafka(ctx.cfg, { clientId: 'switchyard-stack', principal: 'admin' }).admin();
    await admin.connect();
    try {
      await admin.createAcls({ acl: controlChannelAcls() });
    } finally {
      await admin.disconnect();
    }
  },
  async probe(cfg) {
    const admin = createKafka(cfg, { clientId: 'switchyard-stack', connectTimeoutMs: 2000, quiet: true, principal: 'admin' }).admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return `${cluster.brokers.length} broker(s), controller ${cluster.controller}`;
    } finally {
      await admin.disconnect();
    }
  },
};
