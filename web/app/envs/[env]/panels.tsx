import { AuditTable } from '../../../components/audit-table';
import { MismatchExplorer } from '../../../components/mismatch-explorer';
import { PanelOutage } from '../../../components/panel-skeleton';
import { RepairReportView, RunStatus, VerifyReportView } from '../../../components/verify-report';
import { time } from '../../../components/format';
import { loadEnvAudit, loadEnvSamples } from '../../../lib/data';
import { loadVerifyRepair, type RunsView, type RunSummary } from '../../../lib/verify-runs';

// The environment page's slower panels: each reads on its own inside a Suspense boundary, so a slow
// or unreachable table holds only its panel, never the stage, gates and actions above it.

export async function MismatchPanel({ env }: { env: string }) {
  const { samples, outages } = await loadEnvSamples(env);
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
      <AuditTable entries={entries} showEnv={false} />
    </>
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

/** The newest verify run of the env (with the runs before it) and the newest repair run. */
export async function VerifyRepairPanel({ env }: { env: string }) {
  const { verify, repair, outages } = await loadVerifyRepair(env);
  return (
    <div data-testid="verify-runs">
      <PanelOutage outages={outages} />
      <h3>Latest verify</h3>
      {verify.report ? (
        <VerifyReportView report={verify.report} />
      ) : verify.latest ? (
        <RunWithoutReport view={verify} testId="verify-status" />
      ) : outages.length === 0 ? (
        <p className="muted" data-testid="verify-none">
          No verify run yet.
        </p>
      ) : null}
      <EarlierRuns runs={verify.earlier} testId="verify-earlier" />
      <h3>Latest repair</h3>
      {repair.report ? (
        <RepairReportView report={repair.report} />
      ) : repair.latest ? (
        <RunWithoutReport view={repair} testId="repair-status" />
      ) : outages.length === 0 ? (
        <p className="muted" data-testid="repair-none">
          No repair run yet.
        </p>
      ) : null}
    </div>
  );
}
