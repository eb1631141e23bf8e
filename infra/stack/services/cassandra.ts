/**
 * Apache Cassandra 5.0, one node, resolved by Maven from infra/cassandra/pom.xml and started with
 * a generated cassandra.yaml sized for a 2-core machine. Needs Java 17 (5.0 does not run on 24+).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createCassandraClient } from '../../../config/clients.js';
import { formatHostPort, isLoopbackHost, REPO_ROOT, type SwitchyardConfig } from '../../../config/config.js';
import { provisionMaven } from '../provision.js';
import type { StackService } from '../service.js';
import { javaBin, renderTemplate } from '../templates.js';

const INFRA = path.join(REPO_ROOT, 'infra', 'cassandra');

/** Folder holding Cassandra's jars. */
export function cassandraLib(cfg: SwitchyardConfig): string {
  return path.join(cfg.stack.toolsDir, 'cassandra', 'lib');
}

// Module flags Cassandra 5.0 needs on Java 17 (from its conf/jvm17-server.options).
const JAVA17_MODULE_FLAGS = [
  '-Djdk.attach.allowAttachSelf=true',
  ...[
    'java.base/jdk.internal.misc',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
    'java.base/java.lang.ref',
    'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.attach/sun.tools.attach',
  ].flatMap((m) => ['--add-exports', `${m}=ALL-UNNAMED`]),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.lang.reflect',
    'jdk.compiler/com.sun.tools.javac',
    'java.base/java.lang',
    'java.base/java.util',
  ].flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]),
];

function findJar(dir: string, prefix: string): string {
  const jar = fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.jar'));
  if (!jar) throw new Error(`cassandra: ${prefix}*.jar not found in ${dir}; delete that folder to provision again`);
  return path.join(dir, jar);
}

/** The single Cassandra node as a stack service. */
export const cassandraService: StackService = {
  name: 'cassandra',
  startTimeoutMs: 240_000,
  stopGraceMs: 30_000,
  ports: (cfg) => [
    { label: 'cql', host: cfg.cassandra.contactPoints[0]!.host, port: cfg.cassandra.contactPoints[0]!.port },
    { label: 'storage', host: '127.0.0.1', port: cfg.cassandra.storagePort },
  ],
  isLocal: (cfg) => cfg.cassandra.contactPoints.length === 1 && isLoopbackHost(cfg.cassandra.contactPoints[0]!.host),
  endpoint: (cfg) => cfg.cassandra.contactPoints.map(formatHostPort).join(','),
  marker: () => '-Dswitchyard.service=cassandra',
  async provision(ctx) {
    if (await provisionMaven('cassandra', path.join(INFRA, 'pom.xml'), cassandraLib(ctx.cfg), ctx.cfg.stack.javaHome)) {
      ctx.progress('cassandra: resolved jars from infra/cassandra/pom.xml');
    }
  },
  async prepare({ cfg }) {
    const dataDir = path.join(cfg.stack.dataDir, 'cassandra');
    const logsDir = path.join(cfg.stack.logDir, 'cassandra');
    const confDir = path.join(cfg.stack.dir, 'conf', 'cassandra');
    for (const d of [dataDir, logsDir, confDir, path.join(dataDir, 'triggers')]) fs.mkdirSync(d, { recursive: true });
    const yaml = path.join(confDir, 'cassandra.yaml');
    renderTemplate(
      path.join(INFRA, 'cassandra.yaml.template'),
      { CQL_PORT: cfg.cassandra.contactPoints[0]!.port, STORAGE_PORT: cfg.cassandra.storagePort, DATA_DIR: dataDir },
      yaml,
    );
    const lib = cassandraLib(cfg);
    const heap = `${cfg.cassandra.heapMb}m`;
    return {
      command: javaBin(cfg.stack.javaHome),
      args: [
        '-Dswitchyard.service=cassandra',
        `-Xms${heap}`,
        `-Xmx${heap}`,
        '-Xss256k',
        '-XX:+UseG1GC',
        '-XX:+ParallelRefProcEnabled',
        '-XX:MaxGCPauseMillis=300',
        '-XX:+UseThreadPriorities',
        '-XX:+PerfDisableSharedMem',
        '-XX:+CrashOnOutOfMemoryError',
        '-Djava.net.preferIPv4Stack=true',
        '-Djava.security.manager=allow',
        ...JAVA17_MODULE_FLAGS,
        '-Dio.netty.tryReflectionSetAccessible=true',
        '-Dio.netty.allocator.useCacheForAllThreads=true',
        '-Dio.netty.allocator.maxOrder=11',
        `-javaagent:${findJar(lib, 'jamm-')}`,
        `-Dcassandra.config=file://${yaml}`,
        `-Dcassandra.storagedir=${dataDir}`,
        `-Dcassandra.logdir=${logsDir}`,
        `-Dcassandra.triggers_dir=${path.join(dataDir, 'triggers')}`,
        `-Dlogback.configurationFile=${path.join(INFRA, 'logback.xml')}`,
        '-Dcassandra-foreground=yes',
        '-Dcassandra.skip_wait_for_gossip_to_settle=0',
        '-Dcassandra.ring_delay_ms=1000',
        '-Dcassandra.shutdown_announce_in_ms=0',
        '-cp',
        `${lib}/*`,
        'org.apache.cassandra.service.CassandraDaemon',
      ],
    };
  },
  async probe(cfg) {
    const client = createCassandraClient(cfg, { connectTimeoutMs: 2000 });
    try {
      await client.connect();
      const rs = await client.execute('SELECT release_version FROM system.local');
      return `Cassandra ${String(rs.first()?.get('release_version'))}`;
    } finally {
      await client.shutdown();
    }
  },
};
