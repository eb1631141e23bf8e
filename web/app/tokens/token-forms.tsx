'use client';

import { useActionState } from 'react';
import { ActionResult } from '../../components/request-form';
import { IDLE } from '../../lib/action-state';
import { createTokenAction, revokeTokenAction, type TokenActionState } from '../../lib/account-actions';

const TOKEN_IDLE: TokenActionState = { ...IDLE, token: null };

/** Creates a token; the new token is shown once, here. */
export function CreateTokenForm({ maxDays }: { maxDays: number }) {
  const [state, action, pending] = useActionState(createTokenAction, TOKEN_IDLE);
  return (
    <form action={action} aria-label="Create a token">
      <label>
        Name <input name="name" required maxLength={80} placeholder="what it is for, e.g. laptop CLI" />
      </label>
      <label>
        Days <input name="days" type="number" min={1} max={maxDays} defaultValue={30} required />
      </label>
      <button type="submit" disabled={pending}>
        {pending ? 'Creating…' : 'Create token'}
      </button>
      <ActionResult state={state} testId="token-result" />
      {state.token ? (
        <p>
          <code data-testid="new-token">{state.token}</code>
        </p>
      ) : null}
    </form>
  );
}

/** Revokes one token; stays on the page once the token is revoked, to show the answer. */
export function RevokeTokenForm({ id, active }: { id: string; active: boolean }) {
  const [state, action, pending] = useActionState(revokeTokenAction, IDLE);
  return (
    <form action={action} aria-label={`Revoke token ${id}`}>
      <input type="hidden" name="id" value={id} />
      {active ? (
        <button type="submit" className="danger" disabled={pending}>
          Revoke
        </button>
      ) : null}
      <ActionResult state={state} testId="revoke-result" />
    </form>
  );
}
