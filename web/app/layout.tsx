import type { Metadata } from 'next';
import Link from 'next/link';
import { AutoRefresh } from '../components/auto-refresh';
import { logoutAction } from '../lib/actions';
import { currentUser } from '../lib/session';
import './globals.css';

export const metadata: Metadata = { title: 'Switchyard console', description: 'Cassandra → DynamoDB migrations, stage by stage' };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser().catch(() => null);
  return (
    <html lang="en">
      <body>
        <header className="top">
          <Link className="brand" href="/">
            Switchyard
          </Link>
          {user ? (
            <nav className="main">
              <Link href="/">Overview</Link>
              <Link href="/audit">Audit</Link>
              <Link href="/pipeline">Pipeline</Link>
              <Link href="/metrics">Metrics tab</Link>
              <Link href="/notifications">Notifications</Link>
              <Link href="/tokens">API tokens</Link>
              {user.role === 'approver' ? <Link href="/sessions">Sessions</Link> : null}
            </nav>
          ) : null}
          {user ? (
            <div className="who">
              <AutoRefresh />
              <span data-testid="whoami">
                {user.username} <span className="pill">{user.role}</span>
              </span>
              <form action={logoutAction}>
                <button type="submit">Sign out</button>
              </form>
            </div>
          ) : null}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
