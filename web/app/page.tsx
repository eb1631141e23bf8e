import Link from 'next/link';
import { Suspense } from 'react';
import { OutageBanner } from '../components/outage-banner';
import { StageStepper } from '../components/stage-stepper';
import { num, sampledRate, time } from '../components/format';
import { NextStepLine } from '../components/next-step-line';
import { TtlGateFact } from '../components/ttl-gate-fact';
import { PanelSkeleton } from '../components/panel-skeleton';
import { environments, loadEnvOverview, loadOverview, type EnvOverview } from '../lib/data';
import { requirePageUser } from '../lib/session';
import { Stage } from '../../contract';
import { instanceWords, routingWords } from '../lib/status-words';

export const dynamic = 'force-dynamic';

function Health({ e }: { e: EnvOverview }) {
  if (e.instances.length === 0 && !e.instancesKnown) return <span className="muted">reading heartbeats…</span>;
  if (e.instances.length === 0) return <span className="pill bad">no live instances</span>;
  const behind = e.instances.filter((i) => !i.current);
  return (
    <span>
      <span className={`pill ${behind.length ? 'warn' : 'ok'}`}>
        {e.instances.length} live{behind.length ? `, ${behind.length} behind` : ''}
      </span>{' '}
      <span className="muted">{instanceWords(e.instances, e.control)}</span>
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
        {s?.paused ? <span className="pill warn">paused</span> : null}
        {s?.rolledBack ? <span className="pill bad">rolled back</span> : null}
        {e.aheadOf ? (
          <span className="pill warn" data-testid={`ahead-${e.env}`} title="the promotion order was overridden: see the audit log">
            ahead of {e.aheadOf.predecessor}
          </span>
        ) : null}
      </h2>
      <StageStepper stage={s?.stage ?? null} ramp={s?.ramp} />
      <NextStepLine step={e.nextStep} testId={`next-${e.env}`} where={`on ${e.env}'s page`} />
      {e.aheadOf ? (
        <p className="hint" data-testid={`ahead-words-${e.env}`}>
          {e.env} is further along than {e.aheadOf.predecessor} ({e.aheadOf.predecessorStage}), which comes first in the promotion order: the order was
          overridden.
        </p>
      ) : null}
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
            <dd data-testid={`ramp-${e.env}`}>
              {`${s.ramp}%`}
              {e.nextStep.detail ? <span className="muted"> · {e.nextStep.detail}</span> : null}
            </dd>
          </>
        ) : null}
        {s && s.stage !== Stage.planned && s.stage !== Stage.complete ? (
          <>
            <dt>mismatch rate (5 min)</dt>
            <dd data-testid={`mismatch-${e.env}`}>{sampledRate(c?.mismatches, c?.comparisons, s.policy?.minSamplesForRollback ?? 20)}</dd>
          </>
        ) : null}
        <dt>reads served (5 min)</dt>
        <dd data-testid={`served-${e.env}`}>
          old store {num(c?.servedOld)} · new store {num(c?.servedNew)}
        </dd>
        {s?.coverageHorizon && s.stage !== Stage.complete ? (
          <>
            <dt>coverage horizon</dt>
            <dd>{time(s.coverageHorizon)}</dd>
          </>
        ) : null}
        <TtlGateFact state={s} />
        <dt>instances</dt>
        <dd>
          <Health e={e} />
        </dd>
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
