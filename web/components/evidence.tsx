import { evidenceFacts, type EvidenceFact } from '../../contract';

// Evidence (the figures behind a gate, a rollback or an audit entry) as labelled facts in human
// units (contract/evidence-words.ts), wrapped to the width of its box, with the raw JSON one click
// away behind a disclosure (class "raw": the only place an epoch or a bare fraction appears).

/** The figures a collapsed evidence names in its one line, the first found in this order. */
const SUMMARY_FIELDS = [
  'mismatchRate',
  'comparisons',
  'newStoreErrorRate',
  'servedNew',
  'coverageHorizon',
  'ttlGateAt',
  'oldestMinute',
  'dynamodbLag',
  'error',
];

/** The labelled facts as key/value rows (each row carries its raw key in data-key). */
function Facts({ facts }: { facts: EvidenceFact[] }) {
  return (
    <dl className="kv">
      {facts.map((f) => (
        <div key={f.key} data-key={f.key}>
          <dt>{f.label}</dt>
          <dd>{f.text}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The raw evidence, as recorded, behind a disclosure. */
function RawJson({ evidence }: { evidence: Record<string, unknown> }) {
  return (
    <details className="raw">
      <summary>raw figures (JSON)</summary>
      <pre className="json">{JSON.stringify(evidence, null, 2)}</pre>
    </details>
  );
}

/**
 * Labelled facts of the evidence with the raw JSON behind a disclosure; nothing for empty
 * evidence. `action` tells how from/to read (a ramp's percents, the fault switch's shares);
 * `collapsed` shows only a one-line summary (the first facts) that opens to all of them.
 */
export function Evidence({
  evidence,
  testId,
  raw = true,
  action,
  collapsed = false,
}: {
  evidence: Record<string, unknown> | null | undefined;
  testId?: string;
  raw?: boolean;
  action?: string;
  collapsed?: boolean;
}) {
  const facts = evidenceFacts(evidence, { action });
  if (!evidence || facts.length === 0) {
    if (evidence && Object.keys(evidence).length > 0 && raw)
      return (
        <div className="evidence-view" data-testid={testId}>
          <RawJson evidence={evidence} />
        </div>
      );
    return testId ? <span className="muted" data-testid={testId} /> : null;
  }
  if (collapsed) {
    const leaf = (f: EvidenceFact): string => f.key.split('.').at(-1) ?? f.key;
    const headline = SUMMARY_FIELDS.flatMap((k) => facts.filter((f) => leaf(f) === k)).slice(0, 2);
    return (
      <details className="evidence-view evidence-collapsed" data-testid={testId}>
        <summary>
          {headline.map((f) => `${f.label} ${f.text}`).join(', ')}
          <span className="muted">
            {headline.length ? ' · ' : ''}
            {facts.length} figure{facts.length === 1 ? '' : 's'}
          </span>
        </summary>
        <Facts facts={facts} />
        {raw ? <RawJson evidence={evidence!} /> : null}
      </details>
    );
  }
  return (
    <div className="evidence-view" data-testid={testId}>
      <Facts facts={facts} />
      {raw ? <RawJson evidence={evidence} /> : null}
    </div>
  );
}
