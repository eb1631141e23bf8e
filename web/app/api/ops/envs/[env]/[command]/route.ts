import type { NextRequest, NextResponse } from 'next/server';
import { runCommand } from '../../../../../../lib/ops-api';

export const dynamic = 'force-dynamic';

/** POST /api/ops/envs/<env>/<command>: an operator request from `npm run ops`, as the API token's owner. */
export async function POST(request: NextRequest, { params }: { params: Promise<{ env: string; command: string }> }): Promise<NextResponse> {
  const { env, command } = await params;
  return await runCommand(request, env, command);
}
