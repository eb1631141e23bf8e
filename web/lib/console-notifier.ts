import 'server-only';
import { loadNotifierSettings, redactWebhookUrl, type NotifierSettings } from '../../config/notifier-settings';
import { createNotifier, type Notifier } from '../../notify/notifier';
import { withTimeout } from '../../kit/async';
import type { ReceivedView } from './notification-groups';

export type { ReceivedView };

// The console's side of notifications: the routes it shows (redacted), the test notification it
// sends, and the messages of a local receiver (npm start runs one) it lists.

const g = globalThis as unknown as { switchyardNotifier?: { settings: NotifierSettings; notifier: Notifier } | { error: string } };

/** The notifier settings and a notifier (once per process), or why the settings are invalid. */
export function consoleNotifier(): { settings: NotifierSettings; notifier: Notifier } | { error: string } {
  if (!g.switchyardNotifier) {
    try {
      const settings = loadNotifierSettings();
      g.switchyardNotifier = { settings, notifier: createNotifier({ settings }) };
    } catch (err) {
      g.switchyardNotifier = { error: (err as Error).message };
    }
  }
  return g.switchyardNotifier;
}

/** A route as the page shows it. */
export interface RouteView {
  env: string;
  url: string;
  format: string;
  events: string[];
}

/** The configured routes, their URLs redacted. */
export function routeViews(settings: NotifierSettings): RouteView[] {
  return settings.routes.map((r) => ({ env: r.env, url: redactWebhookUrl(r.url), format: r.format, events: r.events }));
}

/** The local receiver's messages, newest first (null: no receiver configured). */
export async function loadReceived(receiverUrl: string | null): Promise<{ messages: ReceivedView[]; error: string | null } | null> {
  if (!receiverUrl) return null;
  try {
    const res = await withTimeout(fetch(`${receiverUrl}/messages`, { cache: 'no-store' }), 3000, 'the notification receiver');
    if (!res.ok) return { messages: [], error: `the receiver answered ${res.status}` };
    const body = (await res.json()) as { messages?: ReceivedView[] };
    return { messages: body.messages ?? [], error: null };
  } catch (err) {
    return { messages: [], error: (err as Error).message };
  }
}
