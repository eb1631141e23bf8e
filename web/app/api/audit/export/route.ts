import { NextResponse, type NextRequest } from 'next/server';
import { auditCsv, auditJson } from '../../../../lib/audit-csv';
import { parseAuditFilters, toAuditQuery } from '../../../../lib/audit-filters';
import { loadAudit } from '../../../../lib/data';
import { AccessDeniedError, requireRole } from '../../../../lib/session';

export const dynamic = 'force-dynamic';

/** The limit of an export that asks for none: every matching entry. */
const EXPORT_ALL = Number.MAX_SAFE_INTEGER;

/** GET /api/audit/export?format=csv|json&env=&actor=&action=&since=&until=[&limit=]: every matching entry, newest first (limit: only the newest n). */
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
  const { filters, problems } = parseAuditFilters(params);
  if (problems.length) return NextResponse.json({ error: 'bad filter', problems }, { status: 400 });
  // Without a limit an export holds every entry that matches the filters, not a page of them.
  const query = toAuditQuery(filters);
  if (params.limit === undefined) query.limit = EXPORT_ALL;
  const { entries, outages } = await loadAudit(query);
  if (outages.length) return NextResponse.json({ error: outages.map((o) => `${o.service} is unreachable: ${o.message}`).join('; ') }, { status: 503 });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if (format === 'json') {
    return new NextResponse(JSON.stringify(auditJson(entries), null, 2), {
      headers: {
        'x-switchyard-rows': String(entries.length),
        'content-type': 'application/json',
        'content-disposition': `attachment; filename="switchyard-audit-${stamp}.json"`,
      },
    });
  }
  const csv = auditCsv(entries);
  return new NextResponse(csv, {
    headers: {
      'x-switchyard-rows': String(entries.length),
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="switchyard-audit-${stamp}.csv"`,
    },
  });
}
