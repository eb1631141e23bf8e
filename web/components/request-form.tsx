'use client';

import { useRef, type ReactNode } from 'react';
import type { ActionState } from '../lib/action-state';

/** The answer of the last submit: accepted, rejected with the workflow's reason, or an error. */
export function ActionResult({ state, testId }: { state: ActionState; testId: string }) {
  if (state.status === 'idle') return null;
  return (
    <p className={`result ${state.status}`} role="status" data-testid={testId} data-status={state.status} data-kind={state.kind} data-at={state.at}>
      {state.message}
    </p>
  );
}

/**
 * One operator request as a form: env and kind ride along as hidden fields; `submit` adds the
 * request id and sends it. `confirm` (optional) asks before sending, showing what the operator is
 * about to do.
 */
export function RequestForm({
  submit,
  pending,
  env,
  kind,
  label,
  children,
  confirm,
  danger = false,
  reasonPlaceholder = 'why (goes into the audit log)',
  needsReason = true,
  buttonTestId,
}: {
  submit: (form: FormData) => void;
  pending: boolean;
  env: string;
  kind: string;
  label: string;
  children?: ReactNode;
  confirm?: ReactNode;
  danger?: boolean;
  reasonPlaceholder?: string;
  needsReason?: boolean;
  /** data-testid of the button that sends (or, with confirm, opens the confirmation). */
  buttonTestId?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const form = useRef<HTMLFormElement>(null);
  return (
    <div className="request" data-kind={kind}>
      <form ref={form} action={submit} aria-label={label}>
        <input type="hidden" name="env" value={env} />
        <input type="hidden" name="kind" value={kind} />
        {children}
        {needsReason ? <input name="reason" required minLength={3} maxLength={500} placeholder={reasonPlaceholder} aria-label={`reason for ${label}`} /> : null}
        {confirm ? (
          <button
            type="button"
            className={danger ? 'danger' : undefined}
            disabled={pending}
            data-testid={buttonTestId}
            onClick={() => {
              if (form.current?.reportValidity()) dialog.current?.showModal();
            }}
          >
            {label}
          </button>
        ) : (
          <button type="submit" className={danger ? 'danger' : undefined} disabled={pending} data-testid={buttonTestId}>
            {label}
          </button>
        )}
        {confirm ? (
          <dialog ref={dialog} aria-label={`confirm ${label}`}>
            <h3>{label}?</h3>
            {confirm}
            <div className="row">
              <button type="submit" className={danger ? 'danger' : undefined} onClick={() => dialog.current?.close()}>
                Confirm {label.toLowerCase()}
              </button>
              <button type="button" onClick={() => dialog.current?.close()}>
                Cancel
              </button>
            </div>
          </dialog>
        ) : null}
      </form>
    </div>
  );
}
