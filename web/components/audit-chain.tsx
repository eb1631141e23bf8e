import { describeChain, type ChainReport } from '../../audit/audit-chain';

/** What a chain report says, as one word for styling and tests. */
function chainState(r: ChainReport): 'intact' | 'broken' | 'unchained' | 'empty' {
  if (r.broken) return 'broken';
  if (r.entries === 0) return 'empty';
  return r.chainStart === null ? 'unchained' : 'intact';
}

/**
 * The tamper check of the audit log: per environment, whether every entry's keyed hash checks
 * against its content and the entry before it, and where the chain first breaks if it does not.
 */
export function AuditChain({ reports, keyProblem }: { reports: ChainReport[]; keyProblem: string | null }) {
  const broken = reports.filter((r) => r.broken);
  return (
    <section className="card" aria-label="audit log integrity" data-testid="audit-chain">
      <h2>Integrity</h2>
      {keyProblem ? (
        <p className="result error" role="alert">
          The audit chain cannot be checked: {keyProblem}
        </p>
      ) : null}
      {broken.length > 0 ? (
        <p className="result error" role="alert">
          The audit log of {broken.map((r) => r.env).join(', ')} was changed outside Switchyard: an entry no longer matches its hash. Treat the entries from the
          broken one on as unverified.
        </p>
      ) : null}
      <ul>
        {reports.map((r) => (
          <li key={r.env} data-testid={`audit-chain-${r.env}`} data-state={chainState(r)} data-broken-seq={r.broken?.seq}>
            {describeChain(r)}
          </li>
        ))}
      </ul>
      <p className="muted">
        Each entry carries a keyed hash of its content and of the entry before it (docs/security.md). Check from a shell with{' '}
        <code>npm run ops -- audit verify</code>.
      </p>
    </section>
  );
}
