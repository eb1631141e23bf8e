import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

// Sign-in throttling (rate-limiter-flexible, in this server's memory): at most `userAttempts`
// sign-ins that fail per user name and `addressAttempts` per client address in a window. An
// attempt is counted BEFORE its password is checked, so a burst sent at once cannot get more
// checks than the limit (counting after the check let all of them through while the first were
// still being hashed); a right password gives its point back (the user name starts afresh, the
// address gets its one point back). Past either limit every attempt, even with the right
// password, is refused with the time to wait, and costs nothing: its point is given back to the
// other limiter. Pure of Next.js, so unit tests can run it.

/** The limits; the defaults are the console's. */
export interface SignInLimitOptions {
  userAttempts?: number;
  addressAttempts?: number;
  windowSeconds?: number;
}

/** An attempt may go on to the password check, or must wait this many seconds. */
export type SignInAdmission = { admitted: true } | { admitted: false; waitSeconds: number };

/** Sign-in limits per user name and per client address. */
export class SignInLimits {
  readonly userAttempts: number;
  readonly addressAttempts: number;
  private readonly byUser: RateLimiterMemory;
  private readonly byAddress: RateLimiterMemory;

  constructor(o: SignInLimitOptions = {}) {
    this.userAttempts = o.userAttempts ?? 10;
    this.addressAttempts = o.addressAttempts ?? 30;
    const duration = o.windowSeconds ?? 60;
    this.byUser = new RateLimiterMemory({ keyPrefix: 'signin-user', points: this.userAttempts, duration });
    this.byAddress = new RateLimiterMemory({ keyPrefix: 'signin-address', points: this.addressAttempts, duration });
  }

  /**
   * Counts an attempt against the user name and the address before its password is checked
   * (synchronously in memory, so concurrent attempts are counted one by one); refused when either
   * is over its limit, with the seconds to wait.
   */
  async admit(username: string, address: string): Promise<SignInAdmission> {
    const [u, a] = await Promise.allSettled([this.byUser.consume(username), this.byAddress.consume(address)]);
    if (u.status === 'fulfilled' && a.status === 'fulfilled') return { admitted: true };
    // A refused attempt checks nothing: the limiter that let it through gets its point back.
    if (u.status === 'fulfilled') await this.byUser.reward(username, 1);
    if (a.status === 'fulfilled') await this.byAddress.reward(address, 1);
    const waitMs = Math.max(...[u, a].map((r) => (r.status === 'rejected' ? msBeforeNext(r.reason) : 0)));
    return { admitted: false, waitSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** A right password: the user name starts afresh and the address gets its point back. */
  async succeeded(username: string, address: string): Promise<void> {
    await Promise.all([this.byUser.delete(username), this.byAddress.reward(address, 1)]);
  }
}

function msBeforeNext(reason: unknown): number {
  // consume() rejects with the limiter's state when over the limit, with an Error when it failed.
  if (reason instanceof RateLimiterRes) return reason.msBeforeNext;
  throw reason;
}
