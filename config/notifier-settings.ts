/**
 * The notifier's settings: defaults, then environment variables, then validation, in one place
 * (the worker sends notifications; the console sends the test one and shows a local receiver's
 * messages). No route means no notification: the notifier is off unless configured.
 *
 *   SWITCHYARD_NOTIFY_URL        a webhook every environment's events go to
 *   SWITCHYARD_NOTIFY_FORMAT     its payload: json (default) or slack
 *   SWITCHYARD_NOTIFY_ROUTES     JSON list of routes, each {"env": "production" | "*", "url": "...",
 *                                "format": "json" | "slack", "events": ["automatic_rollback", ...]}
 *                                (env defaults to "*", format to json, events to all)
 *   SWITCHYARD_NOTIFY_EVENTS     the events sent at all, comma-separated (default: all)
 *   SWITCHYARD_NOTIFY_ATTEMPTS   attempts per delivery (default 5)
 *   SWITCHYARD_NOTIFY_BACKOFF_MS first retry delay, doubled on each retry (default 500)
 *   SWITCHYARD_NOTIFY_TIMEOUT_MS how long one POST may take (default 5000)
 *   SWITCHYARD_NOTIFY_GATE_POLL_MS how often the worker looks for a newly met gate (default 5000; 0 = never)
 *   SWITCHYARD_CONSOLE_URL       the console's address, for links in notifications (optional)
 *   SWITCHYARD_NOTIFY_RECEIVER_URL a local receiver whose messages the console shows (npm start sets it)
 *
 * Webhook URLs often carry a secret in their path (Slack's do): logs and the console show a route
 * only as redactWebhookUrl() prints it.
 */
import { z } from 'zod';
import { NOTIFICATION_FORMATS, NOTIFICATION_KINDS, type NotificationFormat, type NotificationKind } from '../contract/index.js';
import { ConfigError } from './config.js';

/** One webhook route: the events of an env (or of every env, "*") posted to a URL in a format. */
export interface NotificationRoute {
  env: string;
  url: URL;
  format: NotificationFormat;
  events: NotificationKind[];
}

/** The validated notifier settings. */
export interface NotifierSettings {
  routes: NotificationRoute[];
  /** Events sent at all. */
  events: NotificationKind[];
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  gatePollMs: number;
  consoleUrl: string | null;
  receiverUrl: string | null;
}

type Env = Record<string, string | undefined>;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' });
const kinds = z.array(z.enum(NOTIFICATION_KINDS, { error: `must be one of ${NOTIFICATION_KINDS.join(', ')}` }));
const routeSchema = z.object({
  env: z
    .string()
    .regex(/^(\*|[a-z][a-z0-9-]{0,30})$/, 'must be an environment name or "*"')
    .default('*'),
  url: httpUrl,
  format: z.enum(NOTIFICATION_FORMATS, { error: `must be ${NOTIFICATION_FORMATS.join(' or ')}` }).default('json'),
  events: kinds.optional(),
});

/** A whole number from the environment, or the default; problems are collected. */
function whole(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}: '${raw}' is not a whole number from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

/** Reads the notifier settings from the environment; throws ConfigError naming every problem. */
export function loadNotifierSettings(env: Env = process.env): NotifierSettings {
  const problems: string[] = [];
  let events: NotificationKind[] = [...NOTIFICATION_KINDS];
  if (env.SWITCHYARD_NOTIFY_EVENTS?.trim()) {
    const parsed = kinds.safeParse(
      env.SWITCHYARD_NOTIFY_EVENTS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    if (parsed.success) events = [...new Set([...parsed.data, 'test' as const])];
    else problems.push(`SWITCHYARD_NOTIFY_EVENTS: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  const routes: NotificationRoute[] = [];
  const add = (raw: unknown, where: string): void => {
    const r = routeSchema.safeParse(raw);
    if (!r.success) {
      problems.push(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || 'route'} ${i.message}`).join('; ')}`);
      return;
    }
    routes.push({ env: r.data.env, url: new URL(r.data.url), format: r.data.format, events: r.data.events ?? events });
  };
  if (env.SWITCHYARD_NOTIFY_URL?.trim()) {
    add({ env: '*', url: env.SWITCHYARD_NOTIFY_URL.trim(), format: env.SWITCHYARD_NOTIFY_FORMAT?.trim() || 'json' }, 'SWITCHYARD_NOTIFY_URL');
  } else if (env.SWITCHYARD_NOTIFY_FORMAT?.trim()) {
    problems.push('SWITCHYARD_NOTIFY_FORMAT is set but SWITCHYARD_NOTIFY_URL is not');
  }
  if (env.SWITCHYARD_NOTIFY_ROUTES?.trim()) {
    let list: unknown;
    try {
      list = JSON.parse(env.SWITCHYARD_NOTIFY_ROUTES);
    } catch (err) {
      problems.push(`SWITCHYARD_NOTIFY_ROUTES: not JSON (${(err as Error).message})`);
    }
    if (list !== undefined && !Array.isArray(list)) problems.push('SWITCHYARD_NOTIFY_ROUTES: must be a JSON list of routes');
    else if (Array.isArray(list)) list.forEach((r, i) => add(r, `SWITCHYARD_NOTIFY_ROUTES[${i}]`));
  }
  const optionalUrl = (name: string): string | null => {
    const raw = env[name]?.trim();
    if (!raw) return null;
    if (!httpUrl.safeParse(raw).success) {
      problems.push(`${name}: '${raw}' is not an http or https URL`);
      return null;
    }
    return raw.replace(/\/$/, '');
  };
  const settings: NotifierSettings = {
    routes: routes.map((r) => ({ ...r, events: r.events.filter((k) => events.includes(k)) })),
    events,
    attempts: whole(env, 'SWITCHYARD_NOTIFY_ATTEMPTS', 5, 1, 20, problems),
    backoffMs: whole(env, 'SWITCHYARD_NOTIFY_BACKOFF_MS', 500, 0, 60_000, problems),
    timeoutMs: whole(env, 'SWITCHYARD_NOTIFY_TIMEOUT_MS', 5000, 100, 60_000, problems),
    gatePollMs: whole(env, 'SWITCHYARD_NOTIFY_GATE_POLL_MS', 5000, 0, 3_600_000, problems),
    consoleUrl: optionalUrl('SWITCHYARD_CONSOLE_URL'),
    receiverUrl: optionalUrl('SWITCHYARD_NOTIFY_RECEIVER_URL'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/** A webhook URL as logs and the console may show it: scheme, host and port, the path hidden (it may hold a secret). */
export function redactWebhookUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '/' : '/…'}`;
}
