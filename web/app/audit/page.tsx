import Link from 'next/link';
import { AuditChain } from '../../components/audit-chain';
import { AuditTable } from '../../components/audit-table';
import { OutageBanner } from '../../components/outage-banner';
import { AUDIT_PAGE_SIZE, parseAuditFilters, toAuditQuery, type AuditFilters } from '../../lib/audit-filters';
import { environments, loadAudit, loadAuditChains } from '../../lib/data';
import { requirePageUser } from '../../lib/session';
import { UTC_INPUT_EXAMPLE } from '../../lib/utc-input';
import { AUDIT_ACTIONS } from '../../../contract';

export const dynamic = 'force-dynamic';

/** The filters as query-string pairs (empty ones left out), with some replaced. */
function queryOf(filters: AuditFilters, change: Partial<Record<keyof AuditFilters, string | number>>, drop: (keyof AuditFilters)[] = []): string {
  const merged: Record<string, string | number> = { ...filters, ...change };
  return new URLSearchParams(
    Object.entries(merged)
      .filter(([k, v]) => !drop.includes(k as keyof AuditFilters) && v !== '' && v !== undefined && !(k === 'page' && v === 1) && !(k === 'limit' && v === 200))
      .map(([k, v]) => [k, String(v)]),
  ).toString();
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requirePageUser();
  const { filters, problems } = parseAuditFilters(await searchParams);
  // One page of entries: read up to the end of the page and one more (to know whether older ones exist).
  const query = { ...toAuditQuery(filters), limit: filters.page * AUDIT_PAGE_SIZE + 1 };
  const [{ entries, outages }, chains] = await Promise.all([problems.length ? { entries: [], outages: [] } : loadAudit(query), loadAuditChains()]);
  const first = (filters.page - 1) * AUDIT_PAGE_SIZE;
  const shown = entries.slice(first, first + AUDIT_PAGE_SIZE);
  const hasOlder = entries.length > first + AUDIT_PAGE_SIZE;
  // The export links carry the filters but not the page: an export pages through every matching entry, 1000 a file.
  const qs = queryOf(filters, {}, ['limit', 'page']);
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
        {(['since', 'until'] as const).map((end) => (
          <input
            key={end}
            name={end}
            defaultValue={filters[end]}
            placeholder={`${end} (UTC) YYYY-MM-DD HH:MM`}
            title={`a UTC time, e.g. ${UTC_INPUT_EXAMPLE}`}
            aria-label={`${end} (UTC)`}
            size={28}
          />
        ))}
        <button type="submit">Filter</button>
        <span className="muted">
          Export every matching entry, newest first, with its figures, 1000 per file (the answer&apos;s Link header names the next file):{' '}
          <a href={`/api/audit/export?format=csv${qs ? `&${qs}` : ''}`} download data-testid="export-csv">
            CSV
          </a>{' '}
          ·{' '}
          <a href={`/api/audit/export?format=json${qs ? `&${qs}` : ''}`} download data-testid="export-json">
            JSON
          </a>
        </span>
      </form>
      {problems.length ? (
        <p className="result error" role="alert">
          Bad filter: {problems.join('; ')}
        </p>
      ) : null}
      <p className="hint">
        Every change of every migration, newest first, with who made it, why and the figures it was judged on (open a row&apos;s evidence for all of them).
        Times are UTC. <em>Control state</em> is the version of the control state the change published to the writers and query services.
      </p>
      <AuditTable entries={shown} />
      <Pager filters={filters} shownFrom={first + 1} shownTo={first + shown.length} hasOlder={hasOlder} />
    </>
  );
}

/** Newer / older page links and where this page is. */
function Pager({ filters, shownFrom, shownTo, hasOlder }: { filters: AuditFilters; shownFrom: number; shownTo: number; hasOlder: boolean }) {
  if (shownTo < shownFrom && filters.page === 1) return null;
  return (
    <nav className="pager" aria-label="audit pages" data-testid="audit-pager">
      {filters.page > 1 ? <Link href={`/audit?${queryOf(filters, { page: filters.page - 1 })}`}>← newer</Link> : <span className="muted">← newer</span>}
      <span>
        entries {shownFrom}–{shownTo} (page {filters.page})
      </span>
      {hasOlder ? (
        <Link href={`/audit?${queryOf(filters, { page: filters.page + 1 })}`} data-testid="audit-older">
          older →
        </Link>
      ) : (
        <span className="muted">older →</span>
      )}
    </nav>
  );
}
