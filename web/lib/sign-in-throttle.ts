import 'server-only';
import { RateLimiterMemory } from 'rate-limiter-flexible';

// Sign-in throttling (rate-limiter-flexible, in this server's memory): at most 10 failed
// sign-ins a minute for one user name and 30 for one client address; past either, every
// attempt (even with the right password) is refused until the minute is over, with the time to
// wait. A right password resets the user name's count. Several console instances behind a load
// balancer each keep their own counts: give them a shared store (the library's DynamoDB or Redis
// limiters) if that matters.

/** Failed sign-ins allowed per user name per window. */
export const USER_ATTEMPTS = 10;
/** Failed sign-ins allowed per client address per window. */
export const ADDRESS_ATTEMPTS = 30;
/** The window, seconds. */
export const WINDOW_SECONDS = 60;

const g = globalThis as unknown as { switchyardSignInLimits?: { byUser: RateLimiterMemory; byAddress: RateLimiterMemory } };
function limiters(): { byUser: RateLimiterMemory; byAddress: RateLimiterMemory } {
  g.switchyardSignInLimits ??= {
    byUser: new RateLimiterMemory({ keyPrefix: 'signin-user', points: USER_ATTEMPTS, duration: WINDOW_SECONDS }),
    byAddress: new RateLimiterMemory({ keyPrefix: 'signin-address', points: ADDRESS_ATTEMPTS, duration: WINDOW_SECONDS }),
  };
  return g.switchyardSignInLimits;
}

/** Seconds to wait before this user name or address may try again, or 0 when it may try now. */
export async function signInWaitSeconds(username: string, address: string): Promise<number> {
  const { byUser, byAddress } = limiters();
  const [u, a] = await Promise.all([byUser.get(username), byAddress.get(address)]);
  const wait = (r: typeof u, limit: number): number => (r && r.consumedPoints >= limit ? Math.max(1, Math.ceil(r.msBeforeNext / 1000)) : 0);
  return Math.max(wait(u, USER_ATTEMPTS), wait(a, ADDRESS_ATTEMPTS));
}

/** Counts a failed sign-in against the user name and the address. */
export async function recordFailedSignIn(username: string, address: string): Promise<void> {
  const { byUser, byAddress } = limiters();
  // consume() rejects once over the limit; the count is what matters here, not the rejection.
  await Promise.allSettled([byUser.consume(username), byAddress.consume(address)]);
}

/** A right password: the user name starts afresh (the address keeps its count). */
export async function recordSignIn(username: string): Promise<void> {
  await limiters().byUser.delete(username);
}
