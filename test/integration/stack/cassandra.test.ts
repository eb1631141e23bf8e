import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCassandraClient } from '../../../config/clients.js';
import { testConfig, uniqueName } from '../../support/stack.js';

const cfg = testConfig();

describe('Cassandra on the local stack', () => {
  it('creates a keyspace and reads back a row written with a TTL', async () => {
    const client = createCassandraClient(cfg);
    const keyspace = uniqueName('stack_test');
    await client.connect();
    try {
      await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      await client.execute(`CREATE TABLE ${keyspace}.points (app text, minute timestamp, value double, PRIMARY KEY (app, minute))`);
      const minute = new Date('2026-11-26T09:00:00Z');
      await client.execute(`INSERT INTO ${keyspace}.points (app, minute, value) VALUES (?, ?, ?) USING TTL 3600`, ['app-1', minute, 12.5], {
        prepare: true,
      });
      const rs = await client.execute(`SELECT value, TTL(value) AS ttl FROM ${keyspace}.points WHERE app = ? AND minute = ?`, ['app-1', minute], {
        prepare: true,
      });
      assert.equal(rs.rowLength, 1);
      assert.equal(rs.first().get('value'), 12.5);
      const ttl = rs.first().get('ttl') as number;
      assert.ok(ttl > 3500 && ttl <= 3600, `TTL should be just under 3600, was ${ttl}`);

      // A row with a 1-second TTL is gone once it expires: the store enforces retention.
      await client.execute(`INSERT INTO ${keyspace}.points (app, minute, value) VALUES ('app-2', ?, 1) USING TTL 1`, [minute], { prepare: true });
      await new Promise((r) => setTimeout(r, 2100));
      const gone = await client.execute(`SELECT * FROM ${keyspace}.points WHERE app = 'app-2'`);
      assert.equal(gone.rowLength, 0);
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      await client.shutdown();
    }
  });
});
