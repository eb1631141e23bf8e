/**
 * How the DynamoDB store classifies a failed call: throttling, 5xx and requests that got no
 * answer at all are transient (retried with backoff, then retriable StoreErrors); other 4xx are
 * the caller's fault (non-retriable); anything unknown is retriable, because writes are idempotent
 * and dropping data is worse than retrying.
 */
import { errorMessage, StoreError } from '../store-error.js';

/** Error names that mean "slow down and try again". */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

interface AwsErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The AWS error name of a failure ('' when there is none). */
export function awsErrorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

/** True for DynamoDB failures worth retrying: throttling, 5xx, and requests that got no answer at all. */
export function isTransientDynamoError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (THROTTLING_NAMES.has(err.name)) return true;
  const meta = (err as AwsErrorShape).$metadata;
  if (meta === undefined) return false; // not from the SDK: a bug here, not an outage
  // The SDK attaches $metadata without a status to network failures (refused, reset, timed out).
  return meta.httpStatusCode === undefined || meta.httpStatusCode >= 500;
}

/** A StoreError for a failure that is not one point's fault. */
export function callFailure(err: unknown, action: string): StoreError {
  if (err instanceof StoreError) return err;
  if (isTransientDynamoError(err)) return new StoreError(`${action} failed: ${errorMessage(err)}`, { retriable: true, cause: err });
  const status = (err as AwsErrorShape).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const hint = awsErrorName(err) === 'ResourceNotFoundException' ? ' (has ensureSchema run for this environment?)' : '';
    return new StoreError(`${action} failed: ${awsErrorName(err)}: ${errorMessage(err)}${hint}`, { retriable: false, cause: err });
  }
  // Unknown failures are treated as retriable: writes are idempotent, and dropping data is worse than retrying.
  return new StoreError(`${action} failed: ${errorMessage(err)}`, { retriable: true, cause: err });
}
