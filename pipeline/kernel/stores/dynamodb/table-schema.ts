/**
 * The DynamoDB store's schema: its table created when missing (safe when several instances race
 * to create it), refused when it exists with other keys, waited for until ACTIVE, and TTL turned
 * on for expiresAt. Endpoints without a TTL API (dynalite) get a warning instead: nothing is
 * deleted there, and reads still filter expired items.
 */
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, UpdateTimeToLiveCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { keyedTable } from '../ensure-dynamo-table.js';
import { errorMessage, StoreError } from '../store-error.js';
import { awsErrorName, callFailure } from './dynamo-errors.js';
import { DYNAMO_TTL_ATTRIBUTE } from './items.js';
import { TableAccess, type TableSettings } from './table-access.js';

/** ensureSchema's warning when the endpoint (e.g. dynalite) has no TTL: nothing is ever deleted, reads still filter. */
export const DYNAMO_TTL_UNSUPPORTED_WARNING = 'TTL not supported by this endpoint; expired items are filtered on read';

/** Creates and checks one environment's table. */
export class TableSchema extends TableAccess {
  /** How long ensureSchema waits for a new table to become ACTIVE, in seconds. */
  private readonly tableActiveTimeoutSeconds: number;

  constructor(s: TableSettings, tableActiveTimeoutSeconds: number) {
    super(s);
    this.tableActiveTimeoutSeconds = tableActiveTimeoutSeconds;
  }

  /**
   * Creates the table if missing and waits until it is ACTIVE, then turns TTL on for expiresAt.
   * Returns DYNAMO_TTL_UNSUPPORTED_WARNING where the endpoint has no TTL API (dynalite).
   */
  async ensureSchema(): Promise<string[]> {
    let status: string | undefined;
    try {
      const described = await this.attempt('describe table', () => this.client.send(new DescribeTableCommand({ TableName: this.table })));
      this.checkKeySchema(described.Table?.KeySchema);
      status = described.Table?.TableStatus;
    } catch (err) {
      if (awsErrorName(err) !== 'ResourceNotFoundException') throw callFailure(err, `describe table ${this.table}`);
      await this.createTable();
    }
    if (status !== 'ACTIVE') {
      try {
        await waitUntilTableExists({ client: this.client, maxWaitTime: this.tableActiveTimeoutSeconds }, { TableName: this.table });
      } catch (err) {
        throw new StoreError(`table ${this.table} did not become ACTIVE within ${this.tableActiveTimeoutSeconds} s: ${errorMessage(err)}`, {
          retriable: true,
          cause: err,
        });
      }
    }
    return this.ensureTtl();
  }

  private async createTable(): Promise<void> {
    try {
      await this.attempt('create table', () => this.client.send(new CreateTableCommand(keyedTable(this.table, ['series', 'S'], ['minute', 'N']))));
    } catch (err) {
      // Another instance created it between our DescribeTable and CreateTable: fine, wait for it.
      if (awsErrorName(err) !== 'ResourceInUseException') throw callFailure(err, `create table ${this.table}`);
    }
  }

  /** An existing table with other keys would make every write a ValidationException: refuse it up front. */
  private checkKeySchema(keySchema: { AttributeName?: string; KeyType?: string }[] | undefined): void {
    const found = (keySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
    if (keySchema !== undefined && found !== 'series:HASH,minute:RANGE') {
      throw new StoreError(`table ${this.table} exists with key schema ${found}, expected series:HASH,minute:RANGE`, { retriable: false });
    }
  }

  private async ensureTtl(): Promise<string[]> {
    try {
      const described = await this.attempt('describe TTL', () => this.client.send(new DescribeTimeToLiveCommand({ TableName: this.table })));
      const d = described.TimeToLiveDescription;
      const on = d?.TimeToLiveStatus === 'ENABLED' || d?.TimeToLiveStatus === 'ENABLING';
      if (on && d?.AttributeName === DYNAMO_TTL_ATTRIBUTE) return [];
      if (on) {
        return [
          `table ${this.table} has TTL on attribute ${d?.AttributeName}, not ${DYNAMO_TTL_ATTRIBUTE}; expired items are filtered on read but never deleted`,
        ];
      }
      // Asked only when off: AWS refuses to "enable" TTL that is already enabled.
      await this.attempt('update TTL', () =>
        this.client.send(
          new UpdateTimeToLiveCommand({ TableName: this.table, TimeToLiveSpecification: { AttributeName: DYNAMO_TTL_ATTRIBUTE, Enabled: true } }),
        ),
      );
      return [];
    } catch (err) {
      if (awsErrorName(err) === 'UnknownOperationException') return [DYNAMO_TTL_UNSUPPORTED_WARNING];
      throw callFailure(err, `enable TTL on ${this.table}`);
    }
  }
}
