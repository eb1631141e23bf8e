import { stringify } from 'csv-stringify/sync';
import { auditChangeText, evidenceFacts, type AuditEntry } from '../../contract/index.js';

/** The audit export's columns, in order. */
export const AUDIT_CSV_COLUMNS = ['at', 'env', 'seq', 'actor', 'action', 'from', 'to', 'reason', 'evidence', 'controlVersion', 'workflowId', 'runId'] as const;

/**
 * Audit entries as CSV, one row each. A cell that a spreadsheet would run as a formula (it starts
 * with =, +, -, @, a tab or a carriage return; a reason may say anything) is escaped with a
 * leading quote, so opening the export never runs what an operator typed.
 */
export function auditCsv(entries: readonly AuditEntry[]): string {
  return stringify(
    entries.map((e) => ({ ...e, at: new Date(e.at).toISOString(), evidence: JSON.stringify(e.evidence) })),
    { header: true, columns: [...AUDIT_CSV_COLUMNS], escape_formulas: true },
  );
}

/** One entry of the JSON export: the entry with `at` as an ISO 8601 UTC time (as in the CSV), the raw epoch ms in `atMs`, and its change and figures in words. */
export type AuditJsonEntry = Omit<AuditEntry, 'at'> & { at: string; atMs: number; change: string; facts: Record<string, string> };

/** Audit entries as the JSON export gives them: every raw field kept (evidence untouched), times and figures also in human units. */
export function auditJson(entries: readonly AuditEntry[]): AuditJsonEntry[] {
  return entries.map((e) => ({
    ...e,
    at: new Date(e.at).toISOString(),
    atMs: e.at,
    change: auditChangeText(e),
    facts: Object.fromEntries(evidenceFacts(e.evidence, { action: e.action }).map((f) => [f.label, f.text])),
  }));
}
