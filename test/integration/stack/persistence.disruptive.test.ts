import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { CreateTableCommand, GetItemCommand, PutItemCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createCassandraClient, createDynamoClient, createKafka, connectTemporal } from '../../../config/clients.js';
import { formatHostPort } from '../../../config/config.js';
import { runStackCli, testConfig, uniqueName } from '../../support/stack.js';

// `stack down` then `stack up` must keep everything: a finished workflow, a topic with its
// messages, a Cassandra row and a DynamoDB item.
const require = createRequire(import.meta.url);
const cfg = testConfig();

describe('stack down and up keeps the data', () => {
  it('keeps a workflow, a topic with messages, a Cassandra row and a DynamoDB item', async () => {
    const workflowId = uniqueName('persist-wf');
    const topic = uniqueName('persist-topic');
    const keyspace = uniqueName('persist_ks');
    const table = uniqueName('persist-table');

    // --- write one of each ---
    const native = await NativeConnection.connect({ address: formatHostPort(cfg.temporal.address) });
    const taskQueue = uniqueName('persist');
    const worker = await Worker.create({
      connection: native,
      namespace: cfg.temporal.namespace,
      taskQueue,
      workflowsPath: require.resolve('../fixtures/greeting-workflow.ts'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    });
    let conn = await connectTemporal(cfg);
    await worker.runUntil(
      new Client({ connection: conn, namespace: cfg.temporal.namespace }).workflow.execute('greetingWorkflow', { taskQueue, workflowId, args: ['disk'] }),
    );
    await conn.close();
    await native.close();

    const kafka = createKafka(cfg);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'a', value: 'kept-1' },
        { key: 'b', value: 'kept-2' },
      ],
    });
    await producer.disconnect();

    let cass = createCassandraClient(cfg);
    await cass.connect();
    await cass.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await cass.execute(`CREATE TABLE ${keyspace}.t (k text PRIMARY KEY, v text)`);
    await cass.execute(`INSERT INTO ${keyspace}.t (k, v) VALUES ('row', 'kept') USING TTL 86400`);
    await cass.shutdown();

    let ddb = createDynamoClient(cfg);
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: table });
    await ddb.send(new PutItemCommand({ TableName: table, Item: { k: { S: 'item' }, v: { S: 'kept' } } }));
    ddb.destroy();

    // --- restart the whole stack ---
    const down = await runStackCli(['down']);
    assert.equal(down.code, 0, down.stderr);
    for (const svc of ['temporal', 'kafka', 'cassandra', 'dynamodb']) assert.match(down.stdout, new RegExp(`${svc}: (stopped|did not stop in time, killed)`));
    const status = await runStackCli(['status', '--json']);
    assert.equal(status.code, 1, 'status is non-zero while the stack is down');
    assert.ok((JSON.parse(status.stdout) as { state: string }[]).every((r) => r.state === 'stopped'));
    const up = await runStackCli(['up']);
    assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);

    // --- read everything back ---
    conn = await connectTemporal(cfg);
    const desc = await new Client({ connection: conn, namespace: cfg.temporal.namespace }).workflow.getHandle(workflowId).describe();
    assert.equal(desc.status.name, 'COMPLETED');
    await conn.close();

    const consumer = createKafka(cfg).consumer({ groupId: uniqueName('persist-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only got ${JSON.stringify(values)}`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(message.value!.toString());
            if (values.length === 2) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(values, ['kept-1', 'kept-2']);

    cass = createCassandraClient(cfg);
    await cass.connect();
    const rs = await cass.execute(`SELECT v FROM ${keyspace}.t WHERE k = 'row'`);
    assert.equal(rs.first()?.get('v'), 'kept');
    await cass.execute(`DROP KEYSPACE ${keyspace}`);
    await cass.shutdown();

    ddb = createDynamoClient(cfg);
    const item = await ddb.send(new GetItemCommand({ TableName: table, Key: { k: { S: 'item' } } }));
    assert.equal(item.Item?.v?.S, 'kept');
    ddb.destroy();
  });
});
