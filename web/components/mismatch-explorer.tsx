import type { MismatchSample } from '../../pipeline/kernel/science/control-tables';
import type { Mismatch } from '../../pipeline/kernel/science/compare';
import { time } from './format';

interface SampleDetail {
  compared?: number;
  matched?: number;
  mismatches?: Mismatch[];
}

function parse(detail: string): SampleDetail {
  try {
    return JSON.parse(detail) as SampleDetail;
  } catch {
    return {};
  }
}

const STATS = ['count', 'min', 'max', 'sum', 'median', 'p95', 'p99'] as const;

function Side({ point, fields }: { point: Mismatch['old']; fields: readonly string[] }) {
  if (!point) return <p className="muted">(no point)</p>;
  return (
    <table>
      <tbody>
        {STATS.map((k) => (
          <tr key={k} className={fields.includes(k) ? 'differs' : undefined}>
            <th>{k}</th>
            <td style={fields.includes(k) ? { color: '#b42318', fontWeight: 600 } : undefined}>
              {String((point as unknown as Record<string, unknown>)[k] ?? '')}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Sampled mismatches: per differing minute, the old store's point (served) and the new store's (candidate) side by side. */
export function MismatchExplorer({ samples }: { samples: MismatchSample[] }) {
  if (samples.length === 0)
    return (
      <p className="muted" data-testid="mismatch-none">
        No mismatches sampled in this window.
      </p>
    );
  return (
    <div data-testid="mismatch-samples">
      {samples.map((s, i) => {
        const d = parse(s.detail);
        return (
          <details key={`${s.minute}-${s.sampleId}`} className="sample" open={i === 0}>
            <summary>
              {time(s.at)} · {s.app} {s.metric} · {s.kinds.join(', ')} · {d.matched ?? '?'} of {d.compared ?? '?'} minutes matched
            </summary>
            {(d.mismatches ?? []).slice(0, 5).map((m) => (
              <div key={m.minute}>
                <p>
                  minute {time(m.minute)}: <strong>{m.kind}</strong>
                  {m.fields?.length ? ` (${m.fields.join(', ')})` : ''}
                </p>
                <div className="sides">
                  <div>
                    <strong>old store (served)</strong>
                    <Side point={m.old} fields={m.fields ?? []} />
                  </div>
                  <div>
                    <strong>new store (candidate)</strong>
                    <Side point={m.new} fields={m.fields ?? []} />
                  </div>
                </div>
              </div>
            ))}
          </details>
        );
      })}
    </div>
  );
}
