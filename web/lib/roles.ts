import { CONSOLE_ROLES, ROLE_DESCRIPTIONS as DESCRIPTIONS, type ConsoleRole } from './console-users';

/** Console roles, least to most privileged: each role can do what the ones before it can. */
export const ROLES = CONSOLE_ROLES;

/** A console role. */
export type Role = ConsoleRole;

/** What each role may do, as shown on the sign-in page and in the docs (defined with the users file, which `npm start` also reads). */
export const ROLE_DESCRIPTIONS: Record<Role, string> = DESCRIPTIONS;

/** True when `role` includes the rights of `needed`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
