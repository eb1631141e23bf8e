'use client';

import { useRouter } from 'next/navigation';
import { useActionState, useEffect, useRef } from 'react';
import { formatUtc, gateDetailWords, nextStage, Stage, type GateStatus, type MigrationStateView } from '../../contract';
import { IDLE, type ActionState } from '../lib/action-state';
import type { Role } from '../lib/roles';
import type { AdvanceCheck } from '../lib/advance-checks';
import { Evidence } from './evidence';
import { ActionResult, RequestForm } from './request-form';

type Action = (prev: ActionState, form: FormData) => Promise<ActionState>;

/** The decommission request an approver judges: who asked, when, why, and the exit gate's figures then. */
export interface DecommissionRequest {
  requestedBy: string;
  requestedAt: number;
  reason: string;
  gate: GateStatus | null;
}

/** The approval's confirmation: the one step that cannot be undone, with everything the approver needs to judge it. */
function ApproveConfirmation({ env, state, request }: { env: string; state: MigrationStateView; request: DecommissionRequest | null }) {
  const keep = state.policy?.keepOldTables === true;
  return (
    <div data-testid="approve-confirmation">
      <p className="result error" data-testid="approve-warning">
        <strong>This cannot be undone.</strong>{' '}
        {keep
          ? `Approving stops the Cassandra writer and detaches the old store of ${env} for good (its tables are kept, but nothing writes them again).`
          : `Approving stops the Cassandra writer and drops the old store's data for ${env} (its keyspace). There is no way back to Cassandra afterwards.`}{' '}
        DynamoDB keeps serving every read and taking every write.
      </p>
      <dl className="facts">
        <dt>requested by</dt>
        <dd data-testid="approve-requested-by">{request?.requestedBy ?? state.approvalRequestedBy ?? 'unknown'}</dd>
        <dt>requested at</dt>
        <dd data-testid="approve-requested-at">{request ? formatUtc(request.requestedAt) : formatUtc(state.stageEnteredAt)}</dd>
        <dt>their reason</dt>
        <dd data-testid="approve-reason">{request?.reason ?? 'not found in the newest audit entries'}</dd>
        {request?.gate ? (
          <>
            <dt>gate when asked</dt>
            <dd>
              {request.gate.name.replace('->', ' → ')} {request.gate.passed ? 'met' : 'not met'}: {gateDetailWords(request.gate)}
            </dd>
          </>
        ) : null}
      </dl>
      {request?.gate ? (
        <div data-testid="approve-evidence">
          <p className="hint">the gate&apos;s figures when the decommission was asked for</p>
          <Evidence evidence={request.gate.evidence} />
        </div>
      ) : null}
    </div>
  );
}

/** 32 hex characters; crypto.getRandomValues works on plain-HTTP origins too (randomUUID does not). */
export function freshRequestId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Every rule that could refuse the advance, met or not, and the gate's evidence. */
function AdvanceChecklist({ state, checks }: { state: MigrationStateView; checks: AdvanceCheck[] }) {
  const refusing = checks.filter((c) => c.ok === false);
  return (
    <div data-testid="advance-checks" data-refusing={refusing.map((c) => c.rule).join(',')}>
      {refusing.length > 0 ? (
        <p className="result rejected" data-testid="advance-refusal">
          The workflow will refuse this now: {refusing.map((c) => c.rule).join(', ')} not met.
        </p>
      ) : null}
      <ul className="checks">
        {checks.map((c, i) => (
          <li key={`${c.rule}-${i}`} data-rule={c.rule} data-ok={String(c.ok)}>
            {c.ok === true ? (
              <span className="pill ok">ok</span>
            ) : c.ok === false ? (
              <span className="pill bad">refuses</span>
            ) : (
              <span className="pill warn">unknown</span>
            )}
            <span>
              <strong>{c.rule}</strong>: {c.text}
            </span>
          </li>
        ))}
      </ul>
      {state.gates.map((g) => (
        <div key={g.name} data-testid="gate-evidence">
          <p className="hint">evidence of gate {g.name}</p>
          <Evidence evidence={g.evidence} />
        </div>
      ))}
    </div>
  );
}

/** The actions an operator can take on one environment; nothing is shown to a viewer. */
export function ActionPanel({
  env,
  state,
  exists,
  role,
  username,
  migrationAction,
  checks = [],
  decommission = null,
}: {
  env: string;
  state: MigrationStateView | null;
  exists: boolean;
  role: Role;
  username: string;
  migrationAction: Action;
  /** The rules that could refuse an advance, as the page could judge them (shown before confirming). */
  checks?: AdvanceCheck[];
  /** The pending decommission request (for the approver's confirmation). */
  decommission?: DecommissionRequest | null;
}) {
  // One action state for the whole panel: the answer stays on screen when the request changes
  // the stage and with it the forms shown.
  const [answer, dispatch, pending] = useActionState(migrationAction, IDLE);
  // Show what the request changed at once: re-read the page as soon as the workflow answers.
  const router = useRouter();
  useEffect(() => {
    if (answer.status !== 'idle') router.refresh();
  }, [answer.at, answer.status, router]);
  // One request id per request until the workflow answers: a double submit takes effect once.
  const request = useRef<{ answerAt: number; kind: string; id: string } | null>(null);
  const submit = (data: FormData): void => {
    const kind = String(data.get('kind'));
    if (request.current?.answerAt !== answer.at || request.current.kind !== kind) request.current = { answerAt: answer.at, kind, id: freshRequestId() };
    data.set('requestId', request.current.id);
    dispatch(data);
  };
  const result = <ActionResult state={answer} testId="action-result" />;
  if (role === 'viewer')
    return (
      <p className="muted" data-testid="viewer-note">
        You are signed in as a viewer: actions need the operator role.
      </p>
    );
  const f = { submit, pending, env };
  if (!exists || state === null) {
    return (
      <section className="actions" aria-label="actions">
        <RequestForm {...f} kind="create" label="Create migration" needsReason={false} />
        {result}
      </section>
    );
  }
  const s = state;
  const next = nextStage(s.stage);
  const canRamp = s.stage === Stage.science || s.stage === Stage.cutover;
  // With cohorts the ramp is each cohort's (set in the Cohorts panel).
  const canRampAll = canRamp && !s.cohorts;
  return (
    <section className="actions" aria-label="actions">
      {s.stage === Stage.planned ? (
        <RequestForm {...f} kind="start" label="Start dual write">
          <label className="inline">
            <input type="checkbox" name="overridePromotionOrder" /> override promotion order
          </label>
          {checks
            .filter((c) => c.rule === 'promotion order' && c.ok === false)
            .map((c) => (
              <p key={c.rule} className="hint" data-testid="start-refusal">
                {c.text}
              </p>
            ))}
        </RequestForm>
      ) : null}
      {next && s.stage !== Stage.planned && s.stage !== Stage.decommission ? (
        <RequestForm
          {...f}
          kind="advance"
          label={`Advance to ${next.replace('_', ' ')}`}
          confirm={
            <>
              <p>
                Leave <strong>{s.stage}</strong> for <strong>{next}</strong>. The workflow judges every rule below again when you confirm, and refuses if one is
                not met.
              </p>
              <AdvanceChecklist state={s} checks={checks} />
            </>
          }
        >
          <input type="hidden" name="from" value={s.stage} />
          <label className="inline">
            <input type="checkbox" name="overridePromotionOrder" /> override promotion order
          </label>
        </RequestForm>
      ) : null}
      {canRampAll ? (
        <RequestForm {...f} kind="set_ramp" label="Set ramp">
          <input name="percent" type="number" min={0} max={100} step={1} required defaultValue={s.ramp} aria-label="ramp percent" />
        </RequestForm>
      ) : null}
      {canRamp && !s.paused ? <RequestForm {...f} kind="pause" label="Pause" /> : null}
      {s.paused || s.rolledBack ? <RequestForm {...f} kind="resume" label="Resume" /> : null}
      {s.stage !== Stage.planned && s.stage !== Stage.complete && s.stage !== Stage.decommission ? (
        <RequestForm
          {...f}
          kind="rollback"
          label="Roll back"
          danger
          reasonPlaceholder="why roll back (required; goes into the audit log)"
          confirm={<p>Roll back {env}: science and cutover go to 0% and pause; dual write goes back to planned; TTL wait goes back to cutover at 0%.</p>}
        />
      ) : null}
      {s.stage === Stage.decommission && s.pendingApproval ? (
        role === 'approver' ? (
          s.approvalRequestedBy === username ? (
            <p className="muted">You asked for this decommission: another approver must approve it.</p>
          ) : (
            <RequestForm
              {...f}
              kind="approve_decommission"
              label="Approve decommission"
              danger
              reasonPlaceholder="why approve (required; goes into the audit log)"
              confirm={<ApproveConfirmation env={env} state={s} request={decommission} />}
            />
          )
        ) : (
          <p className="muted">Decommission waits for an approver (someone other than {s.approvalRequestedBy ?? 'the requester'}).</p>
        )
      ) : null}
      {s.stage === Stage.decommission && !s.pendingApproval ? <p className="muted">Approved: the workflow is dropping the old store. Nothing to do.</p> : null}
      {s.stage === Stage.complete ? <p className="muted">The migration is complete: nothing left to do.</p> : null}
      {result}
    </section>
  );
}
