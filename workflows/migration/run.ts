/**
 * One run of the migration workflow (a continue-as-new starts another): its state, the operator
 * updates and the state query, and the loop (timers, evaluations, decommission, continue-as-new).
 */
import { allHandlersFinished, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { Stage, type MigrationActivities, type MigrationInput, type MigrationPolicy, type MigrationStateView } from '../../contract/index.js';
import {
  advanceUpdate,
  approveDecommissionUpdate,
  pauseUpdate,
  recordOperationUpdate,
  resumeUpdate,
  rollbackUpdate,
  setFaultUpdate,
  setRampUpdate,
  startUpdate,
  stateQuery,
} from '../../contract/migration-messages.js';
import { migrationActivities } from './activities.js';
import { nextTickAt, tick } from './evaluation.js';
import { TransitionLock } from './lock.js';
import {
  checkAdvance,
  checkApprove,
  checkPause,
  checkRecordOperation,
  checkResume,
  checkRollback,
  checkSetFault,
  checkSetRamp,
  RequestDesk,
} from './requests.js';
import { advance, approveDecommission, finishDecommission, pause, recordOperation, resume, rollback, setFault, setRamp } from './stage-moves.js';
import { initialState, view, type Run, type WorkflowState } from './state.js';
import { syncSearchAttributes } from './transitions.js';

/** The workflow function continue-as-new starts again (its registered type name). */
type MigrationWorkflow = (input: MigrationInput) => Promise<MigrationStateView>;

export class MigrationRun implements Run {
  readonly env: string;
  readonly policy: MigrationPolicy;
  readonly workflowId: string;
  readonly acts: MigrationActivities;
  readonly state: WorkflowState;
  private readonly lock = new TransitionLock();
  private readonly desk: RequestDesk;
  /** Bumped on every change, so the loop re-plans its timer. */
  private changes = 0;
  /** Timer ticks of this run (continue-as-new after policy.continueAsNewAfter). */
  private ticks = 0;
  private lastTickAt: number;
  /** A fresh start (nothing carried): audit numbering must continue after the env's existing log. */
  private readonly fresh: boolean;
  /** Set by reserveAuditNumbering: resolves once auditSeq continues the env's existing log. */
  private numbering: Promise<void> = Promise.resolve();

  constructor(input: MigrationInput) {
    this.env = input.env;
    this.policy = input.policy;
    this.workflowId = workflowInfo().workflowId;
    this.acts = migrationActivities(input.policy);
    this.state = initialState(input.env, input.carried, Date.now());
    this.fresh = input.carried === undefined;
    this.lastTickAt = Date.now();
    this.desk = new RequestDesk(this, this.lock);
  }

  changed(): void {
    this.changes++;
  }

  /** Registers the query and the operator updates. */
  registerHandlers(): void {
    // The policy rides along for the readers (what happens next, and when); a query is not part
    // of the history, so this changes nothing a replay sees.
    setHandler(stateQuery, () => ({ ...view(this.state), policy: this.policy }));
    const d = this.desk;
    d.register(
      startUpdate,
      'start',
      (a) => checkAdvance(this, { ...a, from: Stage.planned }),
      (a) => advance(this, { ...a, from: Stage.planned }),
    );
    d.register(
      advanceUpdate,
      'advance',
      (a) => checkAdvance(this, a),
      (a) => advance(this, a),
    );
    d.register(
      rollbackUpdate,
      'rollback',
      (a) => checkRollback(this, a),
      (a) => rollback(this, a),
    );
    d.register(
      pauseUpdate,
      'pause',
      (a) => checkPause(this, a),
      (a) => pause(this, a),
    );
    d.register(
      resumeUpdate,
      'resume',
      (a) => checkResume(this, a),
      (a) => resume(this, a),
    );
    d.register(
      setRampUpdate,
      'set_ramp',
      (a) => checkSetRamp(this, a),
      (a) => setRamp(this, a),
    );
    d.register(
      approveDecommissionUpdate,
      'approve_decommission',
      (a) => checkApprove(this, a),
      (a) => approveDecommission(this, a),
    );
    d.register(
      recordOperationUpdate,
      'record_operation',
      (a) => checkRecordOperation(this, a),
      (a) => recordOperation(this, a),
    );
    d.register(
      setFaultUpdate,
      'set_fault',
      (a) => checkSetFault(this, a),
      (a) => setFault(this, a),
    );
  }

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
    syncSearchAttributes(this);
    await this.numbering;
    for (;;) {
      if (this.state.stage === Stage.complete) break;
      if (this.ticks >= this.policy.continueAsNewAfter || workflowInfo().continueAsNewSuggested) {
        // Let running updates finish (their results go to the operators) and nothing hold the lock.
        await condition(() => allHandlersFinished() && this.lock.idle);
        log.info('continuing as new', { env: this.env, workflowId: this.workflowId, ticks: this.ticks, auditSeq: this.state.auditSeq });
        return await continueAsNew<MigrationWorkflow>({ env: this.env, policy: this.policy, carried: this.state });
      }
      if (this.state.stage === Stage.decommission && !this.state.pendingApproval) {
        await this.lock.run(() => finishDecommission(this));
        continue;
      }
      const dueAt = nextTickAt(this, this.lastTickAt);
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
      await this.lock.run(() => tick(this));
    }
    await condition(allHandlersFinished);
    return view(this.state);
  }
}
