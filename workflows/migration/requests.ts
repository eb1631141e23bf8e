/**
 * Operator requests: what each update is refused for (judged under the lock, since the state may
 * have moved while a request waited), de-duplication by request id across continue-as-new, and
 * the audit entry of every refusal.
 */
import { ApplicationFailure, TemporalFailure, log, patched, setHandler } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import {
  formatDuration,
  MigrationFailureType,
  nextStage,
  rejectedAction,
  Stage,
  STAGES,
  type Actor,
  type AdvanceInput,
  type CohortActor,
  type OperationRecord,
  type RequestKind,
  type SetFaultInput,
  type SetRampInput,
  type UpdateResult,
} from '../../contract/index.js';
import { cohortAdvanceFailures, findCohort, hasCohorts, nextCohortToAdvance } from '../cohort-gates.js';
import { formatTime, isRamped, localGateFailures } from '../migration-gates.js';
import { actorProblem } from '../migration-input.js';
import type { TransitionLock } from './lock.js';
import { errorMessage, gateContext, MAX_RECENT_REQUESTS, rejection, type Run } from './state.js';
import { audit } from './transitions.js';

/** The patch from which refused requests are judged in the handler and audited. */
export const AUDIT_REJECTIONS_PATCH = 'audit-rejections';

/**
 * Why a request may not name `cohort`, or null: the migration must have cohorts, the name must be
 * one of them, and the cohorts must have begun (science on).
 */
export function cohortProblem(r: Run, cohort: unknown): string | null {
  if (cohort === undefined) return null;
  const names = (r.policy.cohorts ?? []).map((c) => c.name);
  if (names.length === 0) return `the ${r.env} migration moves every app together: it has no cohorts (the request named ${JSON.stringify(cohort)})`;
  if (typeof cohort !== 'string' || !names.includes(cohort)) return `unknown cohort ${JSON.stringify(cohort)} (the cohorts are ${names.join(', ')})`;
  if (!r.state.cohorts) return `the cohorts begin in science; the ${r.env} migration is in ${r.state.stage}`;
  return null;
}

export function checkAdvance(r: Run, a: AdvanceInput): string | null {
  const s = r.state;
  if (!(STAGES as readonly string[]).includes(a.from)) return `from must name a stage (${STAGES.join(', ')}), got ${JSON.stringify(a.from)}`;
  if (a.overridePromotionOrder !== undefined && typeof a.overridePromotionOrder !== 'boolean') return 'overridePromotionOrder must be a boolean';
  if (a.from !== s.stage) return `stale page or double click: the ${r.env} migration is in ${s.stage}, not ${a.from}; nothing was changed`;
  const named = cohortProblem(r, a.cohort);
  if (named !== null) return named;
  if (a.cohort !== undefined && s.stage !== Stage.science)
    return `a cohort is moved on its own only from science to cutover; ${r.env} is in ${s.stage} (advance without a cohort)`;
  if (s.stage === Stage.decommission)
    return s.pendingApproval ? 'decommission is waiting for approval: approve it instead of advancing' : 'the old store is being decommissioned';
  if (s.stage === Stage.complete) return `the ${r.env} migration is complete`;
  if (s.stage === Stage.planned) return null;
  if (hasCohorts(r.policy) && isRamped(s.stage)) {
    const target = a.cohort !== undefined ? findCohort(s, a.cohort) : nextCohortToAdvance(s);
    const failing = cohortAdvanceFailures(gateContext(r), target);
    const what = s.stage === Stage.science ? `cohort ${target?.name ?? '?'} cannot leave science` : `cannot leave ${s.stage}`;
    return failing.length === 0 ? null : `${what}: gate ${s.stage}->${nextStage(s.stage) ?? ''} not met: ${failing.join('; ')}`;
  }
  const failing = localGateFailures(gateContext(r));
  return failing.length === 0 ? null : `cannot leave ${s.stage}: gate ${s.stage}->${nextStage(s.stage) ?? ''} not met: ${failing.join('; ')}`;
}

export function checkRollback(r: Run, a: CohortActor): string | null {
  const s = r.state;
  const named = cohortProblem(r, a.cohort);
  if (named !== null) return named;
  if (s.cohorts && isRamped(s.stage)) {
    const targets = s.cohorts.filter((c) => a.cohort === undefined || c.name === a.cohort);
    if (targets.every((c) => c.ramp === 0 && c.paused))
      return a.cohort === undefined ? 'every cohort is already at 0% and paused' : `cohort ${a.cohort} is already at ${targets[0]?.stage ?? ''} 0% and paused`;
    return null;
  }
  switch (s.stage) {
    case Stage.planned:
      return 'nothing to roll back: the migration has not started';
    case Stage.dualWrite:
      return null;
    case Stage.science:
    case Stage.cutover:
      return s.ramp === 0 && s.paused ? `${s.stage} is already at 0% and paused` : null;
    case Stage.ttlWait: {
      const end = s.fullRampSince === null ? null : s.fullRampSince + r.policy.rollbackWindowMs;
      if (end !== null && Date.now() >= end)
        return `the rollback window closed at ${formatTime(end)} (${formatDuration(r.policy.rollbackWindowMs)} after cutover reached 100%)`;
      return null;
    }
    case Stage.decommission:
      return 'decommission has been requested: reads can no longer go back to the old store';
    case Stage.complete:
      return `the ${r.env} migration is complete`;
  }
}

export function checkPause(r: Run, a: CohortActor): string | null {
  const s = r.state;
  const named = cohortProblem(r, a.cohort);
  if (named !== null) return named;
  if (!isRamped(s.stage)) return `nothing to pause in ${s.stage}: pausing stops automatic ramping in science and cutover`;
  const c = a.cohort === undefined ? undefined : findCohort(s, a.cohort);
  if (c) return c.paused ? `cohort ${c.name} is already paused${c.rolledBack ? ' (by an automatic rollback)' : ''}` : null;
  return s.paused ? `already paused${s.rolledBack ? ' (by an automatic rollback)' : ''}` : null;
}

export function checkResume(r: Run, a: CohortActor): string | null {
  const s = r.state;
  const named = cohortProblem(r, a.cohort);
  if (named !== null) return named;
  if (!isRamped(s.stage)) return `nothing to resume in ${s.stage}`;
  const c = a.cohort === undefined ? undefined : findCohort(s, a.cohort);
  if (c) return c.paused || c.rolledBack ? null : `cohort ${c.name} is not paused`;
  if (s.cohorts) return s.paused || s.cohorts.some((x) => x.paused || x.rolledBack) ? null : 'neither the environment nor any cohort is paused';
  return s.paused || s.rolledBack ? null : 'not paused';
}

export function checkSetRamp(r: Run, a: SetRampInput): string | null {
  const s = r.state;
  const percent: unknown = a.percent;
  if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100)
    return `percent must be an integer from 0 to 100, got ${JSON.stringify(percent)}`;
  if (!isRamped(s.stage)) return `the ramp can only be set in science or cutover; the migration is in ${s.stage}`;
  const named = cohortProblem(r, a.cohort);
  if (named !== null) return named;
  if (s.cohorts && a.cohort === undefined)
    return `the ${r.env} migration ramps by cohort: name the cohort whose ramp to set (${s.cohorts.map((c) => c.name).join(', ')})`;
  const c = a.cohort === undefined ? undefined : findCohort(s, a.cohort);
  if (c) return c.rolledBack && percent > 0 ? `cohort ${c.name} was rolled back automatically (${c.rolledBack.reason}): resume it first` : null;
  if (s.rolledBack && percent > 0) return `an automatic rollback is in effect (${s.rolledBack.reason}): resume first`;
  return null;
}

export function checkSetFault(r: Run, a: SetFaultInput): string | null {
  const rate: unknown = a.newWriterCorruptionRate;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1)
    return `newWriterCorruptionRate must be a number from 0 to 1, got ${JSON.stringify(rate)}`;
  if (r.state.stage === Stage.complete) return `the ${r.env} migration is complete`;
  if (a.cohort !== undefined) {
    // The switch may be limited to a cohort before the cohorts begin (its name is the policy's).
    const names = (r.policy.cohorts ?? []).map((c) => c.name);
    if (typeof a.cohort !== 'string' || !names.includes(a.cohort))
      return names.length === 0 ? `the ${r.env} migration has no cohorts` : `unknown cohort ${JSON.stringify(a.cohort)} (the cohorts are ${names.join(', ')})`;
  }
  return null;
}

export function checkRecordOperation(r: Run, a: OperationRecord): string | null {
  if (a.operation !== 'verify' && a.operation !== 'repair') return `operation must be verify or repair, got ${JSON.stringify(a.operation)}`;
  if (!['started', 'finished', 'failed'].includes(a.event)) return `event must be started, finished or failed, got ${JSON.stringify(a.event)}`;
  if (typeof a.workflowId !== 'string' || a.workflowId === '') return 'workflowId is required (the verify or repair run)';
  if (a.summary === null || typeof a.summary !== 'object') return 'summary must be an object';
  if (a.env !== r.env) return `this is the ${r.env} migration, not ${String(a.env)}`;
  return null;
}

export function checkApprove(r: Run, a: Actor): string | null {
  const s = r.state;
  if (s.stage !== Stage.decommission || !s.pendingApproval) return `nothing to approve: no decommission is pending (the migration is in ${s.stage})`;
  if (a.identity === s.approvalRequestedBy) return `the approval must come from someone other than ${a.identity}, who requested the decommission`;
  return null;
}

/** Registers operator updates: validation, de-duplication, the lock, and audited refusals. */
export class RequestDesk {
  /** Requests being handled, by request id (a repeat while the first runs waits for it). */
  private readonly inFlight = new Map<string, { kind: RequestKind; result: Promise<UpdateResult> }>();

  constructor(
    private readonly r: Run,
    private readonly lock: TransitionLock,
  ) {}

  register<A extends Actor>(
    def: UpdateDefinition<UpdateResult, [A]>,
    kind: RequestKind,
    check: (a: A) => string | null,
    act: (a: A) => Promise<UpdateResult>,
  ): void {
    setHandler(
      def,
      async (a: A): Promise<UpdateResult> => {
        const done = this.r.state.requestResults[a.requestId];
        if (done) return done.result;
        const running = this.inFlight.get(a.requestId);
        if (running) return await running.result;
        const result = this.lock.run(async () => {
          // Judged here, under the lock (the state may have moved while the request waited), so
          // a refusal is audited like everything else.
          const problem = check(a);
          if (problem !== null) throw await this.refuse(kind, a, problem);
          let r: UpdateResult;
          try {
            r = await act(a);
          } catch (err) {
            // A refusal found by the handler's own reads (a gate's figures, the promotion order).
            if (err instanceof ApplicationFailure && err.type === MigrationFailureType.rejected) throw await this.refuse(kind, a, err.message);
            throw err;
          }
          this.remember(a.requestId, kind, r);
          return r;
        });
        this.inFlight.set(a.requestId, { kind, result });
        try {
          return await result;
        } finally {
          this.inFlight.delete(a.requestId);
        }
      },
      {
        validator: (a: A): void => {
          const actorIssue = actorProblem(a);
          if (actorIssue !== null) throw rejection(actorIssue);
          const earlier = this.r.state.requestResults[a.requestId] ?? this.inFlight.get(a.requestId);
          if (earlier !== undefined) {
            // A repeat takes effect once: the handler returns the original result.
            if (earlier.kind !== kind) throw rejection(`request id ${a.requestId} was already used for a ${earlier.kind} request`);
            return;
          }
          // Anything else the request may be refused for (stale page, gates, self-approval, ...)
          // is judged by the handler, which records the refusal in the audit history.
        },
      },
    );
  }

  /**
   * Records a refused request in the audit history (action `<kind>_rejected`, with the reason
   * and the request) and returns the failure to throw. Histories from before the patch did not.
   */
  private async refuse(kind: RequestKind, a: Actor, problem: string): Promise<ApplicationFailure> {
    if (patched(AUDIT_REJECTIONS_PATCH)) {
      const s = this.r.state;
      const { identity, reason, requestId, ...input } = a as Actor & Record<string, unknown>;
      const seq = ++s.auditSeq;
      try {
        await audit(this.r, seq, {
          actor: identity,
          action: rejectedAction(kind),
          from: s.stage,
          to: s.stage,
          reason: problem,
          evidence: { request: kind, requestId, requestReason: reason, input },
          controlVersion: null,
        });
      } catch (err) {
        if (!(err instanceof TemporalFailure)) throw err;
        log.error('audit entry of a refused request refused', { env: this.r.env, workflowId: this.r.workflowId, kind, seq, error: errorMessage(err) });
      }
    }
    return rejection(problem);
  }

  private remember(requestId: string, kind: RequestKind, result: UpdateResult): void {
    const s = this.r.state;
    s.requestResults[requestId] = { kind, result };
    s.recentRequestIds = [...s.recentRequestIds.filter((id) => id !== requestId), requestId];
    while (s.recentRequestIds.length > MAX_RECENT_REQUESTS) {
      const dropped = s.recentRequestIds.shift();
      if (dropped !== undefined) delete s.requestResults[dropped];
    }
  }
}
