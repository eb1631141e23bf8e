import type { NextRequest, NextResponse } from 'next/server';
import { runs } from '../../../../lib/ops-api';

export const dynamic = 'force-dynamic';

/** GET /api/ops/runs?kind=verify|repair&(id=|env=): a verify or repair run's progress, for `npm run ops`. */
export async function GET(request: NextRequest): Promise<NextResponse> {
  return await runs(request);
}
