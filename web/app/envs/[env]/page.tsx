import { notFound } from 'next/navigation';
import { Suspense } from 'react';
import { PanelSkeleton } from '../../../components/panel-skeleton';
import { environments, SAMPLE_RANGES, type SampleRange } from '../../../lib/data';
import { requirePageUser } from '../../../lib/session';
import { ActionsPanel, AuditPanel, ChartsPanel, MismatchPanel, SummaryPanel, VerifyRepairPanel } from './panels';
import { StatusPanel } from './status-panel';
import { WriterLagPanel } from './writer-lag-panel';
import { CohortsPanel } from './cohorts-panel';

export const dynamic = 'force-dynamic';

/** A panel's placeholder while its data loads, in a card like the panel's own. */
function CardSkeleton({ label, lines }: { label: string; lines: number }) {
  return (
    <section className="card">
      <PanelSkeleton label={label} lines={lines} />
    </section>
  );
}

/** One environment: only the layout of its panels, each of which reads its own data (panels.tsx). */
export default async function EnvPage({
  params,
  searchParams,
}: {
  params: Promise<{ env: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const user = await requirePageUser();
  const env = decodeURIComponent((await params).env);
  if (!environments().includes(env)) notFound();
  const query = await searchParams;
  const samplesParam = typeof query.samples === 'string' ? query.samples : '1h';
  const samples: SampleRange = samplesParam in SAMPLE_RANGES ? (samplesParam as SampleRange) : '1h';
  return (
    <>
      <h1>{env}</h1>
      <Suspense fallback={<CardSkeleton label="the stage and what happens next" lines={6} />}>
        <StatusPanel env={env} />
      </Suspense>
      <Suspense fallback={null}>
        <CohortsPanel env={env} role={user.role} />
      </Suspense>
      <Suspense fallback={null}>
        <WriterLagPanel env={env} />
      </Suspense>
      <Suspense fallback={null}>
        <SummaryPanel env={env} />
      </Suspense>
      <Suspense fallback={<CardSkeleton label="the actions" lines={2} />}>
        <ActionsPanel env={env} user={user} />
      </Suspense>
      <Suspense fallback={<CardSkeleton label="the charts" lines={6} />}>
        <ChartsPanel env={env} />
      </Suspense>
      <Suspense fallback={<CardSkeleton label="mismatch samples" lines={3} />}>
        <MismatchPanel env={env} range={samples} />
      </Suspense>
      <Suspense fallback={<CardSkeleton label="verify and repair runs" lines={4} />}>
        <VerifyRepairPanel env={env} user={user} />
      </Suspense>
      <Suspense fallback={<CardSkeleton label="the audit timeline" lines={5} />}>
        <AuditPanel env={env} />
      </Suspense>
    </>
  );
}
