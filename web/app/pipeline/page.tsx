import { duration, num, relative } from '../../components/format';
import type { Throughput } from '../../lib/fleet';
import { humanizeTimes } from '../../../contract';
import { OutageBanner } from '../../components/outage-banner';
import { loadPipeline } from '../../lib/data';
import { requirePageUser } from '../../lib/session';

export const dynamic = 'force-dynamic';

export default async function PipelinePage() {
  await requirePageUser();
  const { envs, outages } = await loadPipeline();
  return (
    <>
      <h1>Pipeline</h1>
      <OutageBanner outages={outages} />
      {envs.map(({ env, figures: f, instances, instancesKnown, control }) => (
        <section className="card" key={env} data-testid={`pipeline-${env}`}>
          <h2>{env}</h2>
          <dl className="facts">
            <dt>throughput</dt>
            <dd data-testid={`throughput-${env}`}>
              {f === null ? (
                'unknown (Kafka is unreachable)'
              ) : (
                <>
                  <Rate t={f.throughput.observationBatches} unit="observation batches/s" /> into <code>{env}.observations</code> ·{' '}
                  <Rate t={f.throughput.metricPoints} unit="metric points/s" /> into <code>{env}.metrics</code>
                </>
              )}
            </dd>
            <dt>dead letters</dt>
            <dd data-testid={`dlq-${env}`}>
              {num(f?.dlq.observations)} in <code>{env}.observations.dlq</code> · {num(f?.dlq.metrics)} in <code>{env}.metrics.dlq</code>
            </dd>
            <dt>control state</dt>
            <dd>{control ? `v${control.version} (${humanizeTimes(control.reason)})` : 'none published yet'}</dd>
          </dl>
          <p className="hint" data-testid={`lag-note-${env}`}>
            Expected lag: the aggregator commits only the offset of the oldest window still open (a window stays open for its minute plus the allowed lateness),
            so its lag is the records of the last minute or two — thousands at steady load is normal. A writer&apos;s lag should stay near zero. Worry when a
            lag keeps growing from one refresh to the next.
          </p>
          <div className="scroll-x">
            <table>
              <thead>
                <tr>
                  <th>job</th>
                  <th>consumer group</th>
                  <th>topic</th>
                  <th>lag (records)</th>
                </tr>
              </thead>
              <tbody>
                {(f?.lags ?? []).map((l) => (
                  <tr key={l.group} data-testid={`lag-${l.group}`}>
                    <td>{l.job}</td>
                    <td>
                      <code>{l.group}</code>
                    </td>
                    <td>{l.topic}</td>
                    <td>{l.lag === null ? '–' : num(l.lag)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>Instances (from heartbeats)</h3>
          {instances.length === 0 ? (
            <p className="muted">{instancesKnown ? 'No live writer or query-service instance.' : 'Reading heartbeats…'}</p>
          ) : (
            <div className="scroll-x">
              <table data-testid={`instances-${env}`}>
                <thead>
                  <tr>
                    <th>instance</th>
                    <th>role</th>
                    <th>applies control state</th>
                    <th>last heartbeat</th>
                  </tr>
                </thead>
                <tbody>
                  {instances.map((i) => (
                    <tr key={i.instanceId}>
                      <td>
                        <code>{i.instanceId}</code>
                      </td>
                      <td>{i.role}</td>
                      <td>
                        v{i.appliedVersion} {i.current ? <span className="pill ok">current</span> : <span className="pill warn">behind</span>}
                      </td>
                      <td>{relative(i.at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ))}
    </>
  );
}

/** A throughput figure over the span it was measured on, or that it is still being measured. */
function Rate({ t, unit }: { t: Throughput; unit: string }) {
  if (t.perSec === null) return <span className="muted">measuring {unit} (a figure once 20 s of readings are in)</span>;
  return (
    <span title={`over the last ${duration(t.overMs)}`}>
      {t.perSec.toFixed(1)} {unit}
    </span>
  );
}
