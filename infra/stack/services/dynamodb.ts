/**
 * DynamoDB-compatible endpoint: dynalite (npm, open source) with on-disk LevelDB persistence, run
 * by dynalite-server.ts, which refuses requests from web pages (dynalite itself allows any
 * origin). It has no UpdateTimeToLive and never expires items; Switchyard filters expired items on
 * every read anyway, because AWS DynamoDB also returns them until it deletes them.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../../config/clients.js';
import { isLoopbackHost, REPO_ROOT, type SwitchyardConfig } from '../../../config/config.js';
import type { StackService } from '../service.js';

const require = createRequire(import.meta.url);

/** Path of dynalite's command-line entry point. */
export function dynaliteCli(): string {
  return path.join(path.dirname(require.resolve('dynalite/package.json')), 'cli.js');
}

/** The stack's own entry point for dynalite (with the guard against web pages). */
export const DYNALITE_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dynalite-server.ts');

function endpointPort(cfg: SwitchyardConfig): number {
  const url = cfg.dynamodb.endpoint;
  if (!url) return 443;
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** The dynalite server as a stack service. */
export const dynamodbService: StackService = {
  name: 'dynamodb',
  startTimeoutMs: 30_000,
  stopGraceMs: 5_000,
  ports: (cfg) => [{ label: 'http', host: cfg.dynamodb.endpoint?.hostname ?? 'aws', port: endpointPort(cfg) }],
  isLocal: (cfg) => cfg.dynamodb.endpoint !== undefined && isLoopbackHost(cfg.dynamodb.endpoint.hostname),
  endpoint: (cfg) => cfg.dynamodb.endpoint?.toString() ?? `AWS DynamoDB (${cfg.dynamodb.region})`,
  marker: () => DYNALITE_SERVER,
  async provision() {
    // dynalite is an npm devDependency: installed by `npm ci`, nothing more to fetch.
    dynaliteCli();
  },
  async prepare({ cfg }) {
    const dataDir = path.join(cfg.stack.dataDir, 'dynamodb');
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    const host = cfg.dynamodb.endpoint!.hostname.replace(/^\[|\]$/g, '');
    const args = [
      '--import',
      'tsx',
      DYNALITE_SERVER,
      '--host',
      host,
      '--port',
      String(endpointPort(cfg)),
      '--path',
      dataDir,
      '--createTableMs',
      '0',
      '--deleteTableMs',
      '0',
      '--updateTableMs',
      '0',
    ];
    // From the repository, where `--import tsx` resolves.
    return { command: process.execPath, args, cwd: REPO_ROOT };
  },
  async probe(cfg) {
    const client = createDynamoClient(cfg, { connectTimeoutMs: 2000 });
    try {
      const out = await client.send(new ListTablesCommand({ Limit: 100 }));
      return `${out.TableNames?.length ?? 0} tables`;
    } finally {
      client.destroy();
    }
  },
};
