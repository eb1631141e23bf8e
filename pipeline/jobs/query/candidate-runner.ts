/**
 * Runs a candidate read (the store that is not serving) off the critical path, after GitHub
 * Scientist but safe for a read path: a cap on candidates in flight (over the cap the sample is
 * skipped, never queued), a timeout, and errors recorded, never thrown.
 *
 * A candidate may wait for a gate before it starts (the read router opens it on the turn after
 * the served response was written): its slot is taken at once, so the cap counts it, but its
 * read, its timeout and everything done with its answer come after. A gate that opens with false
 * cancels it (the served read failed: there is nothing to compare).
 */

/** How a candidate read ended. */
export type CandidateOutcome<T> =
  { kind: 'ok'; value: T; ms: number } | { kind: 'error'; error: Error; ms: number } | { kind: 'timeout'; ms: number } | { kind: 'cancelled'; ms: 0 };

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
   * Takes a slot for the candidate if there is room and returns a promise of its outcome (which
   * never rejects), or undefined when the cap is reached and the sample is skipped. With a gate,
   * the read starts once the gate opens (cancelled if it opens with false).
   */
  tryRun<T>(read: () => Promise<T>, gate?: Promise<boolean>): Promise<CandidateOutcome<T>> | undefined {
    if (this.inFlight >= this.maxInFlight) return undefined;
    this.inFlight++;
    if (gate === undefined) return this.start(read);
    return gate.then(
      (go) => {
        if (go) return this.start(read);
        this.inFlight--;
        return { kind: 'cancelled', ms: 0 } as const;
      },
      () => {
        this.inFlight--;
        return { kind: 'cancelled', ms: 0 } as const;
      },
    );
  }

  /** Runs a read whose slot is taken: the timeout starts now. */
  private start<T>(read: () => Promise<T>): Promise<CandidateOutcome<T>> {
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
