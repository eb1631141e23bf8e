import 'server-only';
import { WorkflowNotFoundError } from '@temporalio/client';
import { NextResponse, type NextRequest } from 'next/server';
import { z } from 'zod';
import type { UpdateDefinition } from '@temporalio/common';
import {
  COHORT_NAME_PATTERN,
  REPAIR_WORKFLOW_TYPE,
  repairWorkflowId,
  STAGES,
  VERIFY_WORKFLOW_TYPE,
  verifyWorkflowId,
  type Actor,
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
  setFaultUpdate,
  setRampUpdate,
  startUpdate,
} from '../../contract/migration-messages';
import { repairProgressQuery, verifyProgressQuery } from '../../contract/verify-messages';
import { policyFor } from '../../config/migration-policy';
import { createLogger } from '../../kit/logger';
import { listRuns } from '../../kit/workflow-runs';
import { checkToken } from './auth-store';
import { consoleSettings } from './console-settings';
import { inputIssues } from './input-issues';
import { roleAtLeast, ROLES, type Role } from './roles';
import { AccessDeniedError, type SignedInUser } from './session';
import { createMigration, lookupMigration, RequestRejectedError, sendMigrationUpdate, temporalClient } from './temporal';
import { loadUsers } from './users';
import { planRepairRun, startRepairRun, startVerifyRun } from './verify-runs';

// The operator API under /api/ops/: what `npm run ops` calls. The caller is the owner of a
// personal API token (Authorization: Bearer syt_...), made on the console's API tokens page; the
// role is the lower of the token's and the user's current one, and the user must still be in the
// users file. The identity of every request (the audit actor, the approver) is the token's owner:
// an identity in the body is not read. The same workflow updates as the console's forms, so the
// workflow's own checks (the two-person decommission rule among them) hold here too.

/** The token's owner with the role it may act with, or AccessDeniedError (401/403). */
export async function requireTokenRole(request: NextRequest, needed: Role): Promise<SignedInUser & { tokenId: string }> {
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '');
  if (!m) throw new AccessDeniedError('an API token is required (Authorization: Bearer <token>; create one on the console page /tokens)', 401);
  const checked = await checkToken(m[1]!);
  if (!checked.ok) throw new AccessDeniedError(`the API token is refused: ${checked.reason}`, 401);
  const user = loadUsers().get(checked.username);
  if (!user) throw new AccessDeniedError(`the API token is refused: ${checked.username} is no longer a console user`, 401);
  // A token never carries more than its owner has now (a demoted user's old token is demoted too).
  const role = ROLES[Math.min(ROLES.indexOf(checked.role), ROLES.indexOf(user.role))]!;
  if (!roleAtLeast(role, needed)) throw new AccessDeniedError(`the ${needed} role is required (${user.username}'s token is a ${role} token)`, 403);
  return { username: user.username, role, tokenId: checked.tokenId };
}

const log = createLogger('console-ops-api', process.env.LOG_LEVEL ?? 'info');

/** A JSON error answer. */
export const fail = (status: number, error: string, extra: Record<string, unknown> = {}): NextResponse => NextResponse.json({ error, ...extra }, { status });

/**
 * Runs a handler, turning refusals into 401/403/409 and anything else (Temporal or a store
 * unreachable) into a plain 503: the detail goes to the console's log, not to the caller.
 */
export async function answerOps(run: () => Promise<NextResponse>): Promise<NextResponse> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AccessDeniedError) return fail(err.status, err.message);
    if (err instanceof RequestRejectedError) return fail(409, `rejected: ${err.message}`);
    if (err instanceof WorkflowNotFoundError) return fail(404, err.message);
    log.error({ action: 'ops-api', err: (err as Error).message }, 'operator API request failed');
    return fail(503, 'the migration workflow or a store cannot be reached right now; try again shortly (the console log has the detail)');
  }
}

/** A request's JSON body, or a 400/413 answer. */
export async function jsonBody(request: NextRequest, limit = 16 * 1024): Promise<unknown | NextResponse> {
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > limit) return fail(413, `too large: at most ${limit} bytes`);
  let text: string;
  try {
    text = await request.text();
  } catch {
    return fail(400, 'bad request: the body could not be read');
  }
  if (text.length > limit) return fail(413, `too large: at most ${limit} bytes`);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fail(400, 'bad request: the body is not JSON');
  }
}

const reason = z.string().trim().min(3, 'a reason of at least 3 characters is required (--reason)').max(500);
const requestId = z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'malformed request id');
const minute = z.number().int().min(0).max(8_640_000_000_000_000);
const range = z.object({ fromMinute: minute, toMinute: minute }).refine((r) => r.fromMinute <= r.toMinute, 'from is after to');
const base = { reason, requestId };
/** The cohort a request acts on (migrations with cohorts); absent: the whole environment. */
const cohort = z.string().regex(COHORT_NAME_PATTERN, 'a cohort name (lower-case letters, digits and dashes)').optional();

/** The body of each command (unknown fields, an identity among them, are dropped). */
const commandSchemas = {
  start: z.object({ ...base, demo: z.boolean().default(false), overridePromotionOrder: z.boolean().default(false) }),
  advance: z.object({ ...base, from: z.enum(STAGES), overridePromotionOrder: z.boolean().default(false), cohort }),
  rollback: z.object({ ...base, cohort }),
  pause: z.object({ ...base, cohort }),
  resume: z.object({ ...base, cohort }),
  ramp: z.object({ ...base, percent: z.number().int('the percent is a whole number').min(0).max(100), cohort }),
  approve: z.object(base),
  fault: z.object({ ...base, rate: z.number().min(0).max(1), cohort }),
  verify: z.object({
    ...base,
    range: range.optional(),
    slices: z.number().int().min(1).max(64).optional(),
    pointsPerSecond: z.number().positive().optional(),
  }),
  repair: z.object({
    ...base,
    range,
    deleteExtras: z.boolean().default(false),
    verifyWorkflowId: z.string().max(200).optional(),
    allowPartial: z.boolean().default(false),
    pointsPerSecond: z.number().positive().optional(),
    confirm: z.boolean().default(false),
  }),
} as const;

/** A command of the operator API. */
export type OpsCommand = keyof typeof commandSchemas;

/** A command with its body, parsed by that command's schema (so a switch on `cmd` narrows `body`). */
type ParsedCommand = { [C in OpsCommand]: { cmd: C; body: z.output<(typeof commandSchemas)[C]> } }[OpsCommand];

/** The role each command needs: approving a decommission is an approver's; everything else an operator's. */
const NEEDED: Record<OpsCommand, Role> = {
  start: 'operator',
  advance: 'operator',
  rollback: 'operator',
  pause: 'operator',
  resume: 'operator',
  ramp: 'operator',
  approve: 'approver',
  fault: 'operator',
  verify: 'operator',
  repair: 'operator',
};

/** POST /api/ops/envs/<env>/<command>: one operator request, as the token's owner. */
export async function runCommand(request: NextRequest, env: string, command: string): Promise<NextResponse> {
  return await answerOps(async () => {
    if (!(command in commandSchemas)) return fail(404, `unknown command '${command.slice(0, 40)}' (${Object.keys(commandSchemas).join(', ')})`);
    const cmd = command as OpsCommand;
    const user = await requireTokenRole(request, NEEDED[cmd]);
    if (!consoleSettings().cfg.environments.includes(env))
      return fail(404, `unknown environment '${env.slice(0, 40)}' (${consoleSettings().cfg.environments.join(', ')})`);
    const body = await jsonBody(request);
    if (body instanceof NextResponse) return body;
    const parsed = commandSchemas[cmd].safeParse(body);
    if (!parsed.success) return fail(400, `bad request: ${inputIssues(parsed.error, 'body')}`);
    // The body was parsed by commandSchemas[cmd]: the pair is one of ParsedCommand's.
    const c = { cmd, body: parsed.data } as ParsedCommand;
    const actor: Actor = { identity: user.username, reason: c.body.reason, requestId: c.body.requestId };
    const inCohort = (cohort: string | undefined) => (cohort !== undefined ? { cohort } : {});
    const send = async <A extends Actor>(update: UpdateDefinition<UpdateResult, [A]>, input: NoInfer<A>): Promise<NextResponse> =>
      NextResponse.json({ actor: user.username, result: await sendMigrationUpdate(env, update, input) });
    switch (c.cmd) {
      case 'verify': {
        const p = c.body;
        const input: VerifyInput = {
          ...actor,
          env,
          ...(p.range ? { range: p.range } : {}),
          ...(p.slices ? { slices: p.slices } : {}),
          ...(p.pointsPerSecond ? { pointsPerSecond: p.pointsPerSecond } : {}),
        };
        return NextResponse.json({ actor: user.username, ...(await startVerifyRun(input)) });
      }
      case 'repair': {
        const p = c.body;
        if (p.deleteExtras && !p.verifyWorkflowId) return fail(400, 'bad request: deleting extra items needs the verify run that found them');
        if (typeof p.verifyWorkflowId === 'string' && !p.verifyWorkflowId.startsWith(verifyWorkflowId(env, '')))
          return fail(400, `bad request: ${p.verifyWorkflowId} is not a verify run of ${env}`);
        const input: RepairInput = {
          ...actor,
          env,
          range: p.range,
          ...(p.deleteExtras ? { deleteExtras: true, verifyWorkflowId: p.verifyWorkflowId } : {}),
          ...(p.allowPartial ? { allowPartial: true } : {}),
          ...(p.pointsPerSecond ? { pointsPerSecond: p.pointsPerSecond } : {}),
        };
        if (!p.confirm) return NextResponse.json({ actor: user.username, plan: await planRepairRun(input) });
        return NextResponse.json({ actor: user.username, ...(await startRepairRun(input)) });
      }
      case 'start': {
        // Creating the workflow is part of starting it here, as with the console's create button.
        const { cfg } = consoleSettings();
        await createMigration(env, c.body.demo ? policyFor(env, cfg.environments, 'demo') : undefined);
        return await send(startUpdate, { ...actor, overridePromotionOrder: c.body.overridePromotionOrder });
      }
      case 'advance':
        return await send(advanceUpdate, { ...actor, from: c.body.from, overridePromotionOrder: c.body.overridePromotionOrder, ...inCohort(c.body.cohort) });
      case 'rollback':
        return await send(rollbackUpdate, { ...actor, ...inCohort(c.body.cohort) });
      case 'pause':
        return await send(pauseUpdate, { ...actor, ...inCohort(c.body.cohort) });
      case 'resume':
        return await send(resumeUpdate, { ...actor, ...inCohort(c.body.cohort) });
      case 'ramp':
        return await send(setRampUpdate, { ...actor, percent: c.body.percent, ...inCohort(c.body.cohort) });
      case 'approve':
        return await send(approveDecommissionUpdate, actor);
      case 'fault':
        return await send(setFaultUpdate, { ...actor, newWriterCorruptionRate: c.body.rate, ...inCohort(c.body.cohort) });
    }
  });
}

/** GET /api/ops/status[?env=]: each env's migration state (viewers may read). */
export async function status(request: NextRequest): Promise<NextResponse> {
  return await answerOps(async () => {
    const user = await requireTokenRole(request, 'viewer');
    const { cfg } = consoleSettings();
    const env = request.nextUrl.searchParams.get('env');
    if (env !== null && !cfg.environments.includes(env)) return fail(404, `unknown environment '${env.slice(0, 40)}' (${cfg.environments.join(', ')})`);
    const envs = env ? [env] : cfg.environments;
    const migrations = await Promise.all(envs.map(async (e) => ({ env: e, migration: await lookupMigration(e) })));
    return NextResponse.json({ actor: user.username, role: user.role, envs: migrations });
  });
}

/** GET /api/ops/runs?kind=verify|repair&(id=<run id>|env=<env>): a run's progress report, or an env's newest runs. */
export async function runs(request: NextRequest): Promise<NextResponse> {
  return await answerOps(async () => {
    await requireTokenRole(request, 'viewer');
    const { cfg } = consoleSettings();
    const q = request.nextUrl.searchParams;
    const kind = q.get('kind');
    if (kind !== 'verify' && kind !== 'repair') return fail(400, "bad request: kind must be 'verify' or 'repair'");
    const client = await temporalClient();
    const id = q.get('id');
    const env = q.get('env');
    if (id !== null) {
      const ok = cfg.environments.some((e) => id.startsWith(kind === 'verify' ? verifyWorkflowId(e, '') : repairWorkflowId(e, '')));
      if (!ok) return fail(404, `no ${kind} run '${id.slice(0, 100)}'`);
      const handle = client.workflow.getHandle(id);
      try {
        const [report, described] = await Promise.all([
          kind === 'verify' ? handle.query(verifyProgressQuery) : handle.query(repairProgressQuery),
          handle.describe(),
        ]);
        return NextResponse.json({ id, status: described.status.name, report });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return fail(404, `no ${kind} run '${id}'`);
        throw err;
      }
    }
    if (env === null || !cfg.environments.includes(env))
      return fail(400, `bad request: name a run (id=) or an environment (env=: ${cfg.environments.join(', ')})`);
    const runs =
      kind === 'verify'
        ? await listRuns(client, VERIFY_WORKFLOW_TYPE, verifyWorkflowId, env, cfg.environments, 10)
        : (await listRuns(client, REPAIR_WORKFLOW_TYPE, repairWorkflowId, env, cfg.environments, 20)).filter((r) => !r.workflowId.endsWith('-plan'));
    const list = runs.slice(0, 10).map((r) => ({ ...r, startTime: new Date(r.startTime).toISOString() }));
    return NextResponse.json({ env, runs: list });
  });
}
