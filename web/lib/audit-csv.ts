import { stringify } from 'csv-stringify/sync';
import type { AuditEntry } from '../../contract/index.js';

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
