/**
 * Apache Kafka 4.x in KRaft mode (one process is broker and controller), resolved by Maven from
 * the pinned manifest infra/kafka/pom.xml. Storage is formatted on first start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createKafka } from '../../../config/clients.js';
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
    renderTemplate(
      path.join(INFRA, 'server.properties.template'),
      { BROKER_PORT: broker(cfg).port, CONTROLLER_PORT: cfg.kafka.controllerPort, LOG_DIR: dataDir },
      props,
    );
    const java = javaBin(cfg.stack.javaHome);
    const cp = `${kafkaLib(cfg)}/*`;
    const logProps = [`-Dkafka.logs.dir=${logsDir}`, `-Dlog4j2.configurationFile=${path.join(INFRA, 'log4j2.xml')}`];
    if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
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
  async probe(cfg) {
    const admin = createKafka(cfg, { clientId: 'switchyard-stack', connectTimeoutMs: 2000, quiet: true }).admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return `${cluster.brokers.length} broker(s), controller ${cluster.controller}`;
    } finally {
      await admin.disconnect();
    }
  },
};
