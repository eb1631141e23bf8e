import { CONSOLE_ROLES, type ConsoleRole } from './console-users';

/** Console roles, least to most privileged: each role can do what the ones before it can. */
export const ROLES = CONSOLE_ROLES;

/** A console role. */
export type Role = ConsoleRole;

/** What each role may do, as shown on the sign-in page and in the docs. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'reads every page; cannot act',
  operator: 'creates, starts, advances, ramps, pauses, resumes and rolls back migrations',
  approver: 'everything an operator can, and approves decommissions (of someone else’s request)',
};

/** True when `role` includes the rights of `needed`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
