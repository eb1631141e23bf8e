import Link from 'next/link';
import { Evidence } from '../../components/evidence';
import { time } from '../../components/format';
import { TestNotification } from '../../components/test-notification';
import { testNotificationAction } from '../../lib/actions';
import { environments } from '../../lib/data';
import { filterNotifications, groupNotifications } from '../../lib/notification-groups';
import { consoleNotifier, loadReceived, routeViews } from '../../lib/console-notifier';
import { requirePageUser } from '../../lib/session';
import { NOTIFICATION_KINDS } from '../../../contract';

export const dynamic = 'force-dynamic';

/** Events per page of the received list. */
const PAGE_SIZE = 15;

const first = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

export default async function NotificationsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requirePageUser();
  const sp = await searchParams;
  const envs = environments();
  const env = envs.includes(first(sp.env)) ? first(sp.env) : '';
  const kind = (NOTIFICATION_KINDS as readonly string[]).includes(first(sp.kind)) ? first(sp.kind) : '';
  const page = Math.max(1, Math.min(100, Math.floor(Number(first(sp.page)) || 1)));
  const n = consoleNotifier();
  const settings = 'error' in n ? null : n.settings;
  const received = await loadReceived(settings?.receiverUrl ?? null);
  const events = received ? filterNotifications(groupNotifications(received.messages), { env, kind }) : [];
  const shown = events.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const link = (p: number): string =>
    `/notifications?${new URLSearchParams({ ...(env ? { env } : {}), ...(kind ? { kind } : {}), ...(p > 1 ? { page: String(p) } : {}) })}`;
  return (
    <>
      <h1>Notifications</h1>
      <section className="card">
        <h2>Webhook routes</h2>
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
                      <code className="path">{r.url}</code>
                    </td>
                    <td>{r.format}</td>
                    <td>{r.events.map((e) => e.replaceAll('_', ' ')).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {user.role === 'viewer' ? (
          <p className="muted">Sending a test notification needs the operator role.</p>
        ) : (
          <TestNotification envs={envs} action={testNotificationAction} />
        )}
      </section>
      <h2>Received by the local receiver</h2>
      <form className="filters card" method="get" aria-label="notification filters">
        <select name="env" defaultValue={env} aria-label="environment">
          <option value="">every env</option>
          {envs.map((e) => (
            <option key={e}>{e}</option>
          ))}
        </select>
        <select name="kind" defaultValue={kind} aria-label="kind">
          <option value="">every kind</option>
          {NOTIFICATION_KINDS.map((k) => (
            <option key={k} value={k}>
              {k.replaceAll('_', ' ')}
            </option>
          ))}
        </select>
        <button type="submit">Show</button>
        <span className="muted">Each event once, with the formats it was delivered in. Times are UTC.</span>
      </form>
      {received === null ? (
        <p className="muted">No local receiver configured (SWITCHYARD_NOTIFY_RECEIVER_URL; npm start runs one).</p>
      ) : received.error ? (
        <p className="result error">The local receiver is unreachable: {received.error}</p>
      ) : events.length === 0 ? (
        <p className="muted" data-testid="received-none">
          {received.messages.length === 0 ? 'Nothing received yet.' : 'Nothing received matches these filters.'}
        </p>
      ) : (
        <>
          <div className="scroll-x">
            <table data-testid="received">
              <thead>
                <tr>
                  <th className="nowrap">received (UTC)</th>
                  <th>env</th>
                  <th>message</th>
                  <th>delivered as</th>
                  <th>evidence</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.id} data-kind={e.kind ?? ''} data-env={e.env ?? ''} data-id={e.id} data-formats={e.deliveries.map((d) => d.format).join(',')}>
                    <td className="nowrap">{time(e.receivedAt).replace(/ UTC$/, '')}</td>
                    <td>{e.env ?? '–'}</td>
                    <td className="reason-cell">
                      <strong>{e.title}</strong> {e.text}
                    </td>
                    <td>
                      {e.deliveries.map((d, i) => (
                        <span key={i} className="delivery" title={d.path}>
                          {d.format}
                        </span>
                      ))}
                    </td>
                    <td className="evidence-cell">
                      <Evidence evidence={e.evidence} action={e.kind ?? undefined} collapsed />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="notification pages" data-testid="received-pager">
            {page > 1 ? <Link href={link(page - 1)}>← newer</Link> : <span className="muted">← newer</span>}
            <span>
              events {(page - 1) * PAGE_SIZE + 1}–{(page - 1) * PAGE_SIZE + shown.length} of {events.length}
            </span>
            {page * PAGE_SIZE < events.length ? <Link href={link(page + 1)}>older →</Link> : <span className="muted">older →</span>}
          </nav>
        </>
      )}
    </>
  );
}
