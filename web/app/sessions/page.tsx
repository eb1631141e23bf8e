import { redirect } from 'next/navigation';
import { time } from '../../components/format';
import { listSessions, listTokens } from '../../lib/auth-store';
import { consoleSettings } from '../../lib/console-settings';
import { roleAtLeast } from '../../lib/roles';
import { requirePageUser } from '../../lib/session';
import { loadUsers } from '../../lib/users';
import { EndSessionsForm } from './end-sessions-form';

export const dynamic = 'force-dynamic';

/** Every live sign-in session and every active API token; approvers end a user's sessions here (docs/security.md). */
export default async function SessionsPage() {
  const user = await requirePageUser();
  if (!roleAtLeast(user.role, 'approver')) redirect('/');
  const [sessions, tokens] = await Promise.all([listSessions(), listTokens()]);
  const active = tokens.filter((t) => t.state === 'active');
  // Every user of the users file (not only those signed in now), so a form stays on the page, with
  // its answer, after it ended the last of a user's sessions.
  const users = [...new Set([...loadUsers().keys(), ...sessions.map((x) => x.username)])].sort();
  const s = consoleSettings();
  return (
    <>
      <h1>Sessions</h1>
      <section className="card">
        <p className="muted">
          A session ends at sign-out, after {Math.round(s.sessionIdleSeconds / 60)} minutes unused, or {Math.round(s.sessionTtlSeconds / 3600)} hours after
          sign-in, whichever comes first. Ending a user’s sessions signs out every browser of theirs at its next request; their API tokens are theirs to revoke
          (or remove the user from the users file, which stops both at once).
        </p>
        {users.map((u) => (
          <EndSessionsForm key={u} username={u} />
        ))}
        <table data-testid="session-table">
          <thead>
            <tr>
              <th>user</th>
              <th>role</th>
              <th>session</th>
              <th>signed in</th>
              <th>last seen</th>
              <th>ends at the latest</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((x) => (
              <tr key={x.ref} data-user={x.username}>
                <td>{x.username}</td>
                <td>{x.role}</td>
                <td>
                  <code>{x.ref}</code>
                </td>
                <td>{time(x.createdAt)}</td>
                <td>{time(x.lastSeenAt)}</td>
                <td>{time(x.expiresAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>Active API tokens</h2>
        <table data-testid="all-tokens-table">
          <thead>
            <tr>
              <th>user</th>
              <th>id</th>
              <th>name</th>
              <th>role</th>
              <th>expires</th>
              <th>last used</th>
            </tr>
          </thead>
          <tbody>
            {active.map((t) => (
              <tr key={t.id}>
                <td>{t.username}</td>
                <td>
                  <code>{t.id}</code>
                </td>
                <td>{t.name}</td>
                <td>{t.role}</td>
                <td>{time(t.expiresAt)}</td>
                <td>{t.lastUsedAt ? time(t.lastUsedAt) : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
