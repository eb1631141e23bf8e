import { redirect } from 'next/navigation';
import { currentUser } from '../../lib/session';
import { ROLE_DESCRIPTIONS, ROLES } from '../../lib/roles';
import { LoginForm } from './login-form';

export const dynamic = 'force-dynamic';

export default async function LoginPage() {
  if (await currentUser().catch(() => null)) redirect('/');
  return (
    <div className="login card">
      <h1>Sign in to Switchyard</h1>
      <LoginForm />
      <h2>Roles</h2>
      <ul>
        {ROLES.map((r) => (
          <li key={r}>
            <strong>{r}</strong>: {ROLE_DESCRIPTIONS[r]}
          </li>
        ))}
      </ul>
      <p className="muted">Users and roles come from the users file (SWITCHYARD_USERS_FILE); `npm start` prints the local demo sign-ins.</p>
    </div>
  );
}
