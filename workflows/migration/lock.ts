/** The lock that serializes transitions: a handler and the evaluation loop never interleave. */
import { condition } from '@temporalio/workflow';

/** One holder at a time, in arrival order (tickets), so transitions never interleave. */
export class TransitionLock {
  private issued = 0;
  private serving = 0;

  /** True when nobody holds or waits for the lock. */
  get idle(): boolean {
    return this.issued === this.serving;
  }

  /** Runs fn once every earlier holder is done. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const ticket = this.issued++;
    await condition(() => this.serving === ticket);
    try {
      return await fn();
    } finally {
      this.serving++;
    }
  }
}
