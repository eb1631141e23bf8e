import { notFound } from 'next/navigation';
import { Suspense } from 'react';
import { ActionPanel } from '../../../components/action-panel';
import { Evidence } from '../../../components/evidence';
import { num, pct, relative, time } from '../../../components/format';
import { OutageBanner } from '../../../components/outage-banner';
import { PanelSkeleton } from '../../../components/panel-skeleton';
import { StageStepper } from '../../../components/stage-stepper';
import { VerifyActions } from '../../../components/verify-actions';
import { migrationAction, repairAction, verifyAction } from '../../../lib/actions';
import { advanceChecks } from '../../../lib/advance-checks';
import { loadEnvDetail, SAMPLE_RANGES, type SampleRange } from '../../../lib/data';
import { requirePageUser } from '../../../lib/session';
import { routingWords } from '../../../lib/status-words';
import { Stage, type MigrationStateView } from '../../../../contract';
import { AuditPanel, ChartsPanel, MismatchPanel, SummaryPanel, VerifyRepairPanel } from './panels';
import { WriterLagPanel } from './writer-lag-panel';
import { CohortsPanel } from './cohorts-panel';

export const dynamic = 'force-dynamic';

/** A p99 in words: "12.3 ms", or "no reads" when the store served none in the window. */
const p99Text = (v: number | null | undefined): string =>
  v === null || v === undefined ? 'no reads' : Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : 'above 2 s';

/** What the next automatic ramp step waits for, never older than the ramp it speaks of. */
function rampWaitText(s: MigrationStateView): string {
  if (s.ramp === 100) return 'at 100 %: the exit gate below decides';
  const last = s.evaluations.at(-1);
  if (s.rolledBack) return 'nothing: ramping is paused by the automatic rollback until an operator resumes';
  if (s.paused) return 'nothing: ramping is paused until an operator resumes';
  if (!last || last.ramp !== s.ramp || last.at < s.rampSince) return `the first evaluation at ${s.ramp} % (the workflow evaluates every few seconds)`;
  return last.waitingFor ?? 'the next evaluation';
}

export default async function EnvPage({
  params,
  searchParams,
}: {
  params: Promise<{ env: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const user = await requirePageUser();
  const { env } = await params;
  const query = await searchParams;
  const samplesParam = typeof query.samples === 'string' ? query.samples : '1h';
  const samples: SampleRange = samplesParam in SAMPLE_RANGES ? (samplesParam as SampleRange) : '1h';
  const loaded = await loadEnvDetail(decodeURIComponent(env));
  if (!loaded) notFound();
  const { detail: d, outages } = loaded;
  const s = d.migration.kind === 'running' ? d.migration.state : null;
  const words = s ? routingWords(s) : null;
  const checks = s && user.role !== 'viewer' ? await advanceChecks(d.env, s) : [];
  const ramped = s !== null && (s.stage === Stage.science || s.stage === Stage.cutover);
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
        {words ? (
          <div className="status-words" data-testid="env-status">
            {words.rollback ? (
              <p className="bad" data-testid="env-rollback-words">
                <strong>reads: 100 % Cassandra</strong> — {words.rollback}
              </p>
            ) : (
              <p data-testid="env-reads">
                <strong>reads:</strong> {words.reads}
              </p>
            )}
            <p data-testid="env-writes">
              <strong>writes:</strong> {words.writes}
            </p>
            <p data-testid="env-next">
              <strong>next:</strong> {d.nextStep}
            </p>
          </div>
        ) : (
          <p className="status-words" data-testid="env-next">
            <strong>next:</strong> {d.nextStep}
          </p>
        )}
        <dl className="facts">
          {ramped ? (
            <>
              <dt>ramp</dt>
              <dd data-testid="env-ramp">{`${s.ramp}%`}</dd>
              <dt>next ramp step</dt>
              <dd data-testid="env-ramp-wait">{rampWaitText(s)}</dd>
            </>
          ) : null}
          <dt>mismatch rate</dt>
          <dd>
            {pct(d.last5m?.mismatchRate)} last 5 min · {pct(d.lastHour?.mismatchRate)} last hour
          </dd>
          <dt>p99 read latency (5 min)</dt>
          <dd>
            Cassandra {p99Text(d.last5m?.p99Ms.old)} · DynamoDB {p99Text(d.last5m?.p99Ms.new)}
          </dd>
          <dt>coverage horizon</dt>
          <dd>{s?.coverageHorizon ? time(s.coverageHorizon) : 'not recorded yet (set when dual write begins)'}</dd>
          {s?.stage === Stage.ttlWait ? (
            <>
              <dt>TTL gate</dt>
              <dd>{s.ttlGateAt ? `${relative(s.ttlGateAt)} (${time(s.ttlGateAt)})` : '–'}</dd>
            </>
          ) : null}
          <dt>control state</dt>
          <dd>
            {d.control ? `v${d.control.version} by ${d.control.updatedBy}: ${d.control.reason}` : 'none seen yet'} · instances:{' '}
            {d.instances.map((i) => `${i.role} v${i.appliedVersion}${i.current ? '' : ' (behind)'}`).join(', ') || 'none live'}
          </dd>
          {s?.rolledBack ? (
            <>
              <dt>automatic rollback</dt>
              <dd data-testid="rollback-evidence">
                {time(s.rolledBack.at)}: {s.rolledBack.reason}
                <Evidence evidence={s.rolledBack.evidence} />
              </dd>
            </>
          ) : null}
          <dt>workflow</dt>
          <dd>
            {d.temporalLink ? (
              <a href={d.temporalLink} target="_blank" rel="noreferrer">
                open in the Temporal UI
              </a>
            ) : (
              <span title="the local stack runs Temporal without its web UI: every action goes through this console">
                <code>{d.workflowId}</code> (history: <code>temporal workflow show -w {d.workflowId}</code>)
              </span>
            )}
          </dd>
        </dl>
        {s && s.gates.length > 0 ? (
          <div className="scroll-x">
            <table data-testid="gates">
              <thead>
                <tr>
                  <th>gate</th>
                  <th>met</th>
                  <th>detail</th>
                  <th>evidence</th>
                </tr>
              </thead>
              <tbody>
                {s.gates.map((g) => (
                  <tr key={g.name}>
                    <td>{g.name}</td>
                    <td>{g.passed ? <span className="pill ok">met</span> : <span className="pill warn">not met</span>}</td>
                    <td>{g.detail}</td>
                    <td className="evidence-cell">
                      <Evidence evidence={g.evidence} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {s?.stage === Stage.complete ? (
        <Suspense fallback={<PanelSkeleton label="the migration summary" lines={4} />}>
          <SummaryPanel env={d.env} />
        </Suspense>
      ) : null}
      {s && s.stage !== Stage.planned && s.stage !== Stage.complete ? (
        <Suspense fallback={<PanelSkeleton label="the writers" lines={3} />}>
          <WriterLagPanel env={d.env} hold={s.writerHold ?? null} />
        </Suspense>
      ) : null}
      <Suspense fallback={<PanelSkeleton label="the cohorts" lines={3} />}>
        <CohortsPanel env={d.env} role={user.role} />
      </Suspense>
      <section className="card">
        <h2>Actions</h2>
        <ActionPanel
          env={d.env}
          state={s}
          exists={d.migration.kind === 'running'}
          role={user.role}
          username={user.username}
          migrationAction={migrationAction}
          checks={checks}
        />
      </section>
      <Suspense fallback={<PanelSkeleton label="the charts" lines={6} />}>
        <ChartsPanel env={d.env} series={d.series} current={s ? { stage: s.stage, stageEnteredAt: s.stageEnteredAt } : null} />
      </Suspense>
      <h2>Mismatch explorer</h2>
      <form className="filters" method="get" aria-label="mismatch time range">
        <label className="inline">
          time range{' '}
          <select name="samples" defaultValue={samples} aria-label="mismatch time range">
            {Object.keys(SAMPLE_RANGES).map((r) => (
              <option key={r} value={r}>
                last {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
        <span className="muted">
          The newest 20 sampled differences of the range; each shows both stores&apos; answers side by side. Last hour: {num(d.lastHour?.counters.mismatches)}{' '}
          mismatches in {num(d.lastHour?.counters.comparisons)} comparisons.
        </span>
      </form>
      <Suspense fallback={<PanelSkeleton label="mismatch samples" />}>
        <MismatchPanel env={d.env} range={samples} />
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
