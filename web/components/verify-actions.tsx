'use client';

import { useActionState, useRef, useState, type ReactNode } from 'react';
import { IDLE, REPAIR_IDLE, type ActionState, type RepairActionState } from '../lib/action-state';
import type { Role } from '../lib/roles';
import { freshRequestId } from './action-panel';
import { ActionResult, RequestForm } from './request-form';
import { RepairPlanView } from './verify-report';
import { UTC_INPUT_EXAMPLE } from '../lib/utc-input';

type Action<S> = (prev: S, form: FormData) => Promise<S>;

/** One request id per request until its answer comes: a double submit takes effect once. */
function useRequestIds(answerAt: number): (kind: string) => string {
  const request = useRef<{ answerAt: number; kind: string; id: string } | null>(null);
  return (kind) => {
    if (request.current?.answerAt !== answerAt || request.current.kind !== kind) request.current = { answerAt, kind, id: freshRequestId() };
    return request.current.id;
  };
}

/**
 * The verify and repair forms of one environment (nothing for a viewer). A repair is previewed
 * first (a plan, nothing changed) and carried out only when the operator confirms that plan.
 */
export function VerifyActions({
  env,
  role,
  verifyAction,
  repairAction,
}: {
  env: string;
  role: Role;
  verifyAction: Action<ActionState>;
  repairAction: Action<RepairActionState>;
}) {
  const [verifyAnswer, dispatchVerify, verifyPending] = useActionState(verifyAction, IDLE);
  const [repairAnswer, dispatchRepair, repairPending] = useActionState(repairAction, REPAIR_IDLE);
  const verifyId = useRequestIds(verifyAnswer.at);
  const repairId = useRequestIds(repairAnswer.at);
  // The preview the operator dismissed (by its answer's time): the plan is hidden, the form stays.
  const [dismissed, setDismissed] = useState(0);
  if (role === 'viewer')
    return (
      <p className="muted" data-testid="verify-viewer-note">
        You are signed in as a viewer: verify and repair need the operator role.
      </p>
    );
  const submitVerify = (data: FormData): void => {
    data.set('requestId', verifyId('verify'));
    dispatchVerify(data);
  };
  const submitRepair = (data: FormData): void => {
    data.set('requestId', repairId(String(data.get('kind'))));
    dispatchRepair(data);
  };
  const preview = repairAnswer.preview && repairAnswer.at !== dismissed ? repairAnswer.preview : null;
  return (
    <section className="actions" aria-label="verify and repair">
      <RangeRequestForm
        operation="verify"
        title="Verify both stores"
        submit={submitVerify}
        pending={verifyPending}
        env={env}
        label="Start verify"
        buttonTestId="start-verify"
      >
        <span className="muted">(both empty: the coverage horizon to the newest settled minute)</span>
      </RangeRequestForm>
      <ActionResult state={verifyAnswer} testId="verify-result" />
      <RangeRequestForm
        operation="repair"
        kind="preview_repair"
        title="Repair the new store"
        submit={submitRepair}
        pending={repairPending}
        env={env}
        label="Preview repair"
        buttonTestId="preview-repair"
      >
        <label className="inline">
          <input type="checkbox" name="deleteExtras" /> delete extra items found by
        </label>
        <input name="verifyWorkflowId" placeholder="verify run id" aria-label="verify run that found the extra items" size={36} />
        <label className="inline">
          <input type="checkbox" name="allowPartial" /> allow partial (repair what the topic still covers)
        </label>
      </RangeRequestForm>
      {preview ? (
        <div className="card preview" data-testid="repair-preview">
          <h3>Repair plan (nothing has changed yet)</h3>
          {preview.report.plan ? <RepairPlanView plan={preview.report.plan} /> : <p className="muted">The workflow returned no plan.</p>}
          {preview.report.plan?.range ? (
            <RequestForm
              submit={submitRepair}
              pending={repairPending}
              env={env}
              kind="repair"
              label="Confirm repair"
              buttonTestId="confirm-repair"
              danger
              needsReason={false}
            >
              <input type="hidden" name="from" value={preview.fields.from} />
              <input type="hidden" name="to" value={preview.fields.to} />
              <input type="hidden" name="reason" value={preview.fields.reason} />
              <input type="hidden" name="verifyWorkflowId" value={preview.fields.verifyWorkflowId} />
              {preview.fields.deleteExtras ? <input type="hidden" name="deleteExtras" value="on" /> : null}
              {preview.fields.allowPartial ? <input type="hidden" name="allowPartial" value="on" /> : null}
              <span className="muted">rewrites the new store for this range from the topic, then verifies it again</span>
            </RequestForm>
          ) : (
            <p className="muted">Nothing of the range can be repaired: there is nothing to confirm.</p>
          )}
          <button type="button" className="secondary" onClick={() => setDismissed(repairAnswer.at)}>
            Cancel
          </button>
        </div>
      ) : null}
      <ActionResult state={repairAnswer} testId="repair-result" />
    </section>
  );
}

/**
 * A verify or repair request over a range of minutes: its title, the range inputs, what the form
 * adds, and a reason that goes into the audit log. `kind` defaults to the operation.
 */
function RangeRequestForm({
  operation,
  kind = operation,
  title,
  children,
  ...form
}: {
  operation: 'verify' | 'repair';
  kind?: string;
  title: string;
  children?: ReactNode;
  submit: (data: FormData) => void;
  pending: boolean;
  env: string;
  label: string;
  buttonTestId: string;
}) {
  return (
    <RequestForm {...form} kind={kind} reasonPlaceholder={`why ${operation} (goes into the audit log)`}>
      <strong className="form-title">{title}</strong>
      <RangeFields kind={operation} required={operation === 'repair'} />
      {children}
    </RequestForm>
  );
}

/**
 * The range inputs of a verify or repair form: text typed as a UTC time to the minute (a
 * browser's date-time picker would show the viewer's locale and a 12-hour clock).
 */
function RangeFields({ kind, required = false }: { kind: 'verify' | 'repair'; required?: boolean }) {
  return (
    <>
      {(['from', 'to'] as const).map((end) => (
        <label className="inline" key={end}>
          {end}{' '}
          <input
            type="text"
            name={end}
            required={required}
            inputMode="numeric"
            pattern={String.raw`\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?( ?(UTC|Z))?`}
            placeholder="YYYY-MM-DD HH:MM"
            title={`a UTC time, e.g. ${UTC_INPUT_EXAMPLE}`}
            size={18}
            aria-label={`${kind} ${end} (UTC)`}
          />
        </label>
      ))}
      <span className="muted">UTC</span>
    </>
  );
}
