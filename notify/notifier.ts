/**
 * The notifier: posts a notification to every webhook route that takes its env and kind, each in
 * its route's format, with retries (exponential backoff; a 4xx other than 408/429 is final). It
 * never throws: a failed delivery is logged (the URL redacted, as it may hold a secret) and
 * reported. Built once per process from NotifierSettings; with no route it does nothing.
 */
import type { Logger } from '../kit/logger.js';
import type { NotificationPayload } from '../contract/index.js';
import { redactWebhookUrl, type NotificationRoute, type NotifierSettings } from '../config/notifier-settings.js';
import { payloadFor } from './payloads.js';

/** What became of one delivery. */
export interface DeliveryReport {
  /** The route's URL, redacted. */
  route: string;
  format: NotificationRoute['format'];
  ok: boolean;
  attempts: number;
  /** The last HTTP status (null: no answer). */
  status: number | null;
  error: string | null;
}

/** Sends notifications; see createNotifier. */
export interface Notifier {
  /** The routes a notification of env and kind goes to. */
  routesFor(env: string, kind: NotificationPayload['kind']): NotificationRoute[];
  /** Posts n to each of its routes (in parallel), retrying each; resolves when every delivery is done or given up. */
  send(n: NotificationPayload): Promise<DeliveryReport[]>;
}

/** What createNotifier needs. */
export interface NotifierOptions {
  settings: Pick<NotifierSettings, 'routes' | 'attempts' | 'backoffMs' | 'timeoutMs'>;
  logger?: Logger;
  /** fetch (tests may pass their own). */
  fetch?: typeof fetch;
  /** The wait between attempts (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** Longest wait between two attempts, ms. */
const MAX_BACKOFF_MS = 30_000;

/** HTTP statuses worth another attempt: timeouts, throttling, server errors. */
const retryable = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/** Builds a notifier from its settings. */
export function createNotifier(o: NotifierOptions): Notifier {
  const { routes, attempts, backoffMs, timeoutMs } = o.settings;
  if (attempts < 1) throw new Error(`notifier: attempts must be at least 1, got ${attempts}`);
  const post = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const log = o.logger;

  const routesFor = (env: string, kind: NotificationPayload['kind']): NotificationRoute[] =>
    routes.filter((r) => (r.env === '*' || r.env === env) && r.events.includes(kind));

  async function deliver(route: NotificationRoute, n: NotificationPayload): Promise<DeliveryReport> {
    const shown = redactWebhookUrl(route.url);
    const body = JSON.stringify(payloadFor(route.format, n));
    let status: number | null = null;
    let error: string | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await post(route.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'switchyard-notifier',
            // The event's id, environment and kind, whatever the body's format: a receiver groups
            // and filters on them without parsing a Slack message.
            'x-switchyard-notification-id': n.id,
            'x-switchyard-env': n.env,
            'x-switchyard-notification-kind': n.kind,
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          log?.info({ action: 'notify', env: n.env, kind: n.kind, id: n.id, route: shown, format: route.format, attempt }, `notification ${n.kind} delivered`);
          return { route: shown, format: route.format, ok: true, attempts: attempt, status, error: null };
        }
        error = `HTTP ${res.status}`;
        if (!retryable(res.status)) {
          log?.error(
            { action: 'notify', env: n.env, kind: n.kind, id: n.id, route: shown, status },
            `notification ${n.kind} refused by the webhook (not retried)`,
          );
          return { route: shown, format: route.format, ok: false, attempts: attempt, status, error };
        }
      } catch (err) {
        status = null;
        error = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
      }
      if (attempt < attempts) {
        const wait = Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempt - 1));
        log?.warn(
          { action: 'notify', env: n.env, kind: n.kind, id: n.id, route: shown, attempt, error, retryInMs: wait },
          `notification ${n.kind} not delivered yet; retrying`,
        );
        await sleep(wait);
      }
    }
    log?.error(
      { action: 'notify', env: n.env, kind: n.kind, id: n.id, route: shown, attempts, error },
      `notification ${n.kind} given up after ${attempts} attempts`,
    );
    return { route: shown, format: route.format, ok: false, attempts, status, error };
  }

  return {
    routesFor,
    async send(n) {
      return await Promise.all(routesFor(n.env, n.kind).map((r) => deliver(r, n)));
    },
  };
}
