import { Evidence } from '../../components/evidence';
import { time } from '../../components/format';
import { TestNotification } from '../../components/test-notification';
import { testNotificationAction } from '../../lib/actions';
import { environments } from '../../lib/data';
import { consoleNotifier, loadReceived, routeViews } from '../../lib/notifications';
import { requirePageUser } from '../../lib/session';

export const dynamic = 'force-dynamic';

export default async function NotificationsPage() {
  const user = await requirePageUser();
  const n = consoleNotifier();
  const settings = 'error' in n ? null : n.settings;
  const received = await loadReceived(settings?.receiverUrl ?? null);
  return (
    <>
      <h1>Notifications</h1>
      <section className="card">
        <p>
          The worker posts to these webhooks when a migration rolls back automatically, a gate is met (an operator may advance), a decommission waits for
          approval, a stage is entered, and a migration completes — as generic JSON or as a Slack-compatible message, retried with backoff. Paths are hidden:
          they may hold a secret.
        </p>
        {'error' in n ? (
          <p className="result error" role="alert">
            The notifier settings are invalid: {n.error}
          </p>
        ) : settings && settings.routes.length === 0 ? (
          <p className="muted" data-testid="no-routes">
            No routes: notifications are off. Set SWITCHYARD_NOTIFY_URL or SWITCHYARD_NOTIFY_ROUTES (docs/configuration.md).
          </p>
        ) : settings ? (
          <div className="scroll-x">
            <table data-testid="notify-routes">
              <thead>
                <tr>
                  <th>env</th>
                  <th>webhook</th>
                  <th>format</th>
                  <th>events</th>
                </tr>
              </thead>
              <tbody>
                {routeViews(settings).map((r, i) => (
                  <tr key={i}>
                    <td>{r.env === '*' ? 'every env' : r.env}</td>
                    <td>
                      <code>{r.url}</code>
                    </td>
                    <td>{r.format}</td>
                    <td>{r.events.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {user.role === 'viewer' ? (
          <p className="muted">Sending a test notification needs the operator role.</p>
        ) : (
          <TestNotification envs={environments()} action={testNotificationAction} />
        )}
      </section>
      <h2>Received by the local receiver</h2>
      {received === null ? (
        <p className="muted">No local receiver configured (SWITCHYARD_NOTIFY_RECEIVER_URL; npm start runs one).</p>
      ) : received.error ? (
        <p className="result error">The local receiver is unreachable: {received.error}</p>
      ) : received.messages.length === 0 ? (
        <p className="muted" data-testid="received-none">
          Nothing received yet.
        </p>
      ) : (
        <div className="scroll-x">
          <table data-testid="received">
            <thead>
              <tr>
                <th>received</th>
                <th>as</th>
                <th>message</th>
                <th>evidence</th>
              </tr>
            </thead>
            <tbody>
              {received.messages.slice(0, 50).map((m) => (
                <tr key={m.n} data-kind={m.body.kind ?? ''} data-format={m.format}>
                  <td>{time(m.receivedAt)}</td>
                  <td>
                    {m.format} <code>{m.path}</code>
                  </td>
                  <td>
                    <strong>{m.body.title ?? ''}</strong> {m.body.text ?? ''}
                  </td>
                  <td>{m.format === 'json' ? <Evidence evidence={m.body.evidence as Record<string, unknown>} /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
