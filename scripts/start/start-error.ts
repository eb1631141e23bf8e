/**
 * The error `npm start` fails with: what could not be started or checked, why, and where to look.
 */

/** A start-up failure, naming the part that failed (a process, a port, the console's sources). */
export class StartError extends Error {
  /** Never retriable as it stands: something must change (a port, a file, a setting) first. */
  readonly retriable = false;
  constructor(
    /** What failed: a process name, a variable, a file. */
    readonly subject: string,
    message: string,
    /** More context: the end of a log, a hint. */
    readonly detail?: string,
  ) {
    super(`${subject}: ${message}${detail ? `\n\n${detail}` : ''}`);
    this.name = 'StartError';
  }
}
