import type { AuditEntry } from '../../contract';
import { Evidence } from './evidence';
import { time } from './format';

/** Audit entries, newest first, with their evidence (and the cohort an entry acted on, with cohorts). */
export function AuditTable({ entries, showEnv = true }: { entries: AuditEntry[]; showEnv?: boolean }) {
  if (entries.length === 0) return <p className="muted">No audit entries.</p>;
  return (
    <div className="scroll-x">
      <table data-testid="audit-table" className="audit">
        <thead>
          <tr>
            <th>when</th>
            {showEnv ? <th>env</th> : null}
            <th>#</th>
            <th>actor</th>
            <th>action</th>
            <th>from → to</th>
            <th>reason</th>
            <th>evidence</th>
            <th>control</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={`${e.env}-${e.workflowId}-${e.seq}`} data-action={e.action} data-actor={e.actor}>
              <td>{time(e.at)}</td>
              {showEnv ? <td>{e.env}</td> : null}
              <td>{e.seq}</td>
              <td>{e.actor}</td>
              <td>
                {e.action}
                {typeof e.evidence.cohort === 'string' ? <span className="hint"> cohort {e.evidence.cohort}</span> : null}
              </td>
              <td>
                {e.from} → {e.to}
              </td>
              <td>{e.reason}</td>
              <td className="evidence-cell">
                <Evidence evidence={e.evidence} />
              </td>
              <td>{e.controlVersion ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
