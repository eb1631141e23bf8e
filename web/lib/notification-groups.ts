/**
 * The local receiver's messages as events: the notifier posts one event to every route that
 * takes it (generic JSON, Slack-compatible, ...), and the page shows each event once with the
 * formats it was delivered in. Pure functions, shared with the tests.
 */
import { NOTIFICATION_KINDS, type NotificationPayload } from '../../contract/index.js';

/** One message the local receiver got (GET /messages of tools/notifications/receiver.ts). */
export interface ReceivedView {
  n: number;
  receivedAt: number;
  path: string;
  format: 'json' | 'slack' | 'other';
  notificationId: string | null;
  /** The event's environment and kind as the notifier's headers name them (null from older receivers). */
  env?: string | null;
  kind?: string | null;
  body: Partial<NotificationPayload> & { text?: string };
}

/** One event and its deliveries. */
export interface NotificationEvent {
  /** The notifier's event id (or the message's arrival number when the sender gave none). */
  id: string;
  env: string | null;
  kind: string | null;
  /** When its first delivery arrived. */
  receivedAt: number;
  title: string;
  text: string;
  evidence: Record<string, unknown>;
  /** Each delivery: its format and the path it was posted to. */
  deliveries: { format: ReceivedView['format']; path: string }[];
}

/** The environment of a notification id ("switchyard-migration-<env>:<seq>", "test:<env>:<at>"), for messages without the env header. */
function envOfId(id: string | null): string | null {
  if (!id) return null;
  const test = /^test:([^:]+):/.exec(id);
  if (test) return test[1]!;
  const wf = /^switchyard-migration-([^:]+):/.exec(id);
  return wf ? wf[1]! : null;
}

/** A Slack body's words: its header block and its text. */
function slackWords(body: Record<string, unknown>): { title: string; text: string } {
  const blocks = Array.isArray(body.blocks) ? (body.blocks as { type?: string; text?: { text?: string } }[]) : [];
  const title = blocks.find((b) => b.type === 'header')?.text?.text ?? '';
  const text = blocks.find((b) => b.type === 'section' && b.text?.text)?.text?.text ?? (typeof body.text === 'string' ? body.text : '');
  return { title, text: text.replace(/\n<[^|>]+\|[^>]+>$/, '') };
}

/** The messages grouped into events (newest first), the JSON body's words preferred over a Slack message's. */
export function groupNotifications(messages: readonly ReceivedView[]): NotificationEvent[] {
  const byId = new Map<string, NotificationEvent>();
  for (const m of [...messages].sort((a, b) => a.receivedAt - b.receivedAt || a.n - b.n)) {
    const id = m.notificationId ?? `message-${m.n}`;
    const body = (m.body ?? {}) as Record<string, unknown>;
    let ev = byId.get(id);
    if (!ev) {
      ev = { id, env: null, kind: null, receivedAt: m.receivedAt, title: '', text: '', evidence: {}, deliveries: [] };
      byId.set(id, ev);
    }
    ev.deliveries.push({ format: m.format, path: m.path });
    ev.env ??= m.env ?? (typeof body.env === 'string' ? body.env : null) ?? envOfId(m.notificationId);
    const kind = m.kind ?? (typeof body.kind === 'string' ? body.kind : null);
    ev.kind ??= kind && (NOTIFICATION_KINDS as readonly string[]).includes(kind) ? kind : null;
    if (m.format === 'json') {
      ev.title = typeof body.title === 'string' ? body.title : ev.title;
      ev.text = typeof body.text === 'string' ? body.text : ev.text;
      if (body.evidence && typeof body.evidence === 'object') ev.evidence = body.evidence as Record<string, unknown>;
    } else if (ev.title === '') {
      const words = m.format === 'slack' ? slackWords(body) : { title: '', text: JSON.stringify(body).slice(0, 300) };
      ev.title = words.title;
      ev.text = words.text;
    }
  }
  return [...byId.values()].sort((a, b) => b.receivedAt - a.receivedAt);
}

/** Events of one environment and kind ('' for any). */
export function filterNotifications(events: readonly NotificationEvent[], f: { env: string; kind: string }): NotificationEvent[] {
  return events.filter((e) => (f.env === '' || e.env === f.env) && (f.kind === '' || e.kind === f.kind));
}
