import { z } from 'zod';
import type { AuditQuery } from '../../audit/audit-log';
import { parseUtcInput, UTC_INPUT_EXAMPLE } from './utc-input';

/** Audit filters as they come in the URL (page and export share them). */
export interface AuditFilters {
  env: string;
  actor: string;
  action: string;
  since: string;
  until: string;
  limit: number;
  /** The page of the audit page (1: the newest entries); exports ignore it. */
  page: number;
}

/** Entries per page of the audit page. */
export const AUDIT_PAGE_SIZE = 25;

const isoOrEmpty = z
  .string()
  .trim()
  .refine((s) => s === '' || parseUtcInput(s) !== null, `a UTC time like ${UTC_INPUT_EXAMPLE}`);

const schema = z.object({
  env: z.string().trim().max(64).default(''),
  actor: z.string().trim().max(64).default(''),
  action: z.string().trim().max(64).default(''),
  since: isoOrEmpty.default(''),
  until: isoOrEmpty.default(''),
  limit: z.coerce.number().int().min(1).max(5000).default(200),
  page: z.coerce.number().int().min(1).max(200).default(1),
});

/** Parses filters from search params; problems are returned, not thrown. */
export function parseAuditFilters(params: Record<string, string | string[] | undefined>): { filters: AuditFilters; problems: string[] } {
  const flat = Object.fromEntries(
    Object.entries(params)
      .map(([k, v]) => [k, Array.isArray(v) ? v[0] : v])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(flat);
  if (parsed.success) return { filters: parsed.data, problems: [] };
  return {
    filters: { env: '', actor: '', action: '', since: '', until: '', limit: 200, page: 1 },
    problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
  };
}

/** The readAudit query for the filters. */
export function toAuditQuery(f: AuditFilters): AuditQuery {
  const q: AuditQuery = { limit: f.limit };
  if (f.env) q.env = f.env;
  if (f.actor) q.actor = f.actor;
  if (f.action) q.action = f.action;
  if (f.since) q.since = parseUtcInput(f.since)!;
  if (f.until) q.until = parseUtcInput(f.until)!;
  return q;
}
