/**
 * Errors a metric store throws. Like kafkajs, every error says whether retrying can help, so a
 * writer knows whether to retry the batch (writes are idempotent upserts) or stop and alert.
 */

/** A store failure; `retriable` tells the caller whether the same call may succeed later. */
export class StoreError extends Error {
  /** True when the failure is transient (timeouts, throttling, unavailable nodes). */
  readonly retriable: boolean;
  constructor(message: string, opts: { retriable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StoreError';
    this.retriable = opts.retriable;
  }
}

/** Bad store options (missing client, bad env name, bad retention): never retriable. */
export class StoreOptionsError extends StoreError {
  /** Each problem, naming the option and what is wrong. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid metric store options:\n  - ${problems.join('\n  - ')}`, { retriable: false });
    this.name = 'StoreOptionsError';
    this.problems = problems;
  }
}

/** The message of anything thrown, for reasons and logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
