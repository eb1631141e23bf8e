/**
 * The operator CLI's way in: the console's operator API over HTTP (/api/ops/...), authenticated
 * with the operator's personal API token. The token comes from SWITCHYARD_TOKEN or a file
 * (SWITCHYARD_TOKEN_FILE, default ~/.config/switchyard/token), never from a flag (a flag lands in
 * shell history and in the process list). The console sets the identity from the token, so what
 * the CLI is told about who it is does not matter.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../kit/cli.js';

/** Where the CLI finds the console and its token. */
export interface ConsoleApi {
  url: string;
  token: string;
}

/** The default token file. */
export const DEFAULT_TOKEN_FILE = path.join(os.homedir(), '.config', 'switchyard', 'token');

/** Reads the console's URL and the token from the environment (or the token file); a clear UsageError when there is none. */
export function consoleApiFromEnv(env: Record<string, string | undefined> = process.env): ConsoleApi {
  const url = (env.SWITCHYARD_CONSOLE_URL?.trim() || `http://127.0.0.1:${env.SWITCHYARD_CONSOLE_PORT?.trim() || '3000'}`).replace(/\/$/, '');
  let token = env.SWITCHYARD_TOKEN?.trim();
  if (!token) {
    const file = env.SWITCHYARD_TOKEN_FILE?.trim() || DEFAULT_TOKEN_FILE;
    try {
      token = fs.readFileSync(file, 'utf8').trim();
    } catch {
      throw new UsageError(
        `no API token: create one on the console's API tokens page (${url}/tokens), then put it in SWITCHYARD_TOKEN or in ${file} (never on the command line)`,
      );
    }
    if (!token) throw new UsageError(`the token file ${file} is empty`);
  }
  return { url, token };
}

/** An answer of the console that is not a success: its status and message. */
export class ConsoleApiError extends Error {
  override readonly name = 'ConsoleApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the operator API; returns the JSON answer, or throws ConsoleApiError with the console's own message. */
export async function callConsole<T>(api: ConsoleApi, method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${api.url}${pathAndQuery}`, {
      method,
      headers: { authorization: `Bearer ${api.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: 'manual',
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    throw new ConsoleApiError(0, `cannot reach the console at ${api.url} (SWITCHYARD_CONSOLE_URL): ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const msg = (json as { error?: string } | undefined)?.error ?? `${res.status} ${res.statusText}`;
    throw new ConsoleApiError(res.status, msg);
  }
  return json as T;
}
