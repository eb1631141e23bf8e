/**
 * The migration workflow: one per environment (workflow id migrationWorkflowId(env)), moving it
 * through planned → dual_write → science → cutover → ttl_wait → decommission → complete.
 *
 * Operators act through Updates (migration-messages.ts) whose validators reject, without any
 * I/O and without touching the history, what the local state already rules out (a stale page,
 * a bake time not yet over, a percent out of range); the handler then checks what needs figures
 * (writer health, science stats, old-store age, the predecessor environment's stage) and either
 * makes the transition or fails the update with the gate's numbers, changing nothing.
 *
 * Every transition — an operator's or the workflow's own (automatic ramp, automatic rollback) —
 * publishes a control-state patch and waits for every live data-plane instance to acknowledge
 * it (publishControl), then appends an audit entry with the evidence. Transitions are
 * serialized by a workflow-side lock, so a handler and the evaluation loop never interleave.
 * A transition whose publication is not acknowledged is audited as failed and, when it would
 * have increased the new store's exposure, reverted with a second publication.
 *
 * The loop evaluates science stats on a timer in science and cutover (automatic rollback and
 * ramping), refreshes the exit gate in dual_write, sleeps until the TTL gate time in ttl_wait,
 * drops the old store after an approved decommission, and continues as new after
 * policy.continueAsNewAfter timer ticks, carrying its state.
 */
import {
  ApplicationFailure,
  TemporalFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  rootCause,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair, UpdateDefinition } from '@temporalio/common';
import type { ControlPatch, MigrationActivities, PublishControlResult, ScienceFigures } from '../contract/index.js';
import { controlFields, revertPatch, type ControlFields } from './control-fields.js';
import {
  MAX_EVALUATIONS,
  allowsRampUp,
  allowsRampUpWindows,
  coverageHorizonAfter,
  evaluate,
  evaluateWindows,
  exitGate,
  formatDuration,
  formatRate,
  formatTime,
  gateWindowMs,
  isRamped,
  localGateFailures,
  nextRampStep,
  nextStage,
  rampSteps,
  rampWaitText,
  rollbackReason,
  shortWindowMs,
  stageIndex,
  ttlGateAt,
  windowRollbackReason,
  type GateContext,
  type GateObservation,
} from './migration-gates.js';
import { actorProblem, inputProblems } from './migration-input.js';
import {
  advanceUpdate,
  approveDecommissionUpdate,
  pauseUpdate,
  resumeUpdate,
  rollbackUpdate,
  setFaultUpdate,
  setRampUpdate,
  startUpdate,
  stateQuery,
} from './migration-messages.js';
import { ActivityFailureType, AUTOMATIC_ACTOR, MigrationFailureType, Stage, STAGES } from '../contract/index.js';
import type { Actor, AdvanceInput, AuditEntry, Evaluation, GateStatus, MigrationInput, MigrationPolicy, MigrationState, MigrationStateView, RequestKind, SetFaultInput, SetRampInput, UpdateResult } from '../contract/index.js';
import { SWITCHYARD_ENV, SWITCHYARD_RAMP_PERCENT, SWITCHYARD_STAGE } from './search-attribute-keys.js';

/**
 * The patch of two-window evaluation: histories recorded before it evaluate one window per tick
 * (and replay that way); runs from it on read the long, short and step windows.
 */
export const GATES_V2_PATCH = 'gates-v2';

/** The patch from which refused requests are judged in the handler and audited. */
export const AUDIT_REJECTIONS_PATCH = 'audit-rejections';

/** Request ids (with their results) remembered for de-duplication, across continue-as-new. */
export const MAX_RECENT_REQUESTS = 50;

/** The workflow's state: the query's view plus what continue-as-new must carry. */
interface WorkflowState extends MigrationStateView {
  /** Results of the requests in recentRequestIds, so a repeat returns the original result. */
  requestResults: Record<string, { kind: RequestKind; result: UpdateResult }>;
}

/** One transition: what to publish, what it does to the state, and how to audit it. */
interface TransitionSpec {
  actor: string;
  action: string;
  reason: string;
  /** Control-state patch to publish; null for a step the data plane does not see (pause, approval request, completion). */
  patch: ControlPatch | null;
  /** Publish the previous values again if the patch is not acknowledged (for steps that add exposure to the new store). */
  revertOnFailure: boolean;
  evidence: Record<string, unknown>;
  /** The state change, applied once the patch is acknowledged. */
  apply: (s: WorkflowState, now: number) => void;
}

type Ramped = typeof Stage.science | typeof Stage.cutover;

function rejection(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: MigrationFailureType.rejected, nonRetryable: true });
}

function errorMessage(err: unknown): string {
  return rootCause(err) ?? String(err);
}

function rampPatch(stage: Ramped, percent: number): ControlPatch {
  return stage === Stage.science ? { sciencePercent: percent } : { cutoverPercent: percent };
}

/** Sets the ramp, keeping the time it reached 100% while it stays there. */
function applyRamp(s: WorkflowState, percent: number, now: number): void {
  if (percent !== s.ramp) s.rampSince = now;
  s.fullRampSince = percent === 100 ? (s.ramp === 100 && s.fullRampSince !== null ? s.fullRampSince : now) : null;
  s.ramp = percent;
}

function enterStage(s: WorkflowState, stage: Stage, now: number): void {
  s.stage = stage;
  s.stageEnteredAt = now;
  s.paused = false;
  s.rolledBack = null;
  s.gates = [];
}

function initialState(env: string, carried: MigrationState | undefined, now: number): WorkflowState {
  const fresh: WorkflowState = {
    env,
    stage: Stage.planned,
    ramp: 0,
    paused: false,
    rolledBack: null,
    coverageHorizon: null,
    stageEnteredAt: now,
    fullRampSince: null,
    ttlGateAt: null,
    gates: [],
    evaluations: [],
    pendingApproval: false,
    controlVersion: 0,
    auditSeq: 0,
    recentRequestIds: [],
    lastTransitionAt: now,
    approvalRequestedBy: null,
    rampSince: now,
    requestResults: {},
  };
  if (carried === undefined) return fresh;
  // A state carried by continue-as-new holds the extra fields too; one from elsewhere may not.
  const c = carried as MigrationState & Partial<WorkflowState>;
  const state: WorkflowState = { ...fresh, ...c };
  state.recentRequestIds = state.recentRequestIds.slice(-MAX_RECENT_REQUESTS);
  state.requestResults = Object.fromEntries(Object.entries(c.requestResults ?? {}).filter(([id]) => state.recentRequestIds.includes(id)));
  return state;
}

function view(s: WorkflowState): MigrationStateView {
  const { requestResults: _omitted, ...rest } = s;
  return rest;
}

/** The activities, with timeouts and retries per kind of call. */
function migrationActivities(policy: MigrationPolicy): MigrationActivities {
  // Publishing waits up to ackTimeoutMs for acknowledgements; an attempt that times out is
  // retried (the activity only waits again for the same transition), a bounded number of times,
  // because an operator is waiting for the answer.
  const publishing = proxyActivities<MigrationActivities>({
    startToCloseTimeout: policy.ackTimeoutMs + 30_000,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: [ActivityFailureType.invalidControlState, ActivityFailureType.invalidInput] },
  });
  // Reads for gates and evaluations: short; a gate that cannot be read is simply not met.
  const reading = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
  });
  // The audit entry of a transition that happened must be written: retried until it is.
  const recording = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  // Dropping tables can take a while; idempotent (IF EXISTS), retried until done.
  const decommissioning = proxyActivities<MigrationActivities>({
    startToCloseTimeout: '30 minutes',
    retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
  return {
    publishControl: publishing.publishControl,
    readScience: reading.readScience,
    checkWriters: reading.checkWriters,
    verifyOldStoreAgedOut: reading.verifyOldStoreAgedOut,
    environmentStage: reading.environmentStage,
    lastAuditSeq: recording.lastAuditSeq,
    appendAudit: recording.appendAudit,
    decommissionOldStore: decommissioning.decommissionOldStore,
  };
}

/** One holder at a time, in arrival order (tickets), so transitions never interleave. */
class TransitionLock {
  private issued = 0;
  private serving = 0;

  /** True when nobody holds or waits for the lock. */
  get idle(): boolean {
    return this.issued === this.serving;
  }

  /** Runs fn once every earlier holder is done. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const ticket = this.issued++;
    await condition(() => this.serving === ticket);
    try {
      return await fn();
    } finally {
      this.serving++;
    }
  }
}

/** One run of the migration workflow (a continue-as-new starts another). */
class MigrationRun {
  private readonly env: string;
  private readonly policy: MigrationPolicy;
  private readonly workflowId: string;
  private readonly acts: MigrationActivities;
  private readonly state: WorkflowState;
  private readonly lock = new TransitionLock();
  /** Requests being handled, by request id (a repeat while the first runs waits for it). */
  private readonly inFlight = new Map<string, { kind: RequestKind; result: Promise<UpdateResult> }>();
  /** Bumped on every change, so the loop re-plans its timer. */
  private changes = 0;
  /** Timer ticks of this run (continue-as-new after policy.continueAsNewAfter). */
  private ticks = 0;
  private lastTickAt: number;
  /** A fresh start (nothing carried): audit numbering must continue after the env's existing log. */
  private readonly fresh: boolean;

  constructor(input: MigrationInput) {
    this.env = input.env;
    this.policy = input.policy;
    this.workflowId = workflowInfo().workflowId;
    this.acts = migrationActivities(input.policy);
    this.state = initialState(input.env, input.carried, Date.now());
    this.fresh = input.carried === undefined;
    this.lastTickAt = Date.now();
  }

  /** Registers the query and the operator updates. */
  registerHandlers(): void {
    setHandler(stateQuery, () => view(this.state));
    this.operatorUpdate(startUpdate, 'start', (a) => this.checkAdvance({ ...a, from: Stage.planned }), (a) => this.advance({ ...a, from: Stage.planned }));
    this.operatorUpdate(advanceUpdate, 'advance', (a) => this.checkAdvance(a), (a) => this.advance(a));
    this.operatorUpdate(rollbackUpdate, 'rollback', (a) => this.checkRollback(a), (a) => this.rollback(a));
    this.operatorUpdate(pauseUpdate, 'pause', () => this.checkPause(), (a) => this.pause(a));
    this.operatorUpdate(resumeUpdate, 'resume', () => this.checkResume(), (a) => this.resume(a));
    this.operatorUpdate(setRampUpdate, 'set_ramp', (a) => this.checkSetRamp(a), (a) => this.setRamp(a));
    this.operatorUpdate(approveDecommissionUpdate, 'approve_decommission', (a) => this.checkApprove(a), (a) => this.approveDecommission(a));
    this.operatorUpdate(setFaultUpdate, 'set_fault', (a) => this.checkSetFault(a), (a) => this.setFault(a));
  }

  /** Set by reserveAuditNumbering: resolves once auditSeq continues the env's existing log. */
  private numbering: Promise<void> = Promise.resolve();

  /**
   * A workflow started again under the same id (e.g. after a termination) must not reuse the
   * audit seqs (and transition ids) of earlier runs, so a fresh start reads the env's last seq
   * first. Called before the handlers are registered: an update that arrived with the start is
   * dispatched as soon as its handler is set, and must find the lock already taken by this read
   * (else it would number its entries from 0, reusing seqs and transition ids). Continue-as-new
   * carries auditSeq in the state, so only a fresh start asks.
   */
  reserveAuditNumbering(): void {
    if (!this.fresh) return;
    this.numbering = this.lock.run(async () => {
      const { seq } = await this.acts.lastAuditSeq({ env: this.env });
      this.state.auditSeq = seq;
      if (seq > 0) log.info('numbering audit entries after the existing log', { env: this.env, workflowId: this.workflowId, lastAuditSeq: seq });
    });
  }

  /** The flow: timers, evaluations, decommission, continue-as-new. */
  async run(): Promise<MigrationStateView> {
    this.syncSearchAttributes();
    await this.numbering;
    for (;;) {
      if (this.state.stage === Stage.complete) break;
      if (this.ticks >= this.policy.continueAsNewAfter || workflowInfo().continueAsNewSuggested) {
        // Let running updates finish (their results go to the operators) and nothing hold the lock.
        await condition(() => allHandlersFinished() && this.lock.idle);
        log.info('continuing as new', { env: this.env, workflowId: this.workflowId, ticks: this.ticks, auditSeq: this.state.auditSeq });
        return await continueAsNew<typeof migrationWorkflow>({ env: this.env, policy: this.policy, carried: this.state });
      }
      if (this.state.stage === Stage.decommission && !this.state.pendingApproval) {
        await this.lock.run(() => this.finishDecommission());
        continue;
      }
      const dueAt = this.nextTickAt();
      const seen = this.changes;
      const woken = (): boolean => this.changes !== seen || workflowInfo().continueAsNewSuggested;
      let due = false;
      if (dueAt === null) await condition(woken);
      else {
        const wait = dueAt - Date.now();
        due = wait <= 0 || !(await condition(woken, wait));
      }
      if (!due) continue;
      this.ticks++;
      this.lastTickAt = Date.now();
      await this.lock.run(() => this.tick());
    }
    await condition(allHandlersFinished);
    return view(this.state);
  }

  // ---- operator requests -------------------------------------------------------------------

  private operatorUpdate<A extends Actor>(
    def: UpdateDefinition<UpdateResult, [A]>,
    kind: RequestKind,
    check: (a: A) => string | null,
    act: (a: A) => Promise<UpdateResult>,
  ): void {
    setHandler(
      def,
      async (a: A): Promise<UpdateResult> => {
        const done = this.state.requestResults[a.requestId];
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
          const earlier = this.state.requestResults[a.requestId] ?? this.inFlight.get(a.requestId);
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
      const s = this.state;
      const { identity, reason, requestId, ...input } = a as Actor & Record<string, unknown>;
      const seq = ++s.auditSeq;
      try {
        await this.audit(seq, { actor: identity, action: `${kind}_rejected`, from: s.stage, to: s.stage, reason: problem, evidence: { request: kind, requestId, requestReason: reason, input }, controlVersion: null });
      } catch (err) {
        if (!(err instanceof TemporalFailure)) throw err;
        log.error('audit entry of a refused request refused', { env: this.env, workflowId: this.workflowId, kind, seq, error: errorMessage(err) });
      }
    }
    return rejection(problem);
  }

  private remember(requestId: string, kind: RequestKind, result: UpdateResult): void {
    const s = this.state;
    s.requestResults[requestId] = { kind, result };
    s.recentRequestIds = [...s.recentRequestIds.filter((id) => id !== requestId), requestId];
    while (s.recentRequestIds.length > MAX_RECENT_REQUESTS) {
      const dropped = s.recentRequestIds.shift();
      if (dropped !== undefined) delete s.requestResults[dropped];
    }
  }

  private gateContext(): GateContext {
    return { state: this.state, policy: this.policy, now: Date.now() };
  }

  private result(message: string): UpdateResult {
    return { stage: this.state.stage, ramp: this.state.ramp, controlVersion: this.state.controlVersion, message };
  }

  private checkAdvance(a: AdvanceInput): string | null {
    const s = this.state;
    if (!(STAGES as readonly string[]).includes(a.from)) return `from must name a stage (${STAGES.join(', ')}), got ${JSON.stringify(a.from)}`;
    if (a.overridePromotionOrder !== undefined && typeof a.overridePromotionOrder !== 'boolean') return 'overridePromotionOrder must be a boolean';
    if (a.from !== s.stage) return `stale page or double click: the ${this.env} migration is in ${s.stage}, not ${a.from}; nothing was changed`;
    if (s.stage === Stage.decommission) return s.pendingApproval ? 'decommission is waiting for approval: approve it instead of advancing' : 'the old store is being decommissioned';
    if (s.stage === Stage.complete) return `the ${this.env} migration is complete`;
    if (s.stage === Stage.planned) return null;
    const failing = localGateFailures(this.gateContext());
    return failing.length === 0 ? null : `cannot leave ${s.stage}: gate ${s.stage}->${nextStage(s.stage) ?? ''} not met: ${failing.join('; ')}`;
  }

  private checkRollback(_a: Actor): string | null {
    const s = this.state;
    switch (s.stage) {
      case Stage.planned:
        return 'nothing to roll back: the migration has not started';
      case Stage.dualWrite:
        return null;
      case Stage.science:
      case Stage.cutover:
        return s.ramp === 0 && s.paused ? `${s.stage} is already at 0% and paused` : null;
      case Stage.ttlWait: {
        const end = s.fullRampSince === null ? null : s.fullRampSince + this.policy.rollbackWindowMs;
        if (end !== null && Date.now() >= end) return `the rollback window closed at ${formatTime(end)} (${formatDuration(this.policy.rollbackWindowMs)} after cutover reached 100%)`;
        return null;
      }
      case Stage.decommission:
        return 'decommission has been requested: reads can no longer go back to the old store';
      case Stage.complete:
        return `the ${this.env} migration is complete`;
    }
  }

  private checkPause(): string | null {
    const s = this.state;
    if (!isRamped(s.stage)) return `nothing to pause in ${s.stage}: pausing stops automatic ramping in science and cutover`;
    return s.paused ? `already paused${s.rolledBack ? ' (by an automatic rollback)' : ''}` : null;
  }

  private checkResume(): string | null {
    const s = this.state;
    if (!isRamped(s.stage)) return `nothing to resume in ${s.stage}`;
    return s.paused || s.rolledBack ? null : 'not paused';
  }

  private checkSetRamp(a: SetRampInput): string | null {
    const s = this.state;
    const percent: unknown = a.percent;
    if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) return `percent must be an integer from 0 to 100, got ${JSON.stringify(percent)}`;
    if (!isRamped(s.stage)) return `the ramp can only be set in science or cutover; the migration is in ${s.stage}`;
    if (s.rolledBack && percent > 0) return `an automatic rollback is in effect (${s.rolledBack.reason}): resume first`;
    return null;
  }

  private checkSetFault(a: SetFaultInput): string | null {
    const rate: unknown = a.newWriterCorruptionRate;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) return `newWriterCorruptionRate must be a number from 0 to 1, got ${JSON.stringify(rate)}`;
    if (this.state.stage === Stage.complete) return `the ${this.env} migration is complete`;
    return null;
  }

  private checkApprove(a: Actor): string | null {
    const s = this.state;
    if (s.stage !== Stage.decommission || !s.pendingApproval) return `nothing to approve: no decommission is pending (the migration is in ${s.stage})`;
    if (a.identity === s.approvalRequestedBy) return `the approval must come from someone other than ${a.identity}, who requested the decommission`;
    return null;
  }

  private async advance(a: AdvanceInput): Promise<UpdateResult> {
    const from = this.state.stage;
    const to = nextStage(from);
    if (to === null) throw rejection(`no stage follows ${from}`);
    const evidence: Record<string, unknown> = { ...(await this.promotionOrder(to, a)) };
    if (from !== Stage.planned) {
      const gate = await this.evaluateExitGate();
      this.state.gates = [gate];
      if (!gate.passed) throw rejection(`cannot leave ${from}: gate ${gate.name} ${gate.detail}`);
      evidence.gate = gate;
    }
    const base = { actor: a.identity, reason: a.reason, evidence };
    switch (from) {
      case Stage.planned:
        return await this.startDualWrite(a, evidence);
      case Stage.dualWrite: {
        const first = this.policy.scienceSteps[0] ?? 100;
        await this.transition({
          ...base,
          action: 'advance',
          patch: { sciencePercent: first },
          revertOnFailure: true,
          apply: (s, now) => {
            enterStage(s, Stage.science, now);
            applyRamp(s, first, now);
          },
        });
        return this.result(`dual_write -> science at ${first}% (control state v${this.state.controlVersion})`);
      }
      case Stage.science: {
        const first = this.policy.cutoverSteps[0] ?? 100;
        await this.transition({
          ...base,
          action: 'advance',
          patch: { sciencePercent: 100, cutoverPercent: first },
          revertOnFailure: true,
          apply: (s, now) => {
            enterStage(s, Stage.cutover, now);
            s.ramp = 0;
            s.fullRampSince = null;
            applyRamp(s, first, now);
          },
        });
        return this.result(`science -> cutover at ${first}% of reads served by the new store (control state v${this.state.controlVersion})`);
      }
      case Stage.cutover: {
        await this.transition({
          ...base,
          action: 'advance',
          patch: { cutoverPercent: 100 },
          revertOnFailure: true,
          apply: (s, now) => {
            // fullRampSince stays: it is when cutover reached 100%, which the rollback window counts from.
            enterStage(s, Stage.ttlWait, now);
            s.ramp = 0;
            s.rampSince = now;
            s.ttlGateAt = ttlGateAt(s, this.policy);
          },
        });
        return this.result(`cutover -> ttl_wait; the TTL gate opens at ${formatTime(this.state.ttlGateAt)}`);
      }
      case Stage.ttlWait: {
        await this.transition({
          ...base,
          action: 'advance',
          patch: null,
          revertOnFailure: false,
          apply: (s, now) => {
            enterStage(s, Stage.decommission, now);
            s.pendingApproval = true;
            s.approvalRequestedBy = a.identity;
            s.ttlGateAt = null;
          },
        });
        return this.result(`ttl_wait -> decommission, pending approval by someone other than ${a.identity}`);
      }
      default:
        throw rejection(`cannot advance from ${from}`);
    }
  }

  /** planned → dual_write: both writers on, then the coverage horizon H from the acknowledgement time. */
  private async startDualWrite(a: Actor, evidence: Record<string, unknown>): Promise<UpdateResult> {
    const { ack } = await this.transition({
      actor: a.identity,
      action: 'start',
      reason: a.reason,
      evidence,
      patch: { oldWriter: true, newWriter: true, retentionMs: this.policy.retentionMs, tolerance: this.policy.tolerance },
      revertOnFailure: true,
      apply: (s, now) => {
        enterStage(s, Stage.dualWrite, now);
        s.ramp = 0;
        s.fullRampSince = null;
        s.ttlGateAt = null;
      },
    });
    const acknowledgedAt = ack?.acknowledgedAt ?? Date.now();
    const horizon = coverageHorizonAfter(acknowledgedAt);
    try {
      // The workflow's own step (it follows from the acknowledgement), not the operator's.
      await this.transition({
        actor: AUTOMATIC_ACTOR,
        action: 'record_coverage_horizon',
        reason: `first full minute after the new writer was acknowledged at ${formatTime(acknowledgedAt)}`,
        evidence: { coverageHorizon: horizon, acknowledgedAt, startedBy: a.identity },
        patch: { coverageHorizon: horizon },
        revertOnFailure: false,
        apply: (s) => {
          s.coverageHorizon = horizon;
        },
      });
    } catch (err) {
      // Start is all or nothing: without a published horizon the new store's data cannot be judged.
      await this.transition({
        actor: AUTOMATIC_ACTOR,
        action: 'start_reverted',
        reason: `the coverage horizon was not acknowledged (${errorMessage(err)}): dual write switched off again`,
        evidence: {},
        patch: { newWriter: false, coverageHorizon: null },
        revertOnFailure: false,
        apply: (s, now) => enterStage(s, Stage.planned, now),
      });
      throw err;
    }
    return this.result(`planned -> dual_write; coverage horizon ${formatTime(horizon)} (control state v${this.state.controlVersion})`);
  }

  /** Promotion order: the predecessor must have reached the stage being entered, unless overridden with a reason. */
  private async promotionOrder(to: Stage, a: AdvanceInput): Promise<Record<string, unknown>> {
    const order = this.policy.promotionOrder;
    const predecessor = order[order.indexOf(this.env) - 1];
    if (predecessor === undefined) return {};
    const { stage } = await this.acts.environmentStage({ env: predecessor });
    const promotion: Record<string, unknown> = { predecessor, predecessorStage: stage, entering: to };
    if (stageIndex(stage) >= stageIndex(to)) return { promotionOrder: promotion };
    if (a.overridePromotionOrder === true) return { promotionOrder: { ...promotion, overridden: true, overrideReason: a.reason } };
    throw rejection(
      `promotion order: ${this.env} may not enter ${to} before ${predecessor} has (${predecessor} is ${stage === 'not_started' ? 'not started' : `in ${stage}`}); ` +
        'to override, repeat with overridePromotionOrder and a reason',
    );
  }

  private async rollback(a: Actor): Promise<UpdateResult> {
    const s = this.state;
    const base = { actor: a.identity, action: 'rollback', reason: a.reason, revertOnFailure: false };
    switch (s.stage) {
      case Stage.dualWrite:
        await this.transition({
          ...base,
          evidence: { coverageHorizon: s.coverageHorizon },
          patch: { newWriter: false, coverageHorizon: null },
          apply: (st, now) => {
            enterStage(st, Stage.planned, now);
            st.coverageHorizon = null;
          },
        });
        return this.result('dual_write -> planned: the new writer is off and the coverage horizon cleared');
      case Stage.science:
      case Stage.cutover: {
        const stage = s.stage;
        await this.transition({
          ...base,
          evidence: { ramp: s.ramp },
          patch: rampPatch(stage, 0),
          apply: (st, now) => {
            applyRamp(st, 0, now);
            st.paused = true;
          },
        });
        return this.result(stage === Stage.science ? 'science ramp set to 0% and paused' : 'all reads back on the old store (cutover 0%), paused');
      }
      case Stage.ttlWait:
        await this.transition({
          ...base,
          evidence: { cutoverAt100Since: s.fullRampSince, rollbackWindowMs: this.policy.rollbackWindowMs },
          patch: { cutoverPercent: 0 },
          apply: (st, now) => {
            enterStage(st, Stage.cutover, now);
            st.ramp = 0;
            st.rampSince = now;
            st.fullRampSince = null;
            st.paused = true;
            st.ttlGateAt = null;
          },
        });
        return this.result('ttl_wait -> cutover at 0%: all reads back on the old store, paused');
      default:
        throw rejection(`nothing to roll back in ${s.stage}`);
    }
  }

  private async pause(a: Actor): Promise<UpdateResult> {
    await this.transition({
      actor: a.identity,
      action: 'pause',
      reason: a.reason,
      evidence: { ramp: this.state.ramp },
      patch: null,
      revertOnFailure: false,
      apply: (s) => {
        s.paused = true;
      },
    });
    return this.result(`paused at ${this.state.ramp}%: no automatic ramping until resumed (automatic rollback stays armed)`);
  }

  private async resume(a: Actor): Promise<UpdateResult> {
    const s = this.state;
    const stage = s.stage as Ramped;
    // After any rollback (ramp 0) start again from the first step; after a plain pause keep the ramp.
    const restartAt = s.ramp === 0 ? (rampSteps(stage, this.policy)[0] ?? 100) : null;
    await this.transition({
      actor: a.identity,
      action: 'resume',
      reason: a.reason,
      evidence: { ramp: s.ramp, rolledBack: s.rolledBack, restartAt },
      patch: restartAt === null ? null : rampPatch(stage, restartAt),
      revertOnFailure: true,
      apply: (st, now) => {
        st.paused = false;
        st.rolledBack = null;
        if (restartAt !== null) applyRamp(st, restartAt, now);
      },
    });
    return this.result(restartAt === null ? `resumed at ${this.state.ramp}%` : `resumed: ${stage} restarted at ${restartAt}%`);
  }

  private async setRamp(a: SetRampInput): Promise<UpdateResult> {
    const s = this.state;
    const stage = s.stage as Ramped;
    if (a.percent === s.ramp) return this.result(`${stage} already at ${a.percent}%`);
    const from = s.ramp;
    await this.transition({
      actor: a.identity,
      action: 'set_ramp',
      reason: a.reason,
      evidence: { from, to: a.percent },
      patch: rampPatch(stage, a.percent),
      revertOnFailure: a.percent > from,
      apply: (st, now) => applyRamp(st, a.percent, now),
    });
    return this.result(`${stage} ${from}% -> ${a.percent}%`);
  }

  private async setFault(a: SetFaultInput): Promise<UpdateResult> {
    const rate = a.newWriterCorruptionRate;
    const from = this.state.faultRate ?? null;
    await this.transition({
      actor: a.identity,
      action: 'set_fault',
      reason: a.reason,
      evidence: { from, to: rate },
      patch: { faults: { newWriterCorruptionRate: rate } },
      revertOnFailure: false,
      apply: (st) => {
        st.faultRate = rate;
      },
    });
    return this.result(`fault switch ${rate > 0 ? `on: the new-store writer corrupts ${rate * 100}% of points` : 'off'} (control state v${this.state.controlVersion})`);
  }

  private async approveDecommission(a: Actor): Promise<UpdateResult> {
    const requestedBy = this.state.approvalRequestedBy;
    await this.transition({
      actor: a.identity,
      action: 'approve_decommission',
      reason: a.reason,
      evidence: { requestedBy, keepOldTables: this.policy.keepOldTables },
      patch: { oldWriter: false, oldStoreAvailable: false, sciencePercent: 0 },
      revertOnFailure: true,
      apply: (s) => {
        s.pendingApproval = false;
        s.approvalRequestedBy = null;
      },
    });
    return this.result(`decommission approved: the old writer is stopped; the old tables will be ${this.policy.keepOldTables ? 'kept' : 'dropped'}`);
  }

  // ---- the loop's work ----------------------------------------------------------------------

  private nextTickAt(): number | null {
    const s = this.state;
    const interval = this.lastTickAt + this.policy.evaluationIntervalMs;
    switch (s.stage) {
      case Stage.dualWrite:
      case Stage.science:
      case Stage.cutover:
        return interval;
      case Stage.ttlWait:
        // The durable TTL timer: sleep until the gate time, then check the old store until it has aged out.
        // Histories started before ttlCheckIntervalMs existed have none: the same timers as before.
        if (s.ttlGateAt === null || s.gates.some((g) => g.passed)) return null;
        return Math.max(s.ttlGateAt, this.lastTickAt + (this.policy.ttlCheckIntervalMs ?? this.policy.evaluationIntervalMs));
      default:
        return null;
    }
  }

  private async tick(): Promise<void> {
    try {
      if (isRamped(this.state.stage)) await this.evaluateScience(this.state.stage);
      else if (this.state.stage === Stage.dualWrite || this.state.stage === Stage.ttlWait) this.state.gates = [await this.evaluateExitGate()];
    } catch (err) {
      // An activity that keeps failing, or a transition that was not acknowledged (already
      // audited): try again on the next tick. Anything else is a bug: fail the workflow task.
      if (!(err instanceof TemporalFailure)) throw err;
      log.warn('evaluation failed; retrying on the next tick', { env: this.env, workflowId: this.workflowId, stage: this.state.stage, error: errorMessage(err) });
    }
  }

  /** Reads the figures the current exit gate needs (if its local conditions hold) and judges it. */
  private async evaluateExitGate(): Promise<GateStatus> {
    const s = this.state;
    if (localGateFailures(this.gateContext()).length > 0) return exitGate(this.gateContext(), null);
    let observation: GateObservation | null = null;
    if (s.stage === Stage.dualWrite) observation = { kind: 'writers', health: await this.acts.checkWriters({ env: this.env }) };
    else if (isRamped(s.stage)) observation = { kind: 'science', figures: await this.acts.readScience({ env: this.env, windowMs: gateWindowMs(s.stage, this.policy) }) };
    else if (s.stage === Stage.ttlWait && s.coverageHorizon !== null) {
      observation = { kind: 'old_store', ...(await this.acts.verifyOldStoreAgedOut({ env: this.env, horizon: s.coverageHorizon })) };
    }
    return exitGate(this.gateContext(), observation);
  }

  /**
   * Automatic rollback and ramping. Since gates-v2: three windows per tick (the long one, the
   * short burst window, and since the ramp step began); before it, one evaluation of the last
   * evaluationWindowMs (kept for the histories recorded before).
   */
  private async evaluateScience(stage: Ramped): Promise<void> {
    if (patched(GATES_V2_PATCH)) return await this.evaluateWindows(stage);
    const s = this.state;
    const figures = await this.acts.readScience({ env: this.env, windowMs: this.policy.evaluationWindowMs });
    const now = Date.now();
    const e = evaluate(stage, s.ramp, figures, this.policy, now);
    s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
    if (e.verdict === 'rollback' && s.ramp > 0 && s.rolledBack === null) {
      await this.automaticRollback(stage, e, figures);
    } else if (this.policy.autoRamp && !s.paused && s.rolledBack === null && now - s.rampSince >= this.policy.autoRampIntervalMs && allowsRampUp(e, this.policy)) {
      const next = nextRampStep(rampSteps(stage, this.policy), s.ramp);
      if (next !== null) {
        const from = s.ramp;
        await this.transition({
          actor: AUTOMATIC_ACTOR,
          action: 'auto_ramp',
          reason: `${stage} healthy at ${from}% for ${formatDuration(now - s.rampSince)}: ${e.comparisons} comparisons, mismatch rate ${formatRate(e.mismatchRate)}`,
          evidence: { from, to: next, ...figures },
          patch: rampPatch(stage, next),
          revertOnFailure: true,
          apply: (st, at) => applyRamp(st, next, at),
        });
      }
    }
    // Keep the exit gate's verdict current for the console.
    if (localGateFailures(this.gateContext()).length > 0) s.gates = [exitGate(this.gateContext(), null)];
    else if (gateWindowMs(stage, this.policy) === this.policy.evaluationWindowMs) s.gates = [exitGate(this.gateContext(), { kind: 'science', figures })];
    else s.gates = [await this.evaluateExitGate()];
  }

  /** One two-window evaluation: roll back on a burst or a trickle, ramp on the step's own comparisons. */
  private async evaluateWindows(stage: Ramped): Promise<void> {
    const s = this.state;
    const started = Date.now();
    // The step's window reaches back to when the step began (minute-grained, like the stats).
    const stepMs = Math.max(1, started - s.rampSince);
    const [long, short, step] = await Promise.all([
      this.acts.readScience({ env: this.env, windowMs: this.policy.evaluationWindowMs }),
      this.acts.readScience({ env: this.env, windowMs: shortWindowMs(this.policy) }),
      this.acts.readScience({ env: this.env, windowMs: stepMs }),
    ]);
    const now = Date.now();
    const e = evaluateWindows(stage, s.ramp, { long, short, step }, this.policy, now);
    const next = nextRampStep(rampSteps(stage, this.policy), s.ramp);
    if (e.verdict === 'rollback' && s.ramp > 0 && s.rolledBack === null) {
      s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
      await this.automaticRollback(stage, e, e.rollbackWindow === 'short' ? short : long);
    } else if (this.policy.autoRamp && !s.paused && s.rolledBack === null && next !== null && now - s.rampSince >= this.policy.autoRampIntervalMs && allowsRampUpWindows(e, this.policy)) {
      s.evaluations = [...s.evaluations, e].slice(-MAX_EVALUATIONS);
      const from = s.ramp;
      await this.transition({
        actor: AUTOMATIC_ACTOR,
        action: 'auto_ramp',
        reason: `${stage} healthy at ${from}% for ${formatDuration(now - s.rampSince)}: ${step.comparisons} comparisons since the step began, mismatch rate ${formatRate(step.mismatchRate)}; last ${formatDuration(short.windowMs)}: ${short.comparisons} comparisons, ${formatRate(short.mismatchRate)}`,
        evidence: { from, to: next, ...long, stepComparisons: step.comparisons, stepMismatches: step.mismatches, stepWindowMs: step.windowMs, shortComparisons: short.comparisons, shortMismatches: short.mismatches, shortWindowMs: short.windowMs },
        patch: rampPatch(stage, next),
        revertOnFailure: true,
        apply: (st, at) => applyRamp(st, next, at),
      });
    } else {
      const waitingFor = rampWaitText(e, { policy: this.policy, paused: s.paused, rolledBack: s.rolledBack !== null, rampSince: s.rampSince, next });
      s.evaluations = [...s.evaluations, waitingFor === null ? e : { ...e, waitingFor }].slice(-MAX_EVALUATIONS);
    }
    // Keep the exit gate's verdict current for the console.
    if (localGateFailures(this.gateContext()).length > 0) s.gates = [exitGate(this.gateContext(), null)];
    else if (gateWindowMs(stage, this.policy) === this.policy.evaluationWindowMs) s.gates = [exitGate(this.gateContext(), { kind: 'science', figures: long })];
    else s.gates = [await this.evaluateExitGate()];
  }

  private async automaticRollback(stage: Ramped, e: Evaluation, figures: ScienceFigures): Promise<void> {
    const reason = e.rollbackWindow ? windowRollbackReason(e, this.policy) : rollbackReason(e, this.policy);
    const evidence = {
      windowMs: figures.windowMs,
      comparisons: figures.comparisons,
      mismatches: figures.mismatches,
      mismatchRate: figures.mismatchRate,
      newStoreErrorRate: figures.newStoreErrorRate,
      candidateErrors: figures.candidateErrors,
      candidateTimeouts: figures.candidateTimeouts,
      rollbackMismatchRate: this.policy.rollbackMismatchRate,
      rollbackErrorRate: this.policy.rollbackErrorRate,
      minSamplesForRollback: this.policy.minSamplesForRollback,
      ramp: e.ramp,
      ...(e.rollbackWindow ? { window: e.rollbackWindow } : {}),
    };
    await this.transition({
      actor: AUTOMATIC_ACTOR,
      action: 'automatic_rollback',
      reason,
      evidence,
      patch: rampPatch(stage, 0),
      revertOnFailure: false,
      apply: (s, now) => {
        applyRamp(s, 0, now);
        s.paused = true;
        s.rolledBack = { at: now, reason, evidence };
      },
    });
    log.warn('automatic rollback', { env: this.env, workflowId: this.workflowId, stage, reason });
  }

  /** After approval: drop (or keep) the old tables, then complete. */
  private async finishDecommission(): Promise<void> {
    const keepTables = this.policy.keepOldTables;
    let dropped: boolean;
    try {
      ({ dropped } = await this.acts.decommissionOldStore({ env: this.env, keepTables }));
    } catch (err) {
      if (!(err instanceof TemporalFailure)) throw err;
      // A non-retryable refusal (e.g. the control state still uses the old store): audit it and try again later.
      const seq = ++this.state.auditSeq;
      await this.audit(seq, { actor: AUTOMATIC_ACTOR, action: 'decommission_old_store_failed', from: Stage.decommission, to: Stage.decommission, reason: errorMessage(err), evidence: { keepTables }, controlVersion: null });
      await sleep(this.policy.evaluationIntervalMs);
      return;
    }
    await this.transition({
      actor: AUTOMATIC_ACTOR,
      action: 'decommission_old_store',
      reason: keepTables ? 'old store detached; its tables are kept (policy keepOldTables)' : 'old store detached and its tables dropped',
      evidence: { keepTables, dropped },
      patch: null,
      revertOnFailure: false,
      apply: (s, now) => {
        enterStage(s, Stage.complete, now);
        s.ramp = 0;
      },
    });
  }

  // ---- transitions ---------------------------------------------------------------------------

  /**
   * Publishes the patch (waiting for every live instance), applies the change, audits it. On an
   * unacknowledged publication: audits the failure, reverts if asked, and throws; the state is
   * unchanged. Callers hold the lock.
   */
  private async transition(spec: TransitionSpec): Promise<{ ack: PublishControlResult | null }> {
    const s = this.state;
    const from = s.stage;
    const before: ControlFields = controlFields(s);
    const seq = ++s.auditSeq;
    let ack: PublishControlResult | null = null;
    if (spec.patch !== null) {
      try {
        ack = await this.acts.publishControl({
          env: this.env,
          transitionId: `${this.workflowId}:${seq}`,
          patch: spec.patch,
          actor: spec.actor,
          reason: spec.reason,
          ackTimeoutMs: this.policy.ackTimeoutMs,
        });
      } catch (err) {
        if (!(err instanceof TemporalFailure)) throw err;
        const message = errorMessage(err);
        await this.audit(seq, { actor: spec.actor, action: `${spec.action}_failed`, from, to: from, reason: spec.reason, evidence: { ...spec.evidence, patch: spec.patch, error: message }, controlVersion: null });
        const reverted = spec.revertOnFailure ? await this.revert(before, spec.patch, spec.action) : '';
        throw ApplicationFailure.create({
          message: `${spec.action} did not happen: the control state was not acknowledged (${message})${reverted}`,
          type: MigrationFailureType.notAcknowledged,
          nonRetryable: true,
          cause: err,
        });
      }
    }
    const now = Date.now();
    spec.apply(s, now);
    if (ack !== null) s.controlVersion = ack.version;
    s.lastTransitionAt = now;
    this.changes++;
    this.syncSearchAttributes();
    const published = ack === null ? {} : { patch: spec.patch, acknowledgedBy: ack.acknowledged, acknowledgedAt: ack.acknowledgedAt, published: ack.published };
    try {
      await this.audit(seq, { actor: spec.actor, action: spec.action, from, to: s.stage, reason: spec.reason, evidence: { ...spec.evidence, ...published }, controlVersion: ack?.version ?? null });
    } catch (err) {
      // Retried until it succeeds, so only a refusal (e.g. the seq is taken by another entry) gets
      // here. The transition did happen: say so rather than report a plain failure.
      if (!(err instanceof TemporalFailure)) throw err;
      log.error('audit entry refused', { env: this.env, workflowId: this.workflowId, action: spec.action, seq, error: errorMessage(err) });
      throw ApplicationFailure.create({
        message: `${spec.action} took effect (${from} -> ${s.stage}, control state v${s.controlVersion}) but its audit entry ${seq} was refused: ${errorMessage(err)}`,
        type: MigrationFailureType.auditRefused,
        nonRetryable: true,
        cause: err,
      });
    }
    log.info('migration transition', { env: this.env, workflowId: this.workflowId, action: spec.action, actor: spec.actor, from, to: s.stage, ramp: s.ramp, controlVersion: s.controlVersion, seq });
    return { ack };
  }

  /** Publishes the previous values of the fields an unacknowledged patch touched. */
  private async revert(before: ControlFields, patch: ControlPatch, action: string): Promise<string> {
    const s = this.state;
    const undo = revertPatch(before, patch);
    if (Object.keys(undo).length === 0) return '';
    const seq = ++s.auditSeq;
    const reason = `revert the unacknowledged ${action}`;
    try {
      const ack = await this.acts.publishControl({ env: this.env, transitionId: `${this.workflowId}:${seq}`, patch: undo, actor: AUTOMATIC_ACTOR, reason, ackTimeoutMs: this.policy.ackTimeoutMs });
      s.controlVersion = ack.version;
      await this.audit(seq, { actor: AUTOMATIC_ACTOR, action: 'revert', from: s.stage, to: s.stage, reason, evidence: { revertedAction: action, patch: undo, acknowledgedBy: ack.acknowledged }, controlVersion: ack.version });
      return `; the previous control state was published again as v${ack.version}`;
    } catch (err) {
      if (!(err instanceof TemporalFailure)) throw err;
      const message = errorMessage(err);
      await this.audit(seq, { actor: AUTOMATIC_ACTOR, action: 'revert_failed', from: s.stage, to: s.stage, reason, evidence: { revertedAction: action, patch: undo, error: message }, controlVersion: null });
      return `; publishing the previous control state failed too (${message}): instances that applied the patch keep it until the next transition`;
    }
  }

  private async audit(seq: number, entry: Pick<AuditEntry, 'actor' | 'action' | 'from' | 'to' | 'reason' | 'evidence' | 'controlVersion'>): Promise<void> {
    await this.acts.appendAudit({ env: this.env, seq, at: Date.now(), workflowId: this.workflowId, runId: workflowInfo().runId, ...entry });
  }

  /** Upserts the search attributes that differ from the workflow's current ones. */
  private syncSearchAttributes(): void {
    const s = this.state;
    const current = workflowInfo().typedSearchAttributes;
    const pairs: SearchAttributeUpdatePair[] = [];
    if (current.get(SWITCHYARD_ENV) !== this.env) pairs.push({ key: SWITCHYARD_ENV, value: this.env });
    if (current.get(SWITCHYARD_STAGE) !== s.stage) pairs.push({ key: SWITCHYARD_STAGE, value: s.stage });
    if (current.get(SWITCHYARD_RAMP_PERCENT) !== s.ramp) pairs.push({ key: SWITCHYARD_RAMP_PERCENT, value: s.ramp });
    if (pairs.length > 0) upsertSearchAttributes(pairs);
  }
}

/**
 * The migration of one environment. Validates its input, registers its handlers, then runs until
 * the migration is complete (returning the final state) or continues as new.
 */
export async function migrationWorkflow(input: MigrationInput): Promise<MigrationStateView> {
  const problems = inputProblems(input);
  if (problems.length > 0) {
    throw ApplicationFailure.create({ message: `invalid migration input: ${problems.join('; ')}`, type: MigrationFailureType.invalidInput, nonRetryable: true });
  }
  const run = new MigrationRun(input);
  run.reserveAuditNumbering();
  run.registerHandlers();
  return await run.run();
}
