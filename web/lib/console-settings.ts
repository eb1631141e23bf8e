import 'server-only';
import { z } from 'zod';
import { loadConfig, type SwitchyardConfig } from '../../config/config';
import { integrityKeyFile } from '../../config/integrity-keys';

/** The console's own settings, on top of the project's configuration (config/config.ts). */
export interface ConsoleSettings {
  cfg: SwitchyardConfig;
  /** Secret that seals the session cookie (at least 32 characters). */
  sessionSecret: string;
  /** JSON file with the users, their roles and scrypt password hashes. */
  usersFile: string;
  /** Base URL of the query service (the "Metrics tab" preview reads through it). */
  queryUrl: string;
  /** Base URL of the Temporal web UI, for links to the workflows. */
  /** A Temporal web UI to link workflows to (SWITCHYARD_TEMPORAL_UI_URL), or null. */
  temporalUiUrl: string | null;
  /** How long a session lasts at most, seconds (its absolute lifetime). */
  sessionTtlSeconds: number;
  /** How long a session may go unused before it ends, seconds. */
  sessionIdleSeconds: number;
  /** DynamoDB table of sessions and API tokens. */
  authTable: string;
  /** Longest lifetime of a personal API token, days. */
  tokenMaxDays: number;
  /** The integrity key file (tokens, sessions and the audit chain are hashed with its key). */
  integrityKeyFile: string;
}

const schema = z.object({
  SWITCHYARD_SESSION_SECRET: z
    .string({ error: 'SWITCHYARD_SESSION_SECRET is not set: the console needs a secret of at least 32 characters to seal its session cookies' })
    .min(32, 'SWITCHYARD_SESSION_SECRET must be at least 32 characters'),
  SWITCHYARD_USERS_FILE: z.string({ error: 'SWITCHYARD_USERS_FILE is not set: the console has no users (see docs/configuration.md)' }).min(1),
  SWITCHYARD_QUERY_URL: z.url('SWITCHYARD_QUERY_URL must be a URL').default('http://127.0.0.1:8080'),
  SWITCHYARD_TEMPORAL_UI_URL: z.url('SWITCHYARD_TEMPORAL_UI_URL must be a URL').optional(),
  SWITCHYARD_SESSION_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(8 * 3600),
  SWITCHYARD_SESSION_IDLE: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(30 * 60),
  SWITCHYARD_AUTH_TABLE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'SWITCHYARD_AUTH_TABLE must be a DynamoDB table name')
    .default('switchyard-console-auth'),
  SWITCHYARD_TOKEN_MAX_DAYS: z.coerce.number().int().min(1).max(365).default(90),
});

/** Thrown when the console is misconfigured; the message names every problem. */
export class ConsoleConfigError extends Error {
  override readonly name = 'ConsoleConfigError';
}

let cached: ConsoleSettings | undefined;

/** Reads and validates the settings once per process. */
export function consoleSettings(): ConsoleSettings {
  if (cached) return cached;
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) throw new ConsoleConfigError(`console configuration: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const cfg = loadConfig(process.env, { kafkaPrincipal: 'console' });
  const v = parsed.data;
  cached = {
    cfg,
    sessionSecret: v.SWITCHYARD_SESSION_SECRET,
    usersFile: v.SWITCHYARD_USERS_FILE,
    queryUrl: v.SWITCHYARD_QUERY_URL.replace(/\/$/, ''),
    // The local stack runs Temporal without its web UI; a real cluster's UI (read-only for operators) may be linked.
    temporalUiUrl: v.SWITCHYARD_TEMPORAL_UI_URL === undefined ? null : v.SWITCHYARD_TEMPORAL_UI_URL.replace(/\/$/, ''),
    sessionTtlSeconds: v.SWITCHYARD_SESSION_TTL,
    sessionIdleSeconds: v.SWITCHYARD_SESSION_IDLE,
    authTable: v.SWITCHYARD_AUTH_TABLE,
    tokenMaxDays: v.SWITCHYARD_TOKEN_MAX_DAYS,
    integrityKeyFile: integrityKeyFile(cfg),
  };
  return cached;
}
