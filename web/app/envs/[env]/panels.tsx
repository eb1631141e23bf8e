import type { ReactNode } from 'react';
import { AuditTable } from '../../../components/audit-table';
import { MismatchExplorer } from '../../../components/mismatch-explorer';
import { PanelOutage } from '../../../components/panel-skeleton';
import { RepairReportView, RunStatus, VerifyReportView } from '../../../components/verify-report';
import { duration, time } from '../../../components/format';
import { TimeSeriesChart } from '../../../components/time-series-chart';
import { loadEnvAudit, loadEnvSamples, type MinutePoint, type SampleRange } from '../../../lib/data';
import { migrationSummary, stageSpans } from '../../../lib/status-words';
import { loadVerifyRepair, type RunsView, type RunSummary } from '../../../lib/verify-runs';

// The environment page's slower panels: each reads on its own inside a Suspense boundary, so a slow
// or unreachable table holds only its panel, never the stage, gates and actions above it.

export async function MismatchPanel({ env, range }: { env: string; range: SampleRange }) {
  const { samples, outages } = await loadEnvSamples(env, range);
  return (
    <>
      <PanelOutage outages={outages} />
      <MismatchExplorer samples={samples} />
    </>
  );
}

export async function AuditPanel({ env }: { env: string }) {
  const { entries, outages } = await loadEnvAudit(env);
  return (
    <>
      <PanelOutage outages={outages} />
      <AuditTable entries={entries.slice(0, 100)} showEnv={false} />
    </>
  );
}

/** The three charts of the last hour, with a band per stage along the time axis (from the audit entries). */
export async function ChartsPanel({ env, series, current }: { env: string; series: MinutePoint[]; current: { stage: string; stageEnteredAt: number } | null }) {
  const { entries } = await loadEnvAudit(env);
  const stages = stageSpans(entries, current);
  const rows = series.map((p) => ({
    time: p.minute,
    mismatchRate: p.mismatchRate,
    p99Old: p.p99OldMs,
    p99New: p.p99NewMs,
    servedOld: p.servedOld,
    servedNew: p.servedNew,
  }));
  return (
    <div className="grid">
      <TimeSeriesChart
        testId="chart-mismatch"
        title="Mismatch rate per minute (% of comparisons)"
        rows={rows}
        unit="percent"
        stages={stages}
        lines={[{ key: 'mismatchRate', label: 'mismatch rate', color: '#b42318' }]}
      />
      <TimeSeriesChart
        testId="chart-latency"
        title="p99 read latency per store (ms, per minute)"
        rows={rows}
        unit="ms"
        stages={stages}
        lines={[
          { key: 'p99Old', label: 'Cassandra (old)', color: '#667085' },
          { key: 'p99New', label: 'DynamoDB (new)', color: '#2257d6' },
        ]}
      />
      <TimeSeriesChart
        testId="chart-served"
        title="Reads served per store (per minute)"
        rows={rows}
        unit="per-minute"
        stages={stages}
        lines={[
          { key: 'servedOld', label: 'Cassandra (old)', color: '#667085' },
          { key: 'servedNew', label: 'DynamoDB (new)', color: '#2257d6' },
        ]}
      />
    </div>
  );
}

/** After completion: when each stage began and ended, the rollbacks, and who approved. */
export async function SummaryPanel({ env }: { env: string }) {
  const { entries, outages } = await loadEnvAudit(env);
  const sum = migrationSummary(entries);
  return (
    <section className="card" data-testid="migration-summary">
      <h2>Summary of the migration</h2>
      <PanelOutage outages={outages} />
      <p>
        Completed {time(sum.completedAt)}. Decommission requested by {sum.requestedBy ?? 'unknown'}, approved by {sum.approvedBy ?? 'unknown'}.{' '}
        {sum.rollbacks.length === 0 ? 'No rollbacks.' : `${sum.rollbacks.length} rollback${sum.rollbacks.length === 1 ? '' : 's'}.`}
      </p>
      <div className="scroll-x">
        <table>
          <thead>
            <tr>
              <th>stage</th>
              <th>began</th>
              <th>ended</th>
              <th>lasted</th>
            </tr>
          </thead>
          <tbody>
            {sum.spans.map((sp) => (
              <tr key={`${sp.stage}-${sp.from}`}>
                <td>{sp.stage}</td>
                <td>{time(sp.from)}</td>
                <td>{sp.to === null ? '–' : time(sp.to)}</td>
                <td>{sp.to === null ? '–' : duration(sp.to - sp.from)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {sum.rollbacks.length > 0 ? (
        <ul>
          {sum.rollbacks.map((r) => (
            <li key={r.at}>
              {time(r.at)} in {r.stage}, by {r.actor}: {r.reason}
            </li>
          ))}
        </ul>
      ) : null}
      <p className="hint">From the newest 200 audit entries of {env}; the audit page has them all.</p>
    </section>
  );
}

function EarlierRuns({ runs, testId }: { runs: RunSummary[]; testId: string }) {
  if (runs.length === 0) return null;
  return (
    <table className="evidence" data-testid={testId}>
      <thead>
        <tr>
          <th>earlier run</th>
          <th>status</th>
          <th>started</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.workflowId}>
            <td>
              <code>{r.workflowId}</code>
            </td>
            <td>
              <RunStatus status={r.status} />
            </td>
            <td>{time(r.startTime)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A run whose progress query did not answer: what the visibility list knows of it. */
function RunWithoutReport({ view, testId }: { view: RunsView<unknown>; testId: string }) {
  if (!view.latest) return null;
  return (
    <p>
      <RunStatus status={view.latest.status} testId={testId} /> <code>{view.latest.workflowId}</code> started {time(view.latest.startTime)}
      <span className="muted"> · no report: {view.reportError}</span>
    </p>
  );
}

/** One kind's newest run: its report, else its status (the report could not be read), else "none yet" (when nothing was unreachable). */
function LatestRun({ kind, view, report, noRuns }: { kind: 'verify' | 'repair'; view: RunsView<unknown>; report: ReactNode; noRuns: boolean }) {
  return (
    <>
      <h3>Latest {kind}</h3>
      {report ? (
        report
      ) : view.latest ? (
        <RunWithoutReport view={view} testId={`${kind}-status`} />
      ) : noRuns ? (
        <p className="muted" data-testid={`${kind}-none`}>
          No {kind} run yet.
        </p>
      ) : null}
    </>
  );
}

/** The newest verify run of the env (with the runs before it) and the newest repair run. */
export async function VerifyRepairPanel({ env }: { env: string }) {
  const { verify, repair, outages } = await loadVerifyRepair(env);
  return (
    <div data-testid="verify-runs">
      <PanelOutage outages={outages} />
      <LatestRun kind="verify" view={verify} noRuns={outages.length === 0} report={verify.report && <VerifyReportView report={verify.report} />} />
      <EarlierRuns runs={verify.earlier} testId="verify-earlier" />
      <LatestRun kind="repair" view={repair} noRuns={outages.length === 0} report={repair.report && <RepairReportView report={repair.report} />} />
    </div>
  );
}
