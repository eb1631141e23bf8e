import { auditChangeText, formatUtc, humanizeTimes, refusalWords, type AuditEntry } from '../../contract';
import { Evidence } from './evidence';

/** A UTC date-time without its zone (the column header names it): 2026-12-05 14:03:07. */
const when = (ms: number): string => formatUtc(ms).replace(/ UTC$/, '');

/**
 * Audit entries, newest first: when (UTC), who, what changed in words (a ramp's percents, not
 * "science → science"), why, the evidence as a one-line summary that opens to every figure, and
 * the control-state version the entry published; with cohorts, the cohort an entry acted on.
 */
export function AuditTable({ entries, showEnv = true }: { entries: AuditEntry[]; showEnv?: boolean }) {
  if (entries.length === 0) return <p className="muted">No audit entries.</p>;
  return (
    <div className="scroll-x">
      <table data-testid="audit-table" className="audit">
        <thead>
          <tr>
            <th className="nowrap">when (UTC)</th>
            {showEnv ? <th>env</th> : null}
            <th>actor</th>
            <th>action</th>
            <th>change</th>
            <th>reason</th>
            <th>evidence</th>
            <th title="the control-state version this entry published to the data plane (– when it published none)">control state</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={`${e.env}-${e.workflowId}-${e.seq}`} data-action={e.action} data-actor={e.actor} data-seq={e.seq}>
              <td className="nowrap">{when(e.at)}</td>
              {showEnv ? <td>{e.env}</td> : null}
              <td>{e.actor}</td>
              <td className="nowrap" title={`audit entry #${e.seq}`}>
                {e.action.replaceAll('_', ' ')}
                {typeof e.evidence.cohort === 'string' ? <span className="hint"> cohort {e.evidence.cohort}</span> : null}
              </td>
              <td>{auditChangeText(e)}</td>
              <td className="reason-cell">{humanizeTimes(refusalWords(e.reason, 'console'))}</td>
              <td className="evidence-cell">
                <Evidence evidence={e.evidence} action={e.action} collapsed />
              </td>
              <td className="nowrap">{e.controlVersion === null ? '–' : `v${e.controlVersion}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
