import Link from 'next/link';
import { Suspense } from 'react';
import { OutageBanner } from '../components/outage-banner';
import { StageStepper } from '../components/stage-stepper';
import { num, pct, relative, time } from '../components/format';
import { PanelSkeleton } from '../components/panel-skeleton';
import { environments, loadEnvOverview, loadOverview, type EnvOverview } from '../lib/data';
import { requirePageUser } from '../lib/session';
import { Stage } from '../../contract';
import { routingWords } from '../lib/status-words';

export const dynamic = 'force-dynamic';

function Health({ e }: { e: EnvOverview }) {
  if (e.instances.length === 0 && !e.instancesKnown) return <span className="muted">reading heartbeats…</span>;
  if (e.instances.length === 0) return <span className="pill bad">no live instances</span>;
  const behind = e.instances.filter((i) => !i.current);
  const roles = [...new Set(e.instances.map((i) => i.role))].sort();
  return (
    <span>
      <span className={`pill ${behind.length ? 'warn' : 'ok'}`}>
        {e.instances.length} live{behind.length ? `, ${behind.length} behind` : ''}
      </span>{' '}
      <span className="muted">{roles.join(', ')}</span>
    </span>
  );
}

function EnvCard({ e }: { e: EnvOverview }) {
  const s = e.migration.kind === 'running' ? e.migration.state : null;
  const c = e.last5m?.counters;
  return (
    <section className="card" data-testid={`env-${e.env}`}>
      <h2>
        <Link href={`/envs/${e.env}`}>{e.env}</Link>{' '}
        <span className="muted" data-testid={`stage-${e.env}`}>
          {s
            ? s.stage
            : e.migration.kind === 'none'
              ? 'no migration'
              : e.migration.kind === 'closed'
                ? `ended (${e.migration.status.toLowerCase()})`
                : 'unknown'}
        </span>
        {s?.paused ? <span className="pill warn"> paused</span> : null}
        {s?.rolledBack ? <span className="pill bad"> rolled back</span> : null}
      </h2>
      <StageStepper stage={s?.stage ?? null} ramp={s?.ramp} />
      <dl className="facts">
        {s ? (
          <>
            <dt>reads</dt>
            <dd data-testid={`reads-${e.env}`}>{routingWords(s).rollback ?? routingWords(s).reads}</dd>
          </>
        ) : null}
        {s && (s.stage === Stage.science || s.stage === Stage.cutover) ? (
          <>
            <dt>ramp</dt>
            <dd>{`${s.ramp}%`}</dd>
          </>
        ) : null}
        <dt>mismatch rate</dt>
        <dd>
          {pct(e.last5m?.mismatchRate)} last 5 min ({num(e.last5m?.counters.comparisons)} comparisons) · {pct(e.lastHour?.mismatchRate)} last hour
        </dd>
        <dt>reads served (5 min)</dt>
        <dd data-testid={`served-${e.env}`}>
          old store {num(c?.servedOld)} · new store {num(c?.servedNew)}
        </dd>
        <dt>coverage horizon</dt>
        <dd>{s?.coverageHorizon ? `${time(s.coverageHorizon)} (the new store has every minute from here)` : '–'}</dd>
        {s?.stage === Stage.ttlWait ? (
          <>
            <dt>TTL gate</dt>
            <dd>{s.ttlGateAt ? `${relative(s.ttlGateAt)} (${time(s.ttlGateAt)})` : '–'}</dd>
          </>
        ) : null}
        <dt>instances</dt>
        <dd>
          <Health e={e} />
        </dd>
        <dt>next step</dt>
        <dd data-testid={`next-${e.env}`}>{e.nextStep}</dd>
      </dl>
    </section>
  );
}

/** One environment's card, read on its own so a slow environment holds only its card. */
async function LoadedEnvCard({ env }: { env: string }) {
  const { overview } = await loadEnvOverview(env);
  return <EnvCard e={overview} />;
}

/** The banner for every environment's outages (it waits for all cards' reads, which it shares with them). */
async function OverviewBanner() {
  const { outages } = await loadOverview();
  return <OutageBanner outages={outages} />;
}

export default async function OverviewPage() {
  await requirePageUser();
  return (
    <>
      <h1>Environments</h1>
      <Suspense fallback={null}>
        <OverviewBanner />
      </Suspense>
      <div className="grid">
        {environments().map((env) => (
          <Suspense
            key={env}
            fallback={
              <section className="card" data-testid={`env-${env}-loading`}>
                <h2>{env}</h2>
                <PanelSkeleton label={`${env}'s stage and figures`} lines={5} />
              </section>
            }
          >
            <LoadedEnvCard env={env} />
          </Suspense>
        ))}
      </div>
    </>
  );
}
