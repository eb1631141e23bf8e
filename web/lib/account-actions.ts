'use server';

import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import type { ActionState } from './action-state';
import { createToken, endUserSessions, revokeToken } from './auth-store';
import { consoleSettings } from './console-settings';
import { USERNAME_PATTERN } from './console-users';
import { withRole } from './session';

// The console's own account actions: personal API tokens (any signed-in user, for themself) and
// ending a user's sessions (approvers). Each checks the session and the role on the server first
// (withRole).

/** What the token form answers: the new token appears here once and is never shown again. */
export interface TokenActionState extends ActionState {
  token: string | null;
}

const answer = (status: ActionState['status'], message: string, kind: string, token: string | null = null): TokenActionState => ({
  status,
  message,
  kind,
  at: Date.now(),
  token,
});

const tokenSchema = z.object({
  name: z.string().trim().min(1, 'name the token (what it is for)').max(80, 'the name is longer than 80 characters'),
  days: z
    .string({ error: 'say how many days the token lasts' })
    .trim()
    .regex(/^\d{1,3}$/, 'the lifetime is a whole number of days')
    .transform(Number),
});

/** Creates a personal API token for the signed-in user, with their role, lasting the days asked (at most SWITCHYARD_TOKEN_MAX_DAYS). */
export async function createTokenAction(_prev: TokenActionState, form: FormData): Promise<TokenActionState> {
  const kind = 'create_token';
  return await withRole(
    'viewer',
    async (user) => {
      const parsed = tokenSchema.safeParse({ name: form.get('name'), days: form.get('days') });
      if (!parsed.success) return answer('error', `not created: ${parsed.error.issues.map((i) => i.message).join('; ')}`, kind);
      const max = consoleSettings().tokenMaxDays;
      if (parsed.data.days < 1 || parsed.data.days > max) return answer('error', `not created: a token lasts 1 to ${max} days`, kind);
      const { token, info } = await createToken(user.username, user.role, parsed.data.name, parsed.data.days);
      revalidatePath('/tokens');
      return answer(
        'ok',
        `created token ${info.id} (${user.role}, expires ${new Date(info.expiresAt).toISOString()}); copy it now, it is not shown again`,
        kind,
        token,
      );
    },
    {
      refused: (message) => answer('error', message, kind),
      failed: (err) => answer('error', `could not create the token: ${err.message}`, kind),
    },
  );
}

/** Revokes one of the signed-in user's own tokens. */
export async function revokeTokenAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const kind = 'revoke_token';
  return await withRole(
    'viewer',
    async (user) => {
      const id = form.get('id');
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{16}$/.test(id)) return answer('error', 'not revoked: malformed token id', kind);
      const done = await revokeToken(user.username, id);
      revalidatePath('/tokens');
      return done ? answer('ok', `revoked token ${id}`, kind) : answer('error', `not revoked: you have no token ${id}`, kind);
    },
    {
      refused: (message) => answer('error', message, kind),
      failed: (err) => answer('error', `could not revoke the token: ${err.message}`, kind),
    },
  );
}

/** Ends every session of a user (approvers only): their browsers are signed out at the next request. */
export async function endSessionsAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const kind = 'end_sessions';
  return await withRole(
    'approver',
    async (user) => {
      const username = form.get('username');
      if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) return answer('error', 'not ended: malformed user name', kind);
      const n = await endUserSessions(username);
      revalidatePath('/sessions');
      return answer('ok', `ended ${n} session${n === 1 ? '' : 's'} of ${username} (by ${user.username})`, kind);
    },
    {
      refused: (message) => answer('error', message, kind),
      failed: (err) => answer('error', `could not end the sessions: ${err.message}`, kind),
    },
  );
}
