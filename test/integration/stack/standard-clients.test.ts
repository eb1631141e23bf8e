import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { formatHostPort } from '../../../config/config.js';
import { localKafkaAdminClientProperties } from '../../../config/kafka-credentials.js';
import { runCommand, testConfig, uniqueName } from '../../support/stack.js';

// Tools that are not the project's own code must work against the stack too: it speaks the
// real protocols, so operators can use what they already know.
const cfg = testConfig();
const bin = (name: string): string => path.join(cfg.stack.toolsDir, 'python', 'bin', name);
const kafkaCp = `${path.join(cfg.stack.toolsDir, 'kafka', 'lib')}/*`;
const java = cfg.stack.javaHome ? path.join(cfg.stack.javaHome, 'bin', 'java') : 'java';
const broker = formatHostPort(cfg.kafka.brokers[0]!);

describe('standard clients against the local stack', () => {
  it('the Temporal CLI reaches the server and sees the search attributes', async () => {
    const res = await runCommand(bin('temporal'), [
      'operator',
      'search-attribute',
      'list',
      '--address',
      formatHostPort(cfg.temporal.address),
      '--namespace',
      cfg.temporal.namespace,
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /SwitchyardStage\s+Keyword/);
    assert.match(res.stdout, /SwitchyardRampPercent\s+Int/);
  });

  it("Kafka's own console producer and consumer exchange messages (as admin, with the stack's client settings)", async () => {
    const adminProps = localKafkaAdminClientProperties(cfg.stack.dir);
    const topic = uniqueName('console');
    const create = await runCommand(java, [
      '-cp',
      kafkaCp,
      'org.apache.kafka.tools.TopicCommand',
      '--bootstrap-server',
      broker,
      '--create',
      '--topic',
      topic,
      '--partitions',
      '1',
      '--command-config',
      adminProps,
    ]);
    assert.equal(create.code, 0, create.stderr);
    const produce = await runCommand(
      java,
      ['-cp', kafkaCp, 'org.apache.kafka.tools.ConsoleProducer', '--bootstrap-server', broker, '--command-config', adminProps, '--topic', topic],
      {
        input: 'first line\nsecond line\n',
      },
    );
    assert.equal(produce.code, 0, produce.stderr);
    const consume = await runCommand(java, [
      '-cp',
      kafkaCp,
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      '--bootstrap-server',
      broker,
      '--command-config',
      adminProps,
      '--topic',
      topic,
      '--from-beginning',
      '--max-messages',
      '2',
      '--timeout-ms',
      '30000',
    ]);
    assert.equal(consume.code, 0, consume.stderr);
    assert.deepEqual(consume.stdout.trim().split('\n'), ['first line', 'second line']);
  });

  it('cqlsh runs CQL against Cassandra', async () => {
    const cp = cfg.cassandra.contactPoints[0]!;
    const ks = uniqueName('cqlsh');
    const res = await runCommand(bin('cqlsh'), [
      cp.host,
      String(cp.port),
      '-e',
      `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}; CREATE TABLE ${ks}.t (k int PRIMARY KEY, v text); INSERT INTO ${ks}.t (k, v) VALUES (1, 'from cqlsh') USING TTL 600; SELECT v FROM ${ks}.t WHERE k = 1; DROP KEYSPACE ${ks};`,
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /from cqlsh/);
  });

  it('the AWS CLI works against the DynamoDB endpoint with --endpoint-url', async () => {
    const table = uniqueName('awscli');
    const env = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_DEFAULT_REGION: cfg.dynamodb.region };
    const aws = (...args: string[]) =>
      runCommand(bin('aws'), ['dynamodb', ...args, '--endpoint-url', cfg.dynamodb.endpoint!.toString(), '--output', 'json'], { env });
    const create = await aws(
      'create-table',
      '--table-name',
      table,
      '--attribute-definitions',
      'AttributeName=k,AttributeType=S',
      '--key-schema',
      'AttributeName=k,KeyType=HASH',
      '--billing-mode',
      'PAY_PER_REQUEST',
    );
    assert.equal(create.code, 0, create.stderr);
    try {
      const put = await aws('put-item', '--table-name', table, '--item', '{"k": {"S": "a"}, "v": {"N": "42.5"}}');
      assert.equal(put.code, 0, put.stderr);
      const get = await aws('get-item', '--table-name', table, '--key', '{"k": {"S": "a"}}');
      assert.equal(get.code, 0, get.stderr);
      assert.equal((JSON.parse(get.stdout) as { Item: { v: { N: string } } }).Item.v.N, '42.5');
      const list = await aws('list-tables');
      assert.ok((JSON.parse(list.stdout) as { TableNames: string[] }).TableNames.includes(table));
    } finally {
      await aws('delete-table', '--table-name', table);
    }
  });
});
