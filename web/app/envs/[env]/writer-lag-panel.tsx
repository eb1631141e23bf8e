import { CAUGHT_UP_MS, describeWriterLag, Stage } from '../../../../contract/index';
import { duration, num, time } from '../../../components/format';
import { fleet } from '../../../lib/fleet';
import { loadEnvDetail, loadScienceWindow } from '../../../lib/data';

/**
 * The writers of an environment: how far behind each store's writer is now (the age of its oldest
 * unwritten record, and how many), measured from Kafka on every refresh; whether automatic
 * ramping holds for it; and what a lagging writer means for reads and evidence (nothing is judged
 * or served past what both writers have written, and nothing rolls back for it).
 */
export async function WriterLagPanel({ env }: { env: string }) {
  const loaded = await loadEnvDetail(env);
  const s = loaded?.detail.migration.kind === 'running' ? loaded.detail.migration.state : null;
  // Before dual write nothing is written to the new store; after completion the old store is gone.
  if (s === null || s.stage === Stage.planned || s.stage === Stage.complete) return null;
  const hold = s.writerHold ?? null;
  const [lag, science] = await Promise.all([
    fleet()
      .writerLag(env)
      .catch(() => ({ old: null, new: null })),
    loadScienceWindow(env, 5 * 60_000),
  ]);
  const rows = [
    { store: 'old' as const, label: 'Cassandra (old store)', lag: lag.old },
    { store: 'new' as const, label: 'DynamoDB (new store)', lag: lag.new },
  ];
  const behind = (l: { behindMs: number; messages: number } | null): boolean => l !== null && l.messages > 0 && l.behindMs > CAUGHT_UP_MS;
  return (
    <section className="card" data-testid="writer-lag">
      <h2>Writers</h2>
      <table>
        <thead>
          <tr>
            <th>store</th>
            <th>writer</th>
            <th>behind by</th>
            <th>points not yet written</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.store} data-testid={`writer-lag-${r.store}`} data-behind-ms={r.lag?.behindMs ?? ''}>
              <td>{r.label}</td>
              <td>
                {r.lag === null ? (
                  <span className="pill warn">unknown</span>
                ) : behind(r.lag) ? (
                  <span className="pill warn">behind</span>
                ) : (
                  <span className="pill ok">caught up</span>
                )}
              </td>
              <td>{r.lag === null ? '–' : behind(r.lag) ? duration(r.lag.behindMs) : 'caught up'}</td>
              <td>{r.lag === null ? '–' : num(r.lag.messages)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {hold ? (
        <p className="pill warn" data-testid="writer-hold">
          Automatic ramping holds since {time(hold.since)}: {describeWriterLag(hold.store, { behindMs: hold.behindMs, messages: 1 })}
          {hold.outage ? ' (long enough to be an outage: notified)' : ''}.
        </p>
      ) : null}
      <p className="muted">
        A writer that is down, restarting or behind is not evidence that the data differs: a minute only one store has is not judged until both writers are
        proven past it, reads take from the new store only what its writer has written (the newer minutes from the old store while it is still written), and
        nothing rolls back for it. Last 5 minutes: {num(science?.counters.unjudged)} comparisons with a minute not judged (a writer was behind),{' '}
        {num(science?.counters.freshSplits)} reads whose newest minutes the old store supplied.
      </p>
    </section>
  );
}
