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

/** Revokes one token. */
export function RevokeTokenForm({ id }: { id: string }) {
  const [state, action, pending] = useActionState(revokeTokenAction, IDLE);
  return (
    <form action={action} aria-label={`Revoke token ${id}`}>
      <input type="hidden" name="id" value={id} />
      <button type="submit" className="danger" disabled={pending}>
        Revoke
      </button>
      <ActionResult state={state} testId="revoke-result" />
    </form>
  );
}
