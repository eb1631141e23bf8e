import { time } from '../../components/format';
import { listTokens } from '../../lib/auth-store';
import { consoleSettings } from '../../lib/console-settings';
import { requirePageUser } from '../../lib/session';
import { CreateTokenForm, RevokeTokenForm } from './token-forms';

export const dynamic = 'force-dynamic';

/** The signed-in user's personal API tokens, for `npm run ops` (docs/security.md). */
export default async function TokensPage() {
  const user = await requirePageUser();
  const tokens = await listTokens(user.username);
  return (
    <>
      <h1>API tokens</h1>
      <section className="card">
        <p>
          A token lets the operator CLI (<code>npm run ops</code>) act as you, with your role ({user.role}), through this console. Put it in{' '}
          <code>SWITCHYARD_TOKEN</code> or in <code>~/.config/switchyard/token</code>; never on a command line. It is shown once; only its hash is kept.
        </p>
        <CreateTokenForm maxDays={consoleSettings().tokenMaxDays} />
      </section>
      <section className="card">
        <h2>Your tokens</h2>
        {tokens.length === 0 ? (
          <p className="muted">none</p>
        ) : (
          <table data-testid="token-table">
            <thead>
              <tr>
                <th>id</th>
                <th>name</th>
                <th>role</th>
                <th>created</th>
                <th>expires</th>
                <th>last used</th>
                <th>state</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => {
                const state = t.state;
                return (
                  <tr key={t.id} data-token={t.id} data-state={state}>
                    <td>
                      <code>{t.id}</code>
                    </td>
                    <td>{t.name}</td>
                    <td>{t.role}</td>
                    <td>{time(t.createdAt)}</td>
                    <td>{time(t.expiresAt)}</td>
                    <td>{t.lastUsedAt ? time(t.lastUsedAt) : '–'}</td>
                    <td>{state}</td>
                    <td>
                      <RevokeTokenForm id={t.id} active={state === 'active'} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
