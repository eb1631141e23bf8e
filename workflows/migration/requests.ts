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
  type OperationRecord,
  type RequestKind,
  type SetFaultInput,
  type SetRampInput,
  type UpdateResult,
} from '../../contract/index.js';
import { formatTime, isRamped, localGateFailures } from '../migration-gates.js';
import { actorProblem } from '../migration-input.js';
import type { TransitionLock } from './lock.js';
import { errorMessage, gateContext, MAX_RECENT_REQUESTS, rejection, type Run } from './state.js';
import { audit } from './transitions.js';

/** The patch from which refused requests are judged in the handler and audited. */
export const AUDIT_REJECTIONS_PATCH = 'audit-rejections';

export function checkAdvance(r: Run, a: AdvanceInput): string | null {
  const s = r.state;
  if (!(STAGES as readonly string[]).includes(a.from)) return `from must name a stage (${STAGES.join(', ')}), got ${JSON.stringify(a.from)}`;
  if (a.overridePromotionOrder !== undefined && typeof a.overridePromotionOrder !== 'boolean') return 'overridePromotionOrder must be a boolean';
  if (a.from !== s.stage) return `stale page or double click: the ${r.env} migration is in ${s.stage}, not ${a.from}; nothing was changed`;
  if (s.stage === Stage.decommission)
    return s.pendingApproval ? 'decommission is waiting for approval: approve it instead of advancing' : 'the old store is being decommissioned';
  if (s.stage === Stage.complete) return `the ${r.env} migration is complete`;
  if (s.stage === Stage.planned) return null;
  const failing = localGateFailures(gateContext(r));
  return failing.length === 0 ? null : `cannot leave ${s.stage}: gate ${s.stage}->${nextStage(s.stage) ?? ''} not met: ${failing.join('; ')}`;
}

export function checkRollback(r: Run, _a: Actor): string | null {
  const s = r.state;
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

export function checkPause(r: Run): string | null {
  const s = r.state;
  if (!isRamped(s.stage)) return `nothing to pause in ${s.stage}: pausing stops automatic ramping in science and cutover`;
  return s.paused ? `already paused${s.rolledBack ? ' (by an automatic rollback)' : ''}` : null;
}

export function checkResume(r: Run): string | null {
  const s = r.state;
  if (!isRamped(s.stage)) return `nothing to resume in ${s.stage}`;
  return s.paused || s.rolledBack ? null : 'not paused';
}

export function checkSetRamp(r: Run, a: SetRampInput): string | null {
  const s = r.state;
  const percent: unknown = a.percent;
  if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100)
    return `percent must be an integer from 0 to 100, got ${JSON.stringify(percent)}`;
  if (!isRamped(s.stage)) return `the ramp can only be set in science or cutover; the migration is in ${s.stage}`;
  if (s.rolledBack && percent > 0) return `an automatic rollback is in effect (${s.rolledBack.reason}): resume first`;
  return null;
}

export function checkSetFault(r: Run, a: SetFaultInput): string | null {
  const rate: unknown = a.newWriterCorruptionRate;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1)
    return `newWriterCorruptionRate must be a number from 0 to 1, got ${JSON.stringify(rate)}`;
  if (r.state.stage === Stage.complete) return `the ${r.env} migration is complete`;
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
