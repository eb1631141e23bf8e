import { OutageBanner } from '../../components/outage-banner';
import { TimeSeriesChart } from '../../components/time-series-chart';
import { environments, loadMetricsPreview } from '../../lib/data';
import { requirePageUser } from '../../lib/session';

export const dynamic = 'force-dynamic';

const METRICS = ['router.service_ms', 'router.connect_ms'];
const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export default async function MetricsPreviewPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requirePageUser();
  const sp = await searchParams;
  const envs = environments();
  const env = envs.includes(first(sp.env) ?? '') ? first(sp.env)! : envs[0]!;
  const app = (first(sp.app) ?? 'app-0001').trim();
  const metric = METRICS.includes(first(sp.metric) ?? '') ? first(sp.metric)! : METRICS[0]!;
  const minutes = Math.min(180, Math.max(5, Number(first(sp.minutes) ?? 30) || 30));
  const preview = await loadMetricsPreview(env, app, metric, minutes);
  const rows = preview.points.map((p) => ({ time: p.time, median: p.median, p99: p.p99 }));
  return (
    <>
      <h1>Metrics tab preview</h1>
      <p className="muted">
        What a user&apos;s Metrics tab shows, read through the query service exactly as dashboards read it. During the migration it must not change, whichever
        store serves it.
      </p>
      <OutageBanner outages={preview.outages} />
      <form className="filters card" method="get" aria-label="pick an app">
        <select name="env" defaultValue={env} aria-label="environment">
          {envs.map((e) => (
            <option key={e}>{e}</option>
          ))}
        </select>
        <input name="app" defaultValue={app} aria-label="app" placeholder="app-0001" />
        <select name="metric" defaultValue={metric} aria-label="metric">
          {METRICS.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
        <select name="minutes" defaultValue={String(minutes)} aria-label="window">
          {[15, 30, 60, 180].map((m) => (
            <option key={m} value={m}>
              last {m} min
            </option>
          ))}
        </select>
        <button type="submit">Show</button>
      </form>
      {preview.error ? (
        <p className="result error" role="alert">
          The query service refused: {preview.error}
        </p>
      ) : null}
      <p data-testid="served-by">
        {preview.points.length} minutes, served by <strong>{servedByText(preview.servedBy)}</strong>.
      </p>
      <TimeSeriesChart
        testId="chart-preview"
        title={`${app} ${metric}: median and p99 (ms)`}
        rows={rows}
        unit="ms"
        lines={[
          { key: 'median', label: 'median', color: '#2257d6' },
          { key: 'p99', label: 'p99', color: '#b42318' },
        ]}
      />
    </>
  );
}

/** The query service's x-switchyard-served-by in words. */
function servedByText(servedBy: string | null): string {
  switch (servedBy) {
    case 'old':
      return 'the old store';
    case 'new':
      return 'the new store';
    case 'split':
      return 'both stores (the old store before the coverage horizon, the new store from it)';
    case 'none':
      return 'no store (the whole range is past retention)';
    default:
      return 'an unknown store';
  }
}
