import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateTableCommand, DeleteTableCommand, PutItemCommand, QueryCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../../config/clients.js';
import { testConfig, uniqueName } from '../../support/stack.js';

const cfg = testConfig();

describe('DynamoDB-compatible endpoint on the local stack', () => {
  it('creates a table, writes items and queries them back by key range', async () => {
    const client = createDynamoClient(cfg);
    const table = uniqueName('stack-test');
    try {
      await client.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'minute', AttributeType: 'N' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'minute', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: table });
      for (let m = 0; m < 5; m++) {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: 'app-1#router.service_ms' }, minute: { N: String(29_000_000 + m) }, p99: { N: String(100.125 + m) } },
          }),
        );
      }
      const out = await client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND #minute BETWEEN :a AND :b',
          ExpressionAttributeNames: { '#minute': 'minute' }, // MINUTE is a reserved word
          ExpressionAttributeValues: { ':pk': { S: 'app-1#router.service_ms' }, ':a': { N: '29000001' }, ':b': { N: '29000003' } },
        }),
      );
      assert.deepEqual(
        out.Items?.map((i) => [Number(i.minute!.N), Number(i.p99!.N)]),
        [
          [29_000_001, 101.125],
          [29_000_002, 102.125],
          [29_000_003, 103.125],
        ],
      );
    } finally {
      await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      client.destroy();
    }
  });
});
