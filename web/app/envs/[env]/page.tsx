import { notFound } from 'next/navigation';
import { Suspense } from 'react';
import { ActionPanel } from '../../../components/action-panel';
import { num, pct, relative, time } from '../../../components/format';
import { OutageBanner } from '../../../components/outage-banner';
import { PanelSkeleton } from '../../../components/panel-skeleton';
import { StageStepper } from '../../../components/stage-stepper';
import { TimeSeriesChart } from '../../../components/time-series-chart';
import { VerifyActions } from '../../../components/verify-actions';
import { migrationAction, repairAction, verifyAction } from '../../../lib/actions';
import { loadEnvDetail } from '../../../lib/data';
import { requirePageUser } from '../../../lib/session';
import { Stage } from '../../../../contract';
import { AuditPanel, MismatchPanel, VerifyRepairPanel } from './panels';

export const dynamic = 'force-dynamic';

export default async function EnvPage({ params }: { params: Promise<{ env: string }> }) {
  const user = await requirePageUser();
  const { env } = await params;
  const loaded = await loadEnvDetail(decodeURIComponent(env));
  if (!loaded) notFound();
  const { detail: d, outages } = loaded;
  const s = d.migration.kind === 'running' ? d.migration.state : null;
  const rows = d.series.map((p) => ({
    time: p.minute,
    mismatchRate: p.mismatchRate,
    p99Old: p.p99OldMs,
    p99New: p.p99NewMs,
    servedOld: p.servedOld,
    servedNew: p.servedNew,
  }));
  return (
    <>
      <h1>
        {d.env}{' '}
        <span className="muted" data-testid="env-stage">
          {s ? s.stage : d.migration.kind === 'none' ? 'no migration' : d.migration.kind}
        </span>{' '}
        {s?.paused ? <span className="pill warn">paused</span> : null} {s?.rolledBack ? <span className="pill bad">rolled back</span> : null}
      </h1>
      <OutageBanner outages={outages} />
      <section className="card">
        <StageStepper stage={s?.stage ?? null} ramp={s?.ramp} />
        <dl className="facts">
          <dt>ramp</dt>
          <dd data-testid="env-ramp">{s ? `${s.ramp}%` : '–'}</dd>
          {s && (s.stage === Stage.science || s.stage === Stage.cutover) ? (
            <>
              <dt>next ramp step</dt>
              <dd data-testid="env-ramp-wait">
                {s.ramp === 100 ? 'at 100%: the exit gate below decides' : (s.evaluations.at(-1)?.waitingFor ?? 'waiting for the next evaluation')}
              </dd>
            </>
          ) : null}
          <dt>mismatch rate</dt>
          <dd>
            {pct(d.last5m?.mismatchRate)} last 5 min · {pct(d.lastHour?.mismatchRate)} last hour
          </dd>
          <dt>p99 (5 min)</dt>
          <dd>
            old store {d.last5m?.p99Ms.old ?? '–'} ms · new store {d.last5m?.p99Ms.new ?? '–'} ms
          </dd>
          <dt>coverage horizon</dt>
          <dd>{time(s?.coverageHorizon)}</dd>
          <dt>TTL gate</dt>
          <dd>{s?.ttlGateAt ? `${relative(s.ttlGateAt)} (${time(s.ttlGateAt)})` : '–'}</dd>
          <dt>control state</dt>
          <dd>
            {d.control ? `v${d.control.version} by ${d.control.updatedBy}: ${d.control.reason}` : 'none seen yet'} · instances:{' '}
            {d.instances.map((i) => `${i.role} v${i.appliedVersion}${i.current ? '' : ' (behind)'}`).join(', ') || 'none live'}
          </dd>
          {s?.rolledBack ? (
            <>
              <dt>automatic rollback</dt>
              <dd>
                {time(s.rolledBack.at)}: {s.rolledBack.reason} <code>{JSON.stringify(s.rolledBack.evidence)}</code>
              </dd>
            </>
          ) : null}
          <dt>next step</dt>
          <dd data-testid="env-next">{d.nextStep}</dd>
          <dt>workflow</dt>
          <dd>
            <a href={d.temporalLink} target="_blank" rel="noreferrer">
              open in the Temporal UI
            </a>
          </dd>
        </dl>
        {s && s.gates.length > 0 ? (
          <table data-testid="gates">
            <thead>
              <tr>
                <th>gate</th>
                <th>met</th>
                <th>detail</th>
              </tr>
            </thead>
            <tbody>
              {s.gates.map((g) => (
                <tr key={g.name}>
                  <td>{g.name}</td>
                  <td>{g.passed ? <span className="pill ok">met</span> : <span className="pill warn">not met</span>}</td>
                  <td>{g.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      <section className="card">
        <h2>Actions</h2>
        <ActionPanel
          env={d.env}
          state={s}
          exists={d.migration.kind === 'running'}
          role={user.role}
          username={user.username}
          migrationAction={migrationAction}
        />
      </section>
      <div className="grid">
        <TimeSeriesChart
          testId="chart-mismatch"
          title="Mismatch rate per minute"
          rows={rows}
          lines={[{ key: 'mismatchRate', label: 'mismatch rate', color: '#b42318' }]}
          percent
        />
        <TimeSeriesChart
          testId="chart-latency"
          title="p99 read latency per store (ms)"
          rows={rows}
          unit=" ms"
          lines={[
            { key: 'p99Old', label: 'Cassandra (old)', color: '#667085' },
            { key: 'p99New', label: 'DynamoDB (new)', color: '#2257d6' },
          ]}
        />
        <TimeSeriesChart
          testId="chart-served"
          title="Reads served per store per minute"
          rows={rows}
          lines={[
            { key: 'servedOld', label: 'old store', color: '#667085' },
            { key: 'servedNew', label: 'new store', color: '#2257d6' },
          ]}
        />
      </div>
      <h2>Mismatch explorer</h2>
      <p className="muted">
        Sampled differences of the last hour ({num(d.lastHour?.counters.mismatches)} mismatches in {num(d.lastHour?.counters.comparisons)} comparisons); each
        shows both stores&apos; answers side by side.
      </p>
      <Suspense fallback={<PanelSkeleton label="mismatch samples" />}>
        <MismatchPanel env={d.env} />
      </Suspense>
      <h2>Verify &amp; repair</h2>
      <section className="card" data-testid="verify-panel">
        <p className="muted">
          Verify compares every series of both stores over a range of minutes; repair rewrites a range of the new store from the metrics topic, then verifies it
          again.
        </p>
        <Suspense fallback={<PanelSkeleton label="verify and repair runs" lines={4} />}>
          <VerifyRepairPanel env={d.env} />
        </Suspense>
        <VerifyActions env={d.env} role={user.role} verifyAction={verifyAction} repairAction={repairAction} />
      </section>
      <h2>Audit timeline</h2>
      <Suspense fallback={<PanelSkeleton label="the audit timeline" lines={5} />}>
        <AuditPanel env={d.env} />
      </Suspense>
    </>
  );
}
