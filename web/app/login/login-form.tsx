'use client';

import { useActionState } from 'react';
import { ActionResult } from '../../components/request-form';
import { IDLE } from '../../lib/action-state';
import { loginAction } from '../../lib/actions';

export function LoginForm() {
  const [state, action, pending] = useActionState(loginAction, IDLE);
  return (
    <form action={action}>
      <label>
        Username <input name="username" autoComplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit" disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
      <ActionResult state={state} testId="login-result" />
    </form>
  );
}
