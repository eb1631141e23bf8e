import 'server-only';
import { SignInLimits } from './sign-in-limits';

// The console's sign-in limits (lib/sign-in-limits.ts): at most 10 failed sign-ins a minute for
// one user name and 30 for one client address, each attempt counted before its password is
// checked. One set per server process. Several console instances behind a load balancer each
// keep their own counts: give them a shared store (the library's DynamoDB or Redis limiters) if
// that matters.

/** Failed sign-ins allowed per user name per window. */
export const USER_ATTEMPTS = 10;
/** Failed sign-ins allowed per client address per window. */
export const ADDRESS_ATTEMPTS = 30;
/** The window, seconds. */
export const WINDOW_SECONDS = 60;

const g = globalThis as unknown as { switchyardSignInLimits?: SignInLimits };

/** This server's sign-in limits. */
export function signInLimits(): SignInLimits {
  g.switchyardSignInLimits ??= new SignInLimits({ userAttempts: USER_ATTEMPTS, addressAttempts: ADDRESS_ATTEMPTS, windowSeconds: WINDOW_SECONDS });
  return g.switchyardSignInLimits;
}
