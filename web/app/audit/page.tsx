import { AuditTable } from '../../components/audit-table';
import { OutageBanner } from '../../components/outage-banner';
import { parseAuditFilters, toAuditQuery } from '../../lib/audit-filters';
import { environments, loadAudit } from '../../lib/data';
import { requirePageUser } from '../../lib/session';
import { AUDIT_ACTIONS } from '../../../contract';

export const dynamic = 'force-dynamic';

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requirePageUser();
  const { filters, problems } = parseAuditFilters(await searchParams);
  const { entries, outages } = problems.length ? { entries: [], outages: [] } : await loadAudit(toAuditQuery(filters));
  const qs = new URLSearchParams(
    Object.entries(filters)
      .filter(([, v]) => v !== '' && v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();
  return (
    <>
      <h1>Audit history</h1>
      <OutageBanner outages={outages} />
      <form className="filters card" method="get" aria-label="audit filters">
        <select name="env" defaultValue={filters.env} aria-label="environment">
          <option value="">every env</option>
          {environments().map((e) => (
            <option key={e}>{e}</option>
          ))}
        </select>
        <input name="actor" defaultValue={filters.actor} placeholder="actor (e.g. automatic)" aria-label="actor" />
        <input name="action" defaultValue={filters.action} placeholder="action" list="audit-actions" aria-label="action" />
        <datalist id="audit-actions">
          {AUDIT_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <input name="since" defaultValue={filters.since} placeholder="since (ISO time)" aria-label="since" />
        <input name="until" defaultValue={filters.until} placeholder="until (ISO time)" aria-label="until" />
        <button type="submit">Filter</button>
        <a href={`/api/audit/export?format=csv&${qs}`} download>
          Export CSV
        </a>
        <a href={`/api/audit/export?format=json&${qs}`} download>
          Export JSON
        </a>
      </form>
      {problems.length ? (
        <p className="result error" role="alert">
          Bad filter: {problems.join('; ')}
        </p>
      ) : null}
      <p className="muted">{entries.length} entries, newest first.</p>
      <AuditTable entries={entries} />
    </>
  );
}
