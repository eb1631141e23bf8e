import type { NextRequest, NextResponse } from 'next/server';
import { status } from '../../../../lib/ops-api';

export const dynamic = 'force-dynamic';

/** GET /api/ops/status[?env=]: each env's migration state, for `npm run ops -- status`. */
export async function GET(request: NextRequest): Promise<NextResponse> {
  return await status(request);
}
