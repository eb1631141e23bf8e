import { NextResponse } from 'next/server';
import { loadOverview } from '../../../lib/data';
import { AccessDeniedError, requireRole } from '../../../lib/session';

export const dynamic = 'force-dynamic';

/** GET /api/health: the stage of every env and which dependencies are unreachable (signed-in users only). */
export async function GET(): Promise<NextResponse> {
  try {
    await requireRole('viewer');
  } catch (err) {
    if (err instanceof AccessDeniedError) return NextResponse.json({ error: err.message }, { status: err.status });
    throw err;
  }
  const { envs, outages } = await loadOverview();
  return NextResponse.json({
    ok: outages.length === 0,
    outages,
    envs: envs.map((e) => ({ env: e.env, stage: e.migration.kind === 'running' ? e.migration.state.stage : e.migration.kind, instances: e.instances.length })),
  });
}
