'use client';

import { useActionState } from 'react';
import { ActionResult } from '../../components/request-form';
import { IDLE } from '../../lib/action-state';
import { endSessionsAction } from '../../lib/account-actions';

/** Ends every session of one user. */
export function EndSessionsForm({ username }: { username: string }) {
  const [state, action, pending] = useActionState(endSessionsAction, IDLE);
  return (
    <form action={action} aria-label={`End the sessions of ${username}`}>
      <input type="hidden" name="username" value={username} />
      <button type="submit" className="danger" disabled={pending}>
        End {username}’s sessions
      </button>
      <ActionResult state={state} testId="end-sessions-result" />
    </form>
  );
}
