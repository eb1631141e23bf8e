/**
 * Creates a DynamoDB table if it does not exist and waits until it is active (idempotent, safe
 * when several processes race to create it). Used for the control tables (science stats,
 * mismatch samples, audit log); keyedTable describes every table, the store's too.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** A key attribute: its name and DynamoDB scalar type. */
export type KeyAttribute = readonly [name: string, type: 'S' | 'N'];

/** An on-demand table keyed by a partition key and a sort key: every Switchyard table has that shape. */
export function keyedTable(tableName: string, partitionKey: KeyAttribute, sortKey: KeyAttribute): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: partitionKey[0], AttributeType: partitionKey[1] },
      { AttributeName: sortKey[0], AttributeType: sortKey[1] },
    ],
    KeySchema: [
      { AttributeName: partitionKey[0], KeyType: 'HASH' },
      { AttributeName: sortKey[0], KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** Ensures the table described by `input` exists and is active. */
export async function ensureDynamoTable(client: DynamoDBClient, input: CreateTableCommandInput, maxWaitSeconds = 60): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  try {
    await client.send(new CreateTableCommand(input));
  } catch (err) {
    // Another process created it first: fine, wait for it below.
    if ((err as Error).name !== 'ResourceInUseException') throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: maxWaitSeconds }, { TableName: input.TableName });
}
