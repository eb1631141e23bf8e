import { DIFF_CLASSES, type DiffSample, type RepairPlan, type RepairReport, type VerifyReport } from '../../contract';
import { duration, minuteRange, num, time } from './format';

// Verify and repair reports as the console shows them (pure: rendered on the server by the
// environment page's panel, and in the browser by the repair preview).

const GOOD = new Set(['clean', 'repaired', 'planned']);
const BAD = new Set(['mismatched', 'still_mismatched', 'failed']);

/** A run's status as a pill (green when clean or repaired, red when it found differences or failed). */
export function RunStatus({ status, testId }: { status: string; testId?: string }) {
  const s = status.toLowerCase();
  const tone = GOOD.has(s) || s === 'completed' ? 'ok' : BAD.has(s) || s === 'terminated' || s === 'timed_out' ? 'bad' : 'warn';
  return (
    <span className={`pill ${tone}`} data-testid={testId} data-status={s}>
      {s.replace('_', ' ')}
    </span>
  );
}

/** A share 0..1 as a bar with its percentage (an accessible progressbar). */
export function ProgressBar({ value, label, testId }: { value: number; label: string; testId?: string }) {
  const percent = Math.max(0, Math.min(100, Math.round(value * 100)));
  return (
    <div className="progress-row">
      <div
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent}%`}
        data-testid={testId}
        data-progress={value}
      >
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <span>{percent}%</span>
    </div>
  );
}

function Values({ values, fields }: { values: DiffSample['old']; fields: string[] }) {
  if (!values) return <span className="muted">(no point)</span>;
  return (
    <span className="values">
      {Object.entries(values).map(([k, v]) => (
        <span key={k} className={fields.includes(k) ? 'differs' : undefined}>
          {k} {String(v)}
        </span>
      ))}
    </span>
  );
}

/** The sampled differences of a run, per class, with both stores' values. */
function Samples({ report }: { report: VerifyReport }) {
  const rows = DIFF_CLASSES.flatMap((k) => report.samples[k].map((s, i) => ({ ...s, key: `${k}-${i}` })));
  if (rows.length === 0) return <p className="muted">No differences sampled.</p>;
  return (
    <table data-testid="verify-samples">
      <thead>
        <tr>
          <th>class</th>
          <th>series</th>
          <th>minute</th>
          <th>old store</th>
          <th>new store</th>
          <th>differs in</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.key} data-kind={s.kind}>
            <td>{s.kind}</td>
            <td>
              {s.app} {s.metric}
            </td>
            <td>{time(s.minute)}</td>
            <td>
              <Values values={s.old} fields={s.fields ?? []} />
            </td>
            <td>
              <Values values={s.new} fields={s.fields ?? []} />
            </td>
            <td>{s.fields?.join(', ') ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A verify run: status, progress, what it compares, its figures, and samples of each class. */
export function VerifyReportView({ report: r, showSamples = true }: { report: VerifyReport; showSamples?: boolean }) {
  const c = r.counts;
  const done = r.seriesDoneBySlice.reduce((a, b) => a + b, 0);
  return (
    <div className="verify-report" data-testid="verify-report" data-workflow-id={r.workflowId}>
      <p>
        <RunStatus status={r.status} testId="verify-status" /> <code>{r.workflowId}</code> <span className="muted">by {r.actor}</span>: {r.reason}
      </p>
      <ProgressBar value={r.progress} label="verify progress" testId="verify-progress" />
      <dl className="facts">
        <dt>range</dt>
        <dd>
          {minuteRange(r.plan?.range)}
          {r.plan?.unsettledMinutesLeftOut ? ` (${num(r.plan.unsettledMinutesLeftOut)} unsettled minutes of the request left out)` : ''}
          {r.plan && r.plan.requested === null ? <span className="muted"> (the default range)</span> : null}
        </dd>
        <dt>series</dt>
        <dd>
          {num(done)} compared{r.plan ? ` in ${r.plan.slices} slices` : ''}
        </dd>
        <dt>points read</dt>
        <dd>
          old store {num(c.oldPoints)} · new store {num(c.newPoints)}
        </dd>
        <dt>minutes</dt>
        <dd>
          {num(c.compared)} compared · {num(c.matched)} matched
        </dd>
        <dt>differences</dt>
        <dd
          data-testid="verify-counts"
          data-missing={c.missing}
          data-extra={c.extra}
          data-value-drift={c.value_drift}
          data-expired-returned={c.expired_returned}
        >
          {DIFF_CLASSES.map((k) => (
            <span key={k} className={`count ${c[k] > 0 ? 'nonzero' : ''}`} data-class={k}>
              {k.replace('_', ' ')} <strong>{num(c[k])}</strong>
            </span>
          ))}
          <span className="count muted" data-class="unsettled">
            unsettled (not judged) <strong>{num(c.unsettled)}</strong>
          </span>
        </dd>
        <dt>rate</dt>
        <dd>
          {num(r.pointsPerSecond)} minutes compared/s ·{' '}
          {r.finishedAt === null ? `ETA ${duration(r.etaMs)}` : `took ${duration(r.finishedAt - r.startedAt)} (finished ${time(r.finishedAt)})`}
        </dd>
        <dt>started</dt>
        <dd>{time(r.startedAt)}</dd>
        {r.error ? (
          <>
            <dt>error</dt>
            <dd className="error-text" data-testid="verify-error">
              {r.error}
            </dd>
          </>
        ) : null}
      </dl>
      {showSamples ? <Samples report={r} /> : null}
    </div>
  );
}

/** What a repair will rewrite: the covered range, the replay, what cannot be repaired, the extras to delete. */
export function RepairPlanView({ plan: p }: { plan: RepairPlan }) {
  return (
    <div className="repair-plan" data-testid="repair-plan">
      <dl className="facts">
        <dt>requested</dt>
        <dd>{minuteRange(p.requested)}</dd>
        <dt>rewrites</dt>
        <dd data-testid="repair-plan-range">{p.range ? `${minuteRange(p.range)} of the new store` : 'nothing: the topic no longer holds any of the range'}</dd>
        <dt>replays</dt>
        <dd data-testid="repair-plan-messages" data-messages={p.messages}>
          {num(p.messages)} messages of {p.topic} in {p.partitions.length} partitions
        </dd>
        {p.uncovered ? (
          <>
            <dt>cannot repair</dt>
            <dd className="error-text" data-testid="repair-plan-uncovered">
              {minuteRange(p.uncovered)}: older than the topic&apos;s retention (oldest covered minute {time(p.oldestCoveredMinute)})
            </dd>
          </>
        ) : null}
        <dt>extra items</dt>
        <dd>
          {p.deleteExtras
            ? `deletes items of the range with no point in the log (${num(p.extrasFound)} found by ${p.extrasFoundBy ?? 'the verify run'})`
            : 'kept (not asked to delete them)'}
        </dd>
      </dl>
      {p.partitions.length > 0 ? (
        <table className="evidence">
          <thead>
            <tr>
              <th>partition</th>
              <th>from offset</th>
              <th>to offset (exclusive)</th>
            </tr>
          </thead>
          <tbody>
            {p.partitions.map((x) => (
              <tr key={x.partition}>
                <td>{x.partition}</td>
                <td>{x.start}</td>
                <td>{x.end}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

/** A repair run: status, plan, what the replay did, and the re-verify. */
export function RepairReportView({ report: r }: { report: RepairReport }) {
  const x = r.replay;
  return (
    <div className="repair-report" data-testid="repair-report" data-workflow-id={r.workflowId}>
      <p>
        <RunStatus status={r.status} testId="repair-status" /> <code>{r.workflowId}</code> <span className="muted">by {r.actor}</span>: {r.reason}
      </p>
      {r.plan ? <RepairPlanView plan={r.plan} /> : null}
      <dl className="facts">
        <dt>replay</dt>
        <dd data-testid="repair-replay">
          {x
            ? `read ${num(x.read)}, written ${num(x.written)}, outside the range ${num(x.outOfRange)}, invalid ${num(x.invalid)}, refused ${num(x.rejected)}, expired ${num(x.expired)}, deleted ${num(x.deleted)}`
            : r.status === 'replaying'
              ? `${num(r.readSoFar)} of ${num(r.plan?.messages)} messages read so far`
              : '–'}
        </dd>
        <dt>re-verify</dt>
        <dd data-testid="repair-reverify">
          {r.verify ? (
            <>
              <RunStatus status={r.verify.status} /> <code>{r.verify.workflowId}</code>:{' '}
              {DIFF_CLASSES.map((k) => `${k.replace('_', ' ')} ${num(r.verify?.counts[k])}`).join(', ')}
            </>
          ) : r.verifyWorkflowId ? (
            <>
              running <code>{r.verifyWorkflowId}</code>
            </>
          ) : (
            '–'
          )}
        </dd>
        <dt>time</dt>
        <dd>
          started {time(r.startedAt)}
          {r.finishedAt !== null ? ` · took ${duration(r.finishedAt - r.startedAt)}` : ''}
        </dd>
        {r.error ? (
          <>
            <dt>error</dt>
            <dd className="error-text" data-testid="repair-error">
              {r.error}
            </dd>
          </>
        ) : null}
      </dl>
    </div>
  );
}
