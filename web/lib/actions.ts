'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { STAGES, UPDATE_NAMES } from '../../contract';
import type { ActionState } from './action-state';
import { consoleSettings } from './console-settings';
import { AccessDeniedError, getSession, requireRole } from './session';
import { createMigration, RequestRejectedError, sendMigrationUpdate } from './temporal';
import { authenticate } from './users';

// Every write of the console. Each action checks the session and the role on the server first
// (a forged request from a viewer's browser is refused here, whatever the page showed), then
// validates its input with zod, then calls the workflow by its update name. The signed-in user
// is the identity in every update, and so in every audit entry.

const envSchema = z.string().refine((e) => consoleSettings().cfg.environments.includes(e), { message: 'unknown environment' });
const reasonSchema = z.string().trim().min(3, 'a reason of at least 3 characters is required').max(500, 'the reason is longer than 500 characters');
const requestIdSchema = z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'malformed request id');

/** Every request names its env, says why, and carries its request id. */
const request = { env: envSchema, reason: reasonSchema, requestId: requestIdSchema };

const requestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('start'), ...request, overridePromotionOrder: z.boolean() }),
  z.object({ kind: z.literal('advance'), ...request, from: z.enum(STAGES), overridePromotionOrder: z.boolean() }),
  z.object({ kind: z.literal('rollback'), ...request }),
  z.object({ kind: z.literal('pause'), ...request }),
  z.object({ kind: z.literal('resume'), ...request }),
  z.object({ kind: z.literal('set_ramp'), ...request, percent: z.coerce.number().int('the percent is a whole number').min(0).max(100) }),
  z.object({ kind: z.literal('approve_decommission'), ...request }),
]);

const answer = (status: ActionState['status'], message: string, kind = ''): ActionState => ({ status, message, kind, at: Date.now() });

function formObject(form: FormData): Record<string, unknown> {
  return {
    kind: form.get('kind'),
    env: form.get('env'),
    reason: form.get('reason') ?? '',
    requestId: form.get('requestId'),
    from: form.get('from') ?? undefined,
    percent: form.get('percent') ?? undefined,
    overridePromotionOrder: form.get('overridePromotionOrder') === 'on',
  };
}

/**
 * Sends one operator request to the env's workflow: create (start the workflow in planned when
 * none runs), start, advance, rollback, pause, resume, set_ramp, approve_decommission.
 */
export async function migrationAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const raw = formObject(form);
  const kind = typeof raw.kind === 'string' ? raw.kind.slice(0, 40) : '';
  try {
    const user = await requireRole(kind === 'approve_decommission' ? 'approver' : 'operator');
    if (kind === 'create') {
      const env = envSchema.safeParse(raw.env);
      if (!env.success) return answer('error', 'not sent: unknown environment', kind);
      const created = await createMigration(env.data);
      revalidatePath('/', 'layout');
      return created
        ? answer('ok', `created the ${env.data} migration workflow (planned) for ${user.username}`, kind)
        : answer('rejected', `rejected: a ${env.data} migration workflow is already running`, kind);
    }
    const parsed = requestSchema.safeParse(raw);
    if (!parsed.success)
      return answer('error', `not sent: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`, kind);
    const { kind: k, env, ...rest } = parsed.data;
    const input = { ...rest, identity: user.username };
    const result = await sendMigrationUpdate(env, UPDATE_NAMES[k], input);
    revalidatePath('/', 'layout');
    return answer('ok', `${result.message} (now ${result.stage}${result.ramp ? ` at ${result.ramp}%` : ''}, control state v${result.controlVersion})`, kind);
  } catch (err) {
    if (err instanceof AccessDeniedError) return answer('error', `refused: ${err.message}`, kind);
    if (err instanceof RequestRejectedError) return answer('rejected', `rejected: ${err.message}`, kind);
    return answer('error', `could not reach the migration workflow: ${(err as Error).message}`, kind);
  }
}

const loginSchema = z.object({ username: z.string().trim().min(1, 'enter a username').max(64), password: z.string().min(1, 'enter a password').max(256) });

/** Signs in with a username and password from the users file. */
export async function loginAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const parsed = loginSchema.safeParse({ username: form.get('username'), password: form.get('password') });
  if (!parsed.success) return answer('error', parsed.error.issues.map((i) => i.message).join('; '));
  let user;
  try {
    user = authenticate(parsed.data.username, parsed.data.password);
  } catch (err) {
    return answer('error', `sign-in is unavailable: ${(err as Error).message}`);
  }
  if (!user) return answer('error', 'wrong username or password');
  const session = await getSession();
  session.username = user.username;
  session.role = user.role;
  session.signedInAt = Date.now();
  await session.save();
  redirect('/');
}

/** Signs out (destroys the session cookie). */
export async function logoutAction(): Promise<void> {
  const session = await getSession();
  session.destroy();
  redirect('/login');
}
