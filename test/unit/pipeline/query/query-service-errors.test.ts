import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startQueryService } from '../../../../pipeline/jobs/query/query-service.js';
import type { ReadRouter } from '../../../../pipeline/jobs/query/read-router.js';
import { initialControlState } from '../../../../control/index.js';

describe('query service: a failing store', () => {
  it('answers a plain 503 and keeps the store error for its log', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const router = {
      read: async () => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:9042 (keyspace switchyard_production, table metric_points)');
      },
    } as unknown as ReadRouter;
    const server = await startQueryService(
      { router, environments: ['production'], control: (env) => initialControlState(env, 3_600_000), registry: new Registry(), logger },
      0,
    );
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/v1/envs/production/apps/app-1/metrics/router.service_ms`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      const text = await res.text();
      assert.deepEqual(JSON.parse(text), { error: 'the store serving this query is unavailable' });
      assert.doesNotMatch(text, /10\.1\.2\.3|keyspace|ECONNREFUSED/);
      assert.ok(
        lines.some((l) => l.includes('ECONNREFUSED 10.1.2.3:9042') && l.includes('"action":"query-failed"')),
        'the detail is in the log',
      );
    } finally {
      await server.close();
    }
  });
});
