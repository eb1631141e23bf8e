/**
 * Runs a candidate read (the store that is not serving) off the critical path, after GitHub
 * Scientist but safe for a read path: a cap on candidates in flight (over the cap the sample is
 * skipped, never queued), a timeout, and errors recorded, never thrown.
 */

/** How a candidate read ended. */
export type CandidateOutcome<T> = { kind: 'ok'; value: T; ms: number } | { kind: 'error'; error: Error; ms: number } | { kind: 'timeout'; ms: number };

/** A cap on candidate reads in flight. */
export class CandidateRunner {
  private inFlight = 0;
  constructor(
    private readonly maxInFlight: number,
    private readonly timeoutMs: number,
  ) {
    if (!(maxInFlight >= 1)) throw new Error('maxInFlight must be >= 1');
    if (!(timeoutMs > 0)) throw new Error('timeoutMs must be > 0');
  }

  /** Candidates running now. */
  get running(): number {
    return this.inFlight;
  }

  /**
   * Starts the candidate if there is room and returns a promise of its outcome (which never
   * rejects), or undefined when the cap is reached and the sample is skipped.
   */
  tryRun<T>(read: () => Promise<T>): Promise<CandidateOutcome<T>> | undefined {
    if (this.inFlight >= this.maxInFlight) return undefined;
    this.inFlight++;
    const t0 = performance.now();
    let settled = false;
    return new Promise<CandidateOutcome<T>>((resolve) => {
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        resolve({ kind: 'timeout', ms: performance.now() - t0 });
      }, this.timeoutMs);
      let p: Promise<T>;
      try {
        p = read();
      } catch (err) {
        p = Promise.reject(err as Error);
      }
      p.then(
        (value) => {
          // The slot is held until the read really ends, so a slow store cannot pile up reads.
          this.inFlight--;
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ kind: 'ok', value, ms: performance.now() - t0 });
        },
        (error: unknown) => {
          this.inFlight--;
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ kind: 'error', error: error instanceof Error ? error : new Error(String(error)), ms: performance.now() - t0 });
        },
      );
    });
  }
}
