import { duration, time } from './format';

// Evidence (the figures behind a gate, a rollback or an audit entry) as readable key/value rows,
// wrapped to the width of its box, with the raw JSON behind a disclosure.

/** Nested evidence flattened to dotted keys ("gate.evidence.bakeMs"), at most `depth` levels deep. */
function flatten(value: Record<string, unknown>, prefix = '', depth = 3): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth > 1) out.push(...flatten(v as Record<string, unknown>, key, depth - 1));
    else out.push([key, v]);
  }
  return out;
}

/** A value in words: rates as percent, *Ms as a duration, epoch-ms times as UTC, lists joined. */
export function evidenceValue(key: string, v: unknown): string {
  const leaf = key.split('.').at(-1) ?? key;
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (/rate$/i.test(leaf) && v >= 0 && v <= 1) return `${(v * 100).toFixed(v !== 0 && v < 0.001 ? 3 : 2)} %`;
    if (/ms$/i.test(leaf))
      return v >= Number.MAX_SAFE_INTEGER ? 'above the largest bucket' : v >= 1000 ? `${duration(v)} (${v.toLocaleString('en-US')} ms)` : `${v} ms`;
    if (/(^at|At|Since|horizon|Horizon|Minute)$/.test(leaf) && v > 1e12) return time(v);
    if (/percent$|^ramp$|^from$|^to$/i.test(leaf)) return `${v} %`;
    return Number.isInteger(v) ? v.toLocaleString('en-US') : String(Number(v.toPrecision(4)));
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Key/value rows of the evidence, with the raw JSON behind a disclosure; nothing for empty evidence. */
export function Evidence({ evidence, testId, raw = true }: { evidence: Record<string, unknown> | null | undefined; testId?: string; raw?: boolean }) {
  if (!evidence || Object.keys(evidence).length === 0) return testId ? <span className="muted" data-testid={testId} /> : null;
  const rows = flatten(evidence);
  return (
    <div className="evidence-view" data-testid={testId}>
      <dl className="kv">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{evidenceValue(k, v)}</dd>
          </div>
        ))}
      </dl>
      {raw ? (
        <details>
          <summary>raw JSON</summary>
          <pre className="json">{JSON.stringify(evidence, null, 2)}</pre>
        </details>
      ) : null}
    </div>
  );
}
