import { AuditChain } from '../../components/audit-chain';
import { AuditTable } from '../../components/audit-table';
import { OutageBanner } from '../../components/outage-banner';
import { parseAuditFilters, toAuditQuery } from '../../lib/audit-filters';
import { environments, loadAudit, loadAuditChains } from '../../lib/data';
import { requirePageUser } from '../../lib/session';
import { AUDIT_ACTIONS } from '../../../contract';

export const dynamic = 'force-dynamic';

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requirePageUser();
  const { filters, problems } = parseAuditFilters(await searchParams);
  const [{ entries, outages }, chains] = await Promise.all([
    problems.length ? { entries: [], outages: [] } : loadAudit(toAuditQuery(filters)),
    loadAuditChains(),
  ]);
  // The export links carry the filters but not the page's limit: an export is pages of 1000 entries.
  const qs = new URLSearchParams(
    Object.entries(filters)
      .filter(([k, v]) => k !== 'limit' && v !== '' && v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();
  return (
    <>
      <h1>Audit history</h1>
      <OutageBanner outages={[...outages, ...chains.outages.filter((o) => !outages.some((x) => x.service === o.service))]} />
      <AuditChain reports={chains.reports} keyProblem={chains.keyProblem} />
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
        <span>
          Export the entries matching these filters (not only the {filters.limit} shown), newest first, with their evidence, 1000 per file (the answer&apos;s
          Link header names the next file):{' '}
          <a href={`/api/audit/export?format=csv&${qs}`} download data-testid="export-csv">
            CSV
          </a>{' '}
          ·{' '}
          <a href={`/api/audit/export?format=json&${qs}`} download data-testid="export-json">
            JSON
          </a>
        </span>
      </form>
      {problems.length ? (
        <p className="result error" role="alert">
          Bad filter: {problems.join('; ')}
        </p>
      ) : null}
      <p className="muted">
        {entries.length} entries, newest first{entries.length >= filters.limit ? ` (the newest ${filters.limit}; the exports page through them all)` : ''}.
      </p>
      <AuditTable entries={entries} />
    </>
  );
}
