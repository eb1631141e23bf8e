/**
 * How the errors of the data-plane modules become Temporal failures. Those modules mark every
 * error with `retriable` (like kafkajs); an activity turns a non-retriable one into a
 * non-retryable ApplicationFailure (retrying cannot help, the workflow must decide) and lets a
 * retriable one through unchanged, so the activity's retry policy handles it.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ActivityFailureType } from '../contract/index.js';
import { AcknowledgementTimeoutError } from '../control/index.js';

/**
 * The error to throw from an activity for `err`:
 * - AcknowledgementTimeoutError → a retryable ApplicationFailure whose message names every
 *   laggard (instance, role, applied version) and whose details carry them: laggards may catch
 *   up or die (and stop counting) before the next attempt, and the workflow's retry policy
 *   bounds how long it keeps trying; the message is what the console shows meanwhile.
 * - any error with `retriable === false` → a non-retryable ApplicationFailure of the error's name.
 * - anything else (Kafka, Cassandra, DynamoDB, Temporal being unavailable) → unchanged, retried.
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof AcknowledgementTimeoutError) {
    return ApplicationFailure.create({
      message: err.message,
      type: ActivityFailureType.acknowledgementTimeout,
      nonRetryable: false,
      details: [{ env: err.env, version: err.version, laggards: err.laggards, timeoutMs: err.timeoutMs, readFailure: err.readFailure ?? null }],
      cause: err,
    });
  }
  if (err instanceof Error && (err as { retriable?: unknown }).retriable === false) {
    return ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: true, cause: err });
  }
  return err;
}

/** A non-retryable failure for activity input the workflow should never have sent. */
export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: ActivityFailureType.invalidInput, nonRetryable: true });
}
