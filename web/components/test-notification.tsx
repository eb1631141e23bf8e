'use client';

import { useRouter } from 'next/navigation';
import { useActionState, useEffect } from 'react';
import { IDLE, type ActionState } from '../lib/action-state';
import { ActionResult } from './request-form';

/** The "send test notification" button: posts a test message to the routes of the chosen env. */
export function TestNotification({ envs, action }: { envs: string[]; action: (prev: ActionState, form: FormData) => Promise<ActionState> }) {
  const [answer, dispatch, pending] = useActionState(action, IDLE);
  const router = useRouter();
  useEffect(() => {
    if (answer.status !== 'idle') router.refresh();
  }, [answer.at, answer.status, router]);
  return (
    <form action={dispatch} className="filters" aria-label="send test notification">
      <select name="env" aria-label="environment of the test notification" defaultValue={envs[0]}>
        {envs.map((e) => (
          <option key={e}>{e}</option>
        ))}
      </select>
      <button type="submit" disabled={pending} data-testid="send-test-notification">
        Send test notification
      </button>
      <ActionResult state={answer} testId="test-notification-result" />
    </form>
  );
}
