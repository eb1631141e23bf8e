'use server';

import { revalidatePath } from 'next/cache';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import {
  COHORT_NAME_PATTERN,
  humanizeTimes,
  MINUTE_MS,
  refusalWords,
  STAGES,
  verifyWorkflowId,
  type RequestKind,
  type MinuteRange,
  type RepairInput,
  type UpdateResult,
  type VerifyInput,
} from '../../contract';
import {
  advanceUpdate,
  approveDecommissionUpdate,
  pauseUpdate,
  resumeUpdate,
  rollbackUpdate,
  setRampUpdate,
  startUpdate,
} from '../../contract/migration-messages';
import { parseUtcInput, UTC_INPUT_EXAMPLE } from './utc-input';
import type { ActionState, RepairActionState, RepairFields } from './action-state';
import { testNotification } from '../../notify/events';
import { consoleSettings } from './console-settings';
import { consoleNotifier } from './console-notifier';
import { inputIssues } from './input-issues';
import { getSession, withRole } from './session';
import { createMigration, RequestRejectedError, sendMigrationUpdate } from './temporal';
import { planRepairRun, startRepairRun, startVerifyRun } from './verify-runs';
import { authenticate } from './users';
import { createSession, endSession } from './auth-store';
import { guardSettings } from './request-guard';
import { signInLimits } from './sign-in-throttle';

// Every write of the console. Each action checks the session and the role on the server first
// (withRole: a forged request from a viewer's browser is refused here, whatever the page showed),
// then validates its input with zod, then sends the workflow the update of its kind, typed
// (contract/migration-messages.ts). The signed-in user is the identity in every update, and so
// in every audit entry.

const envSchema = z.string().refine((e) => consoleSettings().cfg.environments.includes(e), { message: 'unknown environment' });
const reasonSchema = z.string().trim().min(3, 'a reason of at least 3 characters is required').max(500, 'the reason is longer than 500 characters');
const requestIdSchema = z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'malformed request id');

/** A ramp percent as the form sends it: a whole number from 0 to 100 (an empty field is no percent, not 0). */
const percentSchema = z
  .string({ error: 'a percent from 0 to 100 is required' })
  .trim()
  .regex(/^\d{1,3}$/, 'the percent must be a whole number from 0 to 100')
  .transform(Number)
  .pipe(z.number().max(100, 'the percent must be a whole number from 0 to 100'));

/** The cohort a request acts on (an empty field: the whole environment). */
const cohortSchema = z.preprocess((v) => (v === '' || v === null ? undefined : v), z.string().regex(COHORT_NAME_PATTERN, 'not a cohort name').optional());

/** Every request names its env, says why, and carries its request id. */
const request = { env: envSchema, reason: reasonSchema, requestId: requestIdSchema };

/** A request kind of the contract (a name that is not one fails to compile). */
const requestKind = <K extends RequestKind>(k: K) => z.literal(k);

const requestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: requestKind('start'), ...request, overridePromotionOrder: z.boolean() }),
  z.object({ kind: requestKind('advance'), ...request, from: z.enum(STAGES), overridePromotionOrder: z.boolean(), cohort: cohortSchema }),
  z.object({ kind: requestKind('rollback'), ...request, cohort: cohortSchema }),
  z.object({ kind: requestKind('pause'), ...request, cohort: cohortSchema }),
  z.object({ kind: requestKind('resume'), ...request, cohort: cohortSchema }),
  z.object({ kind: requestKind('set_ramp'), ...request, percent: percentSchema, cohort: cohortSchema }),
  z.object({ kind: requestKind('approve_decommission'), ...request }),
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
    cohort: form.get('cohort') ?? undefined,
  };
}

/** A request as the forms send it, checked. */
type MigrationRequest = z.infer<typeof requestSchema>;

/** Sends a checked request as `identity`: each kind its own update, with the input that update takes. */
function sendRequest(p: MigrationRequest, identity: string): Promise<UpdateResult> {
  const actor = { identity, reason: p.reason, requestId: p.requestId };
  // An absent cohort is no cohort (the whole environment), not a field holding nothing.
  const inCohort = (cohort: string | undefined) => (cohort !== undefined ? { cohort } : {});
  switch (p.kind) {
    case 'start':
      return sendMigrationUpdate(p.env, startUpdate, { ...actor, overridePromotionOrder: p.overridePromotionOrder });
    case 'advance':
      return sendMigrationUpdate(p.env, advanceUpdate, { ...actor, from: p.from, overridePromotionOrder: p.overridePromotionOrder, ...inCohort(p.cohort) });
    case 'rollback':
      return sendMigrationUpdate(p.env, rollbackUpdate, { ...actor, ...inCohort(p.cohort) });
    case 'pause':
      return sendMigrationUpdate(p.env, pauseUpdate, { ...actor, ...inCohort(p.cohort) });
    case 'resume':
      return sendMigrationUpdate(p.env, resumeUpdate, { ...actor, ...inCohort(p.cohort) });
    case 'set_ramp':
      return sendMigrationUpdate(p.env, setRampUpdate, { ...actor, percent: p.percent, ...inCohort(p.cohort) });
    case 'approve_decommission':
      return sendMigrationUpdate(p.env, approveDecommissionUpdate, actor);
  }
}

/**
 * Sends one operator request to the env's workflow: create (start the workflow in planned when
 * none runs), start, advance, rollback, pause, resume, set_ramp, approve_decommission.
 */
export async function migrationAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const raw = formObject(form);
  const kind = typeof raw.kind === 'string' ? raw.kind.slice(0, 40) : '';
  return await withRole(
    kind === 'approve_decommission' ? 'approver' : 'operator',
    async (user) => {
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
      if (!parsed.success) return answer('error', `not sent: ${inputIssues(parsed.error, 'request')}`, kind);
      const result = await sendRequest(parsed.data, user.username);
      revalidatePath('/', 'layout');
      return answer(
        'ok',
        `${humanizeTimes(result.message)} (now ${result.stage}${result.ramp ? ` at ${result.ramp}%` : ''}${result.cohort ? `, cohort ${result.cohort}` : ''}, control state v${result.controlVersion})`,
        kind,
      );
    },
    {
      refused: (message) => answer('error', message, kind),
      failed: (err) =>
        err instanceof RequestRejectedError
          ? answer('rejected', `rejected: ${humanizeTimes(refusalWords(err.message, 'console'))}`, kind)
          : answer('error', `could not reach the migration workflow: ${err.message}`, kind),
    },
  );
}

/** A typed time, read as UTC (the console shows every time in UTC), floored to its minute. */
const minuteSchema = z
  .string()
  .trim()
  .transform((t) => parseUtcInput(t) ?? NaN)
  .refine((ms) => Number.isFinite(ms) && ms >= 0, `a UTC time like ${UTC_INPUT_EXAMPLE} is required`)
  .transform((ms) => Math.floor(ms / MINUTE_MS) * MINUTE_MS);
/** An optional time: an empty field is absent. */
const optionalMinute = z.preprocess((v) => (v === '' || v === null ? undefined : v), minuteSchema.optional());

const verifySchema = z
  .object({ ...request, from: optionalMinute, to: optionalMinute })
  .refine((v) => v.from === undefined || v.to === undefined || v.from <= v.to, { message: 'from is after to', path: ['from'] });

const repairSchema = z
  .object({
    kind: z.enum(['preview_repair', 'repair']),
    ...request,
    from: minuteSchema,
    to: minuteSchema,
    deleteExtras: z.boolean(),
    verifyWorkflowId: z.preprocess((v) => (v === '' || v === null ? undefined : v), z.string().trim().max(200).optional()),
    allowPartial: z.boolean(),
  })
  .refine((v) => v.from <= v.to, { message: 'from is after to', path: ['from'] })
  .refine((v) => !v.deleteExtras || v.verifyWorkflowId !== undefined, {
    message: 'deleting extra items needs the verify run that found them',
    path: ['verifyWorkflowId'],
  })
  .refine((v) => v.verifyWorkflowId === undefined || v.verifyWorkflowId.startsWith(verifyWorkflowId(v.env, '')), {
    message: 'not a verify run of this environment',
    path: ['verifyWorkflowId'],
  });

/** A range without a possible `from` or `to`, as the CLI reads it: from the start of time, to now. */
function verifyRange(from: number | undefined, to: number | undefined): MinuteRange | undefined {
  if (from === undefined && to === undefined) return undefined;
  return { fromMinute: from ?? 0, toMinute: to ?? Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS };
}

/** `YYYY-MM-DDTHH:MM` (UTC) of a minute, the value of a datetime-local field. */
const minuteText = (ms: number): string => new Date(ms).toISOString().slice(0, 16);

/** Starts a verify run of the env: a full diff of its two stores over the range (empty: the default range). */
export async function verifyAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const kind = 'verify';
  return await withRole(
    'operator',
    async (user) => {
      const parsed = verifySchema.safeParse({
        env: form.get('env'),
        reason: form.get('reason') ?? '',
        requestId: form.get('requestId'),
        from: form.get('from') ?? undefined,
        to: form.get('to') ?? undefined,
      });
      if (!parsed.success) return answer('error', `not sent: ${inputIssues(parsed.error, 'request')}`, kind);
      const { env, reason, requestId, from, to } = parsed.data;
      const range = verifyRange(from, to);
      const input: VerifyInput = { env, identity: user.username, reason, requestId, ...(range ? { range } : {}) };
      const run = await startVerifyRun(input);
      revalidatePath('/', 'layout');
      return answer('ok', `${run.alreadyStarted ? 'already started' : 'started'} ${run.workflowId} for ${user.username}`, kind);
    },
    {
      refused: (message) => answer('error', message, kind),
      failed: (err) => answer('error', `could not start the verify run: ${err.message}`, kind),
    },
  );
}

/**
 * The repair of a range of the env's new store from its metrics topic, in two steps:
 * preview_repair plans it (a planOnly run: nothing changes) and answers the plan; repair starts
 * the run the operator confirmed (the previewed request, with a request id of its own).
 */
export async function repairAction(_prev: RepairActionState, form: FormData): Promise<RepairActionState> {
  const rawKind = form.get('kind');
  const kind = typeof rawKind === 'string' ? rawKind.slice(0, 40) : '';
  const reply = (status: ActionState['status'], message: string, preview: RepairActionState['preview'] = null): RepairActionState => ({
    ...answer(status, message, kind),
    preview,
  });
  return await withRole(
    'operator',
    async (user) => {
      const parsed = repairSchema.safeParse({
        kind,
        env: form.get('env'),
        reason: form.get('reason') ?? '',
        requestId: form.get('requestId'),
        from: form.get('from') ?? '',
        to: form.get('to') ?? '',
        deleteExtras: form.get('deleteExtras') === 'on',
        verifyWorkflowId: form.get('verifyWorkflowId') ?? undefined,
        allowPartial: form.get('allowPartial') === 'on',
      });
      if (!parsed.success) return reply('error', `not sent: ${inputIssues(parsed.error, 'request')}`);
      const p = parsed.data;
      const input: RepairInput = {
        env: p.env,
        identity: user.username,
        reason: p.reason,
        requestId: p.requestId,
        range: { fromMinute: p.from, toMinute: p.to },
        ...(p.deleteExtras ? { deleteExtras: true, verifyWorkflowId: p.verifyWorkflowId } : {}),
        ...(p.allowPartial ? { allowPartial: true } : {}),
      };
      if (p.kind === 'preview_repair') {
        const report = await planRepairRun(input);
        const fields: RepairFields = {
          from: minuteText(p.from),
          to: minuteText(p.to),
          reason: p.reason,
          deleteExtras: p.deleteExtras,
          verifyWorkflowId: p.deleteExtras ? (p.verifyWorkflowId ?? '') : '',
          allowPartial: p.allowPartial,
        };
        return reply('ok', `planned: nothing changed yet; check the plan and confirm to carry it out`, { report, fields });
      }
      const run = await startRepairRun(input);
      revalidatePath('/', 'layout');
      return reply('ok', `${run.alreadyStarted ? 'already started' : 'started'} ${run.workflowId} for ${user.username}`);
    },
    {
      refused: (message) => reply('error', message),
      failed: (err) =>
        err instanceof RequestRejectedError
          ? reply('rejected', `the repair was refused: ${err.message}`)
          : reply('error', `could not reach the repair workflow: ${err.message}`),
    },
  );
}

/** Sends a test notification for an env to the routes that take it (operator role). */
export async function testNotificationAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const kind = 'test_notification';
  return await withRole(
    'operator',
    async (user) => {
      const env = envSchema.safeParse(form.get('env'));
      if (!env.success) return answer('error', 'not sent: unknown environment', kind);
      const n = consoleNotifier();
      if ('error' in n) return answer('error', `not sent: ${n.error}`, kind);
      const reports = await n.notifier.send(testNotification(env.data, user.username, Date.now(), n.settings.consoleUrl));
      revalidatePath('/notifications');
      if (reports.length === 0)
        return answer('rejected', `no route takes ${env.data}'s notifications: set SWITCHYARD_NOTIFY_URL or SWITCHYARD_NOTIFY_ROUTES`, kind);
      const failed = reports.filter((r) => !r.ok);
      const text = reports.map((r) => `${r.route} (${r.format}): ${r.ok ? 'delivered' : `failed after ${r.attempts} attempts, ${r.error}`}`).join('; ');
      return answer(failed.length ? 'error' : 'ok', text, kind);
    },
    {
      refused: (message) => answer('error', message, kind),
      failed: (err) => answer('error', `could not send: ${err.message}`, kind),
    },
  );
}

const loginSchema = z.object({ username: z.string().trim().min(1, 'enter a username').max(64), password: z.string().min(1, 'enter a password').max(256) });

/**
 * The client's address for sign-in throttling: X-Forwarded-For as Next.js passes it on (it sets it
 * from the connection when the client sent none), or behind a trusted proxy the address that proxy
 * appended last. Without a trusted proxy a client can send its own X-Forwarded-For and so choose
 * its address key; the per-user-name limit holds whatever it sends.
 */
function clientAddress(h: Headers): string {
  const forwarded = (h.get('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (forwarded.length === 0) return 'unknown';
  return guardSettings(process.env, []).trustedProxy ? forwarded[forwarded.length - 1]! : forwarded[0]!;
}

/**
 * Signs in with a username and password from the users file, and starts a server-side session.
 * Throttled per user name and per client address (lib/sign-in-limits.ts): each attempt is counted
 * before its password is checked (a right one gives its point back), so a burst gets at most the
 * limit's number of checks; past the limit every attempt is refused with the time to wait.
 */
export async function loginAction(_prev: ActionState, form: FormData): Promise<ActionState> {
  const parsed = loginSchema.safeParse({ username: form.get('username'), password: form.get('password') });
  if (!parsed.success) return answer('error', parsed.error.issues.map((i) => i.message).join('; '));
  const { username, password } = parsed.data;
  const address = clientAddress(await headers());
  let sessionId: string;
  try {
    const admission = await signInLimits().admit(username, address);
    if (!admission.admitted) return answer('error', `too many attempts, try again in ${admission.waitSeconds} s`);
    const user = await authenticate(username, password);
    if (!user) return answer('error', 'wrong username or password');
    await signInLimits().succeeded(username, address);
    sessionId = await createSession(user.username, user.role);
  } catch (err) {
    return answer('error', `sign-in is unavailable: ${(err as Error).message}`);
  }
  const session = await getSession();
  session.username = username;
  session.sessionId = sessionId;
  session.signedInAt = Date.now();
  await session.save();
  redirect('/');
}

/** Signs out: ends the session on the server (the cookie is worthless from now on), then clears the cookie. */
export async function logoutAction(): Promise<void> {
  const session = await getSession();
  if (session.sessionId) await endSession(session.sessionId);
  session.destroy();
  redirect('/login');
}
