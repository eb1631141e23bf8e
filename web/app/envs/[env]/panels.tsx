import Link from 'next/link';
import type { ReactNode } from 'react';
import { ActionPanel, type DecommissionRequest } from '../../../components/action-panel';
import { AuditTable } from '../../../components/audit-table';
import { fitWindow } from '../../../components/chart-scale';
import { duration, num, time } from '../../../components/format';
import { MismatchExplorer } from '../../../components/mismatch-explorer';
import { PanelOutage } from '../../../components/panel-skeleton';
import { TableHead } from '../../../components/table-head';
import { TimeSeriesChart } from '../../../components/time-series-chart';
import { VerifyActions } from '../../../components/verify-actions';
import { RepairReportView, RunStatus, VerifyReportView } from '../../../components/verify-report';
import { migrationAction, repairAction, verifyAction } from '../../../lib/actions';
import { advanceChecks } from '../../../lib/advance-checks';
import { EXPLORER_SAMPLES, loadEnvAudit, loadEnvDetail, loadEnvSamples, SAMPLE_RANGES, type EnvDetail, type SampleRange } from '../../../lib/data';
import type { SignedInUser } from '../../../lib/session';
import { migrationSummary, stageSpans } from '../../../lib/status-words';
import { loadVerifyRepair, type RunsView, type RunSummary } from '../../../lib/verify-runs';
import { Stage, type GateStatus, type MigrationStateView } from '../../../../contract';

// The environment page's panels. Each reads on its own inside a Suspense boundary (the reads they
// share, loadEnvDetail and loadEnvAudit, happen once per request), so a slow or unreachable
// dependency holds only its panel; the page itself only lays them out. The status card, the
// Cohorts and the Writers panels have files of their own (status-panel.tsx, cohorts-panel.tsx,
// writer-lag-panel.tsx).

/** The running migration's state, or null (none, ended, unreachable). */
export const stateOf = (d: EnvDetail): MigrationStateView | null => (d.migration.kind === 'running' ? d.migration.state : null);

/** The decommission request the approver judges: who asked, when, why, and the gate's figures then. */
async function decommissionRequest(env: string): Promise<DecommissionRequest | null> {
  const { entries } = await loadEnvAudit(env);
  const asked = entries.find((e) => e.action === 'advance' && e.to === Stage.decommission);
  if (!asked) return null;
  const gate = asked.evidence.gate as GateStatus | undefined;
  return { requestedBy: asked.actor, requestedAt: asked.at, reason: asked.reason, gate: gate && typeof gate === 'object' ? gate : null };
}

/** What the signed-in person can do now. */
export async function ActionsPanel({ env, user }: { env: string; user: SignedInUser }) {
  const loaded = await loadEnvDetail(env);
  if (!loaded) return null;
  const d = loaded.detail;
  const s = stateOf(d);
  const checks = s && user.role !== 'viewer' ? await advanceChecks(d.env, s) : [];
  const request = s?.stage === Stage.decommission && s.pendingApproval ? await decommissionRequest(env) : null;
  return (
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
        decommission={request}
      />
    </section>
  );
}

/** The three charts over the minutes that have data (at least the last 5), with a band per stage along the time axis. */
export async function ChartsPanel({ env }: { env: string }) {
  const [loaded, { entries }] = await Promise.all([loadEnvDetail(env), loadEnvAudit(env)]);
  if (!loaded) return null;
  const d = loaded.detail;
  const s = stateOf(d);
  const stages = stageSpans(entries, s ? { stage: s.stage, stageEnteredAt: s.stageEnteredAt } : null);
  const rows = fitWindow(
    d.series.map((p) => ({
      time: p.minute,
      mismatchRate: p.mismatchRate,
      p99Old: p.p99OldMs,
      p99New: p.p99NewMs,
      servedOld: p.servedOld,
      servedNew: p.servedNew,
    })),
    { minMinutes: 5 },
  );
  return (
    <section className="charts-panel" aria-label="charts">
      <h2>Charts</h2>
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
          title="p99 read latency per store (per minute)"
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
    </section>
  );
}

/** After completion: when each stage began and ended, the rollbacks, and who approved (nothing before). */
export async function SummaryPanel({ env }: { env: string }) {
  const loaded = await loadEnvDetail(env);
  const s = loaded ? stateOf(loaded.detail) : null;
  if (s?.stage !== Stage.complete) return null;
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
              <th>began (UTC)</th>
              <th>ended (UTC)</th>
              <th>lasted</th>
            </tr>
          </thead>
          <tbody>
            {sum.spans.map((sp) => (
              <tr key={`${sp.stage}-${sp.from}`}>
                <td>{sp.stage}</td>
                <td className="nowrap">{time(sp.from).replace(/ UTC$/, '')}</td>
                <td className="nowrap">{sp.to === null ? '–' : time(sp.to).replace(/ UTC$/, '')}</td>
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

/** The mismatch explorer: its time range, the hour's count, and the newest sampled differences. */
export async function MismatchPanel({ env, range }: { env: string; range: SampleRange }) {
  const [loaded, { samples, outages }] = await Promise.all([loadEnvDetail(env), loadEnvSamples(env, range)]);
  const d = loaded?.detail;
  return (
    <section aria-label="mismatch explorer">
      <h2>Mismatch explorer</h2>
      <form className="filters" method="get" aria-label="mismatch time range">
        <label className="inline">
          time range{' '}
          <select name="samples" defaultValue={range} aria-label="mismatch time range">
            {Object.keys(SAMPLE_RANGES).map((r) => (
              <option key={r} value={r}>
                last {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
        <span className="muted">
          The newest {EXPLORER_SAMPLES} sampled differences of the range, each with both stores&apos; answers side by side. Last hour:{' '}
          {num(d?.lastHour?.counters.mismatches)} mismatches in {num(d?.lastHour?.counters.comparisons)} comparisons.
        </span>
      </form>
      <PanelOutage outages={outages} />
      <MismatchExplorer samples={samples} />
    </section>
  );
}

/** How many audit entries the environment page lists (the audit page pages through all of them). */
const TIMELINE_ENTRIES = 10;

/** The newest audit entries of the env, with a link to the rest. */
export async function AuditPanel({ env }: { env: string }) {
  const { entries, outages } = await loadEnvAudit(env);
  return (
    <section aria-label="audit timeline">
      <h2>Audit timeline</h2>
      <PanelOutage outages={outages} />
      <AuditTable entries={entries.slice(0, TIMELINE_ENTRIES)} showEnv={false} />
      {entries.length > TIMELINE_ENTRIES ? (
        <p className="hint">
          The newest {TIMELINE_ENTRIES} of {entries.length >= 200 ? 'many' : entries.length} entries:{' '}
          <Link href={`/audit?env=${encodeURIComponent(env)}`} data-testid="audit-all">
            all of {env}&apos;s audit history
          </Link>
          .
        </p>
      ) : null}
    </section>
  );
}

function EarlierRuns({ runs, testId }: { runs: RunSummary[]; testId: string }) {
  if (runs.length === 0) return null;
  return (
    <table className="evidence" data-testid={testId}>
      <TableHead columns={['earlier run', 'status', 'started']} />
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

/** Whether both stores hold data a verify can compare (from dual write until the old store is dropped). */
function canVerify(s: MigrationStateView | null): boolean {
  if (!s) return false;
  if (s.stage === Stage.planned || s.stage === Stage.complete) return false;
  return s.stage !== Stage.decommission || s.pendingApproval;
}

/** Verify and repair: the newest runs (with the verify runs before it), and the forms while both stores hold data. */
export async function VerifyRepairPanel({ env, user }: { env: string; user: SignedInUser }) {
  const [loaded, { verify, repair, outages }] = await Promise.all([loadEnvDetail(env), loadVerifyRepair(env)]);
  const s = loaded ? stateOf(loaded.detail) : null;
  const open = canVerify(s);
  return (
    <section className="card" data-testid="verify-panel">
      <h2>Verify &amp; repair</h2>
      <p className="muted">
        Verify compares every series of both stores over a range of minutes; repair rewrites a range of the new store from the metrics topic, then verifies it
        again.{' '}
        {open
          ? null
          : s?.stage === Stage.complete || s?.stage === Stage.decommission
            ? 'The old store is gone (or being dropped): there is nothing left to compare with.'
            : 'Both become available once dual write has begun (the new store holds data from the coverage horizon on).'}
      </p>
      <div data-testid="verify-runs">
        <PanelOutage outages={outages} />
        <LatestRun kind="verify" view={verify} noRuns={outages.length === 0} report={verify.report && <VerifyReportView report={verify.report} />} />
        <EarlierRuns runs={verify.earlier} testId="verify-earlier" />
        <LatestRun kind="repair" view={repair} noRuns={outages.length === 0} report={repair.report && <RepairReportView report={repair.report} />} />
      </div>
      {open ? <VerifyActions env={env} role={user.role} verifyAction={verifyAction} repairAction={repairAction} /> : null}
    </section>
  );
}
