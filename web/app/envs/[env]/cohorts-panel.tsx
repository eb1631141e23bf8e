import { cohortSelectorText, Stage, type CohortState } from '../../../../contract/index';
import { CohortActions } from '../../../components/cohort-actions';
import { num, pct, time } from '../../../components/format';
import { migrationAction } from '../../../lib/actions';
import { loadCohortRows } from '../../../lib/data';
import type { Role } from '../../../lib/roles';

/** The window the cohort rows' figures cover. */
const WINDOW_MS = 5 * 60_000;

/** A cohort's place in words: what its reads do now. */
function placeText(c: CohortState): string {
  if (c.stage === Stage.cutover) return `${c.ramp} % served by DynamoDB (every read compared)`;
  return c.ramp === 0 ? 'Cassandra only, not compared' : `science: ${c.ramp} % compared with DynamoDB`;
}

/** A cohort's state as a pill. */
function StatePill({ c }: { c: CohortState }) {
  if (c.rolledBack) return <span className="pill bad">rolled back</span>;
  if (c.paused) return <span className="pill warn">paused</span>;
  if (c.stage === Stage.cutover && c.ramp === 100) return <span className="pill ok">cut over</span>;
  if (c.ramp === 0) return <span className="pill">waiting</span>;
  return <span className="pill">{c.stage === Stage.cutover ? 'cutting over' : 'compared'}</span>;
}

/**
 * The cohorts of an environment that moves its apps in cohorts: one row each (which apps, its
 * stage and percent, its comparisons and mismatch rate over the last 5 minutes from its own science
 * rows, its state, what happens next), and the operator's actions on one cohort. Reads its own
 * data; nothing for a migration without cohorts, before science (the cohorts begin there) or after
 * the TTL wait.
 */
export async function CohortsPanel({ env, role }: { env: string; role: Role }) {
  const loaded = await loadCohortRows(env, WINDOW_MS);
  const stage = loaded?.state.stage;
  if (!loaded || (stage !== Stage.science && stage !== Stage.cutover && stage !== Stage.ttlWait)) return null;
  const { state, cohorts, specs, figures } = loaded;
  return (
    <section className="card" data-testid="cohorts">
      <h2>Cohorts</h2>
      <p className="muted">
        Reads move cohort by cohort, in this order: each cohort ramps science and then cutover on its own comparisons, and an automatic rollback takes back only
        the cohort whose comparisons failed.
      </p>
      <div className="scroll-x">
        <table>
          <thead>
            <tr>
              <th>cohort</th>
              <th>apps</th>
              <th>stage</th>
              <th>reads</th>
              <th>comparisons (5 min)</th>
              <th>mismatch rate (5 min)</th>
              <th>state</th>
              <th>what happens next</th>
            </tr>
          </thead>
          <tbody>
            {cohorts.map((c) => {
              const f = figures.get(c.name) ?? null;
              const spec = specs.get(c.name);
              return (
                <tr key={c.name} data-testid={`cohort-${c.name}`} data-stage={c.stage} data-ramp={c.ramp} data-rolled-back={String(c.rolledBack !== null)}>
                  <td>
                    <strong>{c.name}</strong>
                  </td>
                  <td>{spec ? cohortSelectorText(spec) : '–'}</td>
                  <td>
                    {c.stage} {c.ramp} %
                  </td>
                  <td>{placeText(c)}</td>
                  <td>{num(f?.counters.comparisons)}</td>
                  <td>{f && f.counters.comparisons > 0 ? `${pct(f.mismatchRate)} of ${num(f.counters.comparisons)}` : '–'}</td>
                  <td>
                    <StatePill c={c} />
                    {c.rolledBack ? (
                      <span className="hint" data-testid={`cohort-${c.name}-rollback`}>
                        {' '}
                        {time(c.rolledBack.at)}: {c.rolledBack.reason}
                      </span>
                    ) : null}
                  </td>
                  <td data-testid={`cohort-${c.name}-next`}>{c.next ?? 'the next evaluation'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <CohortActions
        env={env}
        role={role}
        stage={state.stage}
        cohorts={cohorts.map((c) => ({ name: c.name, stage: c.stage, ramp: c.ramp, held: c.paused || c.rolledBack !== null }))}
        migrationAction={migrationAction}
      />
    </section>
  );
}
