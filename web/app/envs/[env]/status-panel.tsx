/**
 * The environment page's status card, a panel of its own (it reads its own data inside its
 * Suspense boundary, like the page's other panels): the stage, what happens next, where reads and
 * writes go, the figures and the exit gate.
 */
import { Evidence } from '../../../components/evidence';
import { duration, sampledRate, time } from '../../../components/format';
import { NextStepLine } from '../../../components/next-step-line';
import { OutageBanner } from '../../../components/outage-banner';
import { StageStepper } from '../../../components/stage-stepper';
import { TableHead } from '../../../components/table-head';
import { TtlGateFact } from '../../../components/ttl-gate-fact';
import { loadEnvDetail, type EnvDetail } from '../../../lib/data';
import { instanceWords, routingWords } from '../../../lib/status-words';
import { gateDetailWords, humanizeTimes, Stage, type GateStatus, type MigrationStateView } from '../../../../contract';
import { finiteP99 } from '../../../../pipeline/kernel/science/science-stats-reader';
import { stateOf } from './panels';

/** Comparisons a figure needs before its rate means anything (the policy's rollback minimum). */
const minSample = (s: MigrationStateView | null): number => s?.policy?.minSamplesForRollback ?? 20;

/** A p99 in words: "12.3 ms", "above 1 min 7 s" (the open-ended last bucket), or "no reads" when the store served none in the window. */
function p99Text(v: number | null | undefined): string {
  const p = finiteP99(v ?? null, (fromMs) => `above ${duration(fromMs)}`);
  return p === null ? 'no reads' : typeof p === 'string' ? p : `${p.toFixed(p < 10 ? 2 : 1)} ms`;
}

/** The mismatch rate of the last 5 minutes and hour, judged on their samples. */
function MismatchFacts({ d, s }: { d: EnvDetail; s: MigrationStateView | null }) {
  if (s?.stage === Stage.complete) return <>none: nothing is compared once the old store is gone</>;
  if (s && (s.stage === Stage.planned || s.stage === Stage.dualWrite) && !d.lastHour?.counters.comparisons)
    return <>none yet: reads are compared from science on</>;
  const c5 = d.last5m?.counters;
  const ch = d.lastHour?.counters;
  return (
    <>
      last 5 min: {sampledRate(c5?.mismatches, c5?.comparisons, minSample(s))} · last hour: {sampledRate(ch?.mismatches, ch?.comparisons, minSample(s))}
    </>
  );
}

/** The status card's facts: ramp, mismatch rate, latency, horizon, TTL gate, control state, instances, rollback, workflow. */
function StatusFacts({ d, s }: { d: EnvDetail; s: MigrationStateView | null }) {
  const ramped = s !== null && (s.stage === Stage.science || s.stage === Stage.cutover);
  const complete = s?.stage === Stage.complete;
  return (
    <dl className="facts">
      {ramped ? (
        <>
          <dt>ramp</dt>
          <dd data-testid="env-ramp">{`${s.ramp}%`}</dd>
          <dt>next ramp step</dt>
          <dd data-testid="env-ramp-wait">
            {d.nextStep.detail ??
              (s.ramp === 100 ? 'at 100%: the exit gate below decides' : s.paused || s.rolledBack ? 'none while paused: an operator resumes' : '–')}
          </dd>
        </>
      ) : null}
      <dt>mismatch rate</dt>
      <dd data-testid="env-mismatch">
        <MismatchFacts d={d} s={s} />
      </dd>
      <dt>p99 read latency (5 min)</dt>
      <dd>
        {complete ? '' : `Cassandra ${p99Text(d.last5m?.p99Ms.old)} · `}DynamoDB {p99Text(d.last5m?.p99Ms.new)}
      </dd>
      {!complete ? (
        <>
          <dt>coverage horizon</dt>
          <dd>
            {s?.coverageHorizon ? `${time(s.coverageHorizon)} (the new store has every minute from here)` : 'not recorded yet (set when dual write begins)'}
          </dd>
        </>
      ) : null}
      <TtlGateFact state={s} />
      <dt>control state</dt>
      <dd>{d.control ? `v${d.control.version}, published by ${d.control.updatedBy}: ${humanizeTimes(d.control.reason)}` : 'none seen yet'}</dd>
      <dt>instances</dt>
      <dd data-testid="env-instances">{instanceWords(d.instances, d.control)}</dd>
      {s?.rolledBack ? (
        <>
          <dt>automatic rollback</dt>
          <dd data-testid="rollback-evidence">
            {time(s.rolledBack.at)}: {humanizeTimes(s.rolledBack.reason)}
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
  );
}

/** The status card: stage, what happens next, where reads and writes go, the figures and the gate. */
export async function StatusPanel({ env }: { env: string }) {
  const loaded = await loadEnvDetail(env);
  if (!loaded) return null;
  const { detail: d, outages } = loaded;
  const s = stateOf(d);
  const words = s ? routingWords(s) : null;
  return (
    <>
      <OutageBanner outages={outages} />
      <section className="card" data-testid="status-panel">
        <h2>
          Stage <span data-testid="env-stage">{s ? s.stage : d.migration.kind === 'none' ? 'no migration' : d.migration.kind}</span>
          {s?.paused ? <span className="pill warn">paused</span> : null}
          {s?.rolledBack ? <span className="pill bad">rolled back</span> : null}
          {d.aheadOf ? (
            <span className="pill warn" data-testid="ahead-of">
              ahead of {d.aheadOf.predecessor}
            </span>
          ) : null}
        </h2>
        <StageStepper stage={s?.stage ?? null} ramp={s?.ramp} />
        <NextStepLine step={d.nextStep} testId="env-next" />
        {d.aheadOf ? (
          <p className="hint" data-testid="ahead-of-words">
            {env} is further along than {d.aheadOf.predecessor} ({d.aheadOf.predecessorStage}), which comes before it in the promotion order: the order was
            overridden (the audit log has who and why).
          </p>
        ) : null}
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
          </div>
        ) : null}
        <StatusFacts d={d} s={s} />
        {s && s.gates.length > 0 ? <GateTable gates={s.gates} /> : null}
      </section>
    </>
  );
}

/** The exit gate: met or not, why, and its figures. */
function GateTable({ gates }: { gates: GateStatus[] }) {
  return (
    <div className="scroll-x">
      <table data-testid="gates">
        <TableHead columns={['exit gate', 'met', 'why', 'evidence']} />
        <tbody>
          {gates.map((g) => (
            <tr key={g.name}>
              <td className="nowrap">{g.name.replace('->', ' → ')}</td>
              <td>{g.passed ? <span className="pill ok">met</span> : <span className="pill warn">not met</span>}</td>
              <td className="reason-cell">{gateDetailWords(g)}</td>
              <td className="evidence-cell">
                <Evidence evidence={g.evidence} collapsed />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
