/**
 * Creates a DynamoDB table if it does not exist and waits until it is active (idempotent, safe
 * when several processes race to create it). Used for the control tables (science stats,
 * mismatch samples, audit log).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

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
