/**
 * The local stack's DynamoDB-compatible server: dynalite (in this process, from npm) with one
 * guard in front. dynalite answers every browser's CORS preflight with
 * `Access-Control-Allow-Origin: *` and checks no signature, so any web page open on this machine
 * could read, change or delete its tables (the console's sessions and tokens, the audit log). A
 * browser always sends Origin on such a request, and the AWS SDK never does: a request with an
 * Origin header is refused (403) before dynalite sees it.
 *
 *   node --import tsx infra/stack/services/dynalite-server.ts --host H --port P --path DIR [--createTableMs N ...]
 */
import type http from 'node:http';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => http.Server;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8000' },
    path: { type: 'string' },
    createTableMs: { type: 'string', default: '0' },
    deleteTableMs: { type: 'string', default: '0' },
    updateTableMs: { type: 'string', default: '0' },
  },
});

const server = dynalite({
  path: values.path,
  createTableMs: Number(values.createTableMs),
  deleteTableMs: Number(values.deleteTableMs),
  updateTableMs: Number(values.updateTableMs),
});
const handlers = server.listeners('request') as ((req: http.IncomingMessage, res: http.ServerResponse) => void)[];
server.removeAllListeners('request');
server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
  if (req.headers.origin !== undefined) {
    const body = JSON.stringify({
      __type: 'com.amazon.coral.service#AccessDeniedException',
      message: 'refused: a request from a web page (it carries Origin); the local DynamoDB serves Switchyard processes only',
    });
    res.writeHead(403, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    req.resume();
    return;
  }
  for (const h of handlers) h.call(server, req, res);
});
server.listen(Number(values.port), values.host, () => {
  console.log(`dynalite listening at http://${values.host}:${values.port} (requests from web pages refused)`);
});
// The stack stops it with SIGTERM: let dynalite close its LevelDB cleanly.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
