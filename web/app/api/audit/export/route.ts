import { NextResponse, type NextRequest } from 'next/server';
import { formatAuditCursor, parseAuditCursor } from '../../../../../audit/audit-log';
import { createLogger } from '../../../../../kit/logger';
import { auditCsv, auditJson } from '../../../../lib/audit-csv';
import { parseAuditFilters, toAuditQuery } from '../../../../lib/audit-filters';
import { loadAudit } from '../../../../lib/data';
import { AccessDeniedError, requireRole } from '../../../../lib/session';

export const dynamic = 'force-dynamic';

/** Entries in one export when it names no limit; the Link header names the next page. */
const EXPORT_PAGE = 1000;

const log = createLogger('console-audit-export', process.env.LOG_LEVEL ?? 'info');

/**
 * GET /api/audit/export?format=csv|json&env=&actor=&action=&since=&until=[&limit=][&after=]: the
 * matching entries, newest first, a page at a time (`limit`, default 1000, at most 5000). When
 * more match, the answer's Link header (rel="next") and X-Switchyard-Next-Page name the next page
 * (the same filters, after the last entry of this one).
 */
export async function GET(request: NextRequest): Promise<NextResponse> {
  try {
    await requireRole('viewer');
  } catch (err) {
    if (err instanceof AccessDeniedError) return NextResponse.json({ error: err.message }, { status: err.status });
    throw err;
  }
  const params = Object.fromEntries(request.nextUrl.searchParams.entries());
  const format = params.format ?? 'json';
  delete params.format;
  delete params.page;
  if (format !== 'csv' && format !== 'json') return NextResponse.json({ error: `format must be csv or json, not '${format}'` }, { status: 400 });
  const afterText = params.after;
  delete params.after;
  const after = afterText === undefined ? undefined : parseAuditCursor(afterText);
  if (after === null) return NextResponse.json({ error: `after '${afterText!.slice(0, 60)}' is not a page cursor (<at>.<env>.<seq>)` }, { status: 400 });
  const { filters, problems } = parseAuditFilters(params);
  if (problems.length) return NextResponse.json({ error: 'bad filter', problems }, { status: 400 });
  const query = toAuditQuery(filters);
  const pageSize = params.limit === undefined ? EXPORT_PAGE : filters.limit;
  // One more than the page: whether there is a next page.
  const { entries: read, outages } = await loadAudit({ ...query, limit: pageSize + 1, ...(after ? { after } : {}) });
  if (outages.length) {
    log.error({ action: 'audit-export', outages }, 'audit export failed: a store is unreachable');
    return NextResponse.json({ error: 'the audit log cannot be read right now; try again shortly' }, { status: 503, headers: { 'retry-after': '5' } });
  }
  const entries = read.slice(0, pageSize);
  const headers: Record<string, string> = { 'x-switchyard-rows': String(entries.length) };
  if (read.length > pageSize) {
    const next = new URL(request.nextUrl.pathname, 'http://console.invalid');
    for (const [k, v] of request.nextUrl.searchParams) if (k !== 'after') next.searchParams.set(k, v);
    next.searchParams.set('after', formatAuditCursor(entries.at(-1)!));
    const relative = `${next.pathname}${next.search}`;
    headers.link = `<${relative}>; rel="next"`;
    headers['x-switchyard-next-page'] = relative;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if (format === 'json') {
    return new NextResponse(JSON.stringify(auditJson(entries), null, 2), {
      headers: { ...headers, 'content-type': 'application/json', 'content-disposition': `attachment; filename="switchyard-audit-${stamp}.json"` },
    });
  }
  return new NextResponse(auditCsv(entries), {
    headers: { ...headers, 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="switchyard-audit-${stamp}.csv"` },
  });
}
