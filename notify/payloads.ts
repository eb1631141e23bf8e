/**
 * The two payload formats: the generic JSON one (the NotificationPayload itself) and a
 * Slack-compatible one (an incoming-webhook body: `text` for notifications and clients without
 * blocks, `blocks` with the title, the text and the evidence as fields).
 */
import type { NotificationFormat, NotificationPayload } from '../contract/index.js';

/** Most evidence fields a Slack message shows (Slack allows ten per section). */
const SLACK_FIELDS = 10;

/** An evidence value as short text. */
function short(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (typeof v === 'string') return v.length > 200 ? `${v.slice(0, 197)}…` : v;
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 200 ? `${json.slice(0, 197)}…` : json;
}

/** A Slack incoming-webhook body for a notification. */
export function slackPayload(n: NotificationPayload): Record<string, unknown> {
  const evidence = Object.entries(n.evidence).filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object');
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: n.text + (n.consoleUrl ? `\n<${n.consoleUrl}|Open ${n.env} in the console>` : '') } },
  ];
  if (evidence.length > 0) {
    blocks.push({
      type: 'section',
      fields: evidence.slice(0, SLACK_FIELDS).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${short(v)}` })),
    });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${n.kind} · ${n.time} · ${n.id}` }] });
  return { text: `${n.title}: ${n.text}`, blocks };
}

/** The body posted to a route of the given format. */
export function payloadFor(format: NotificationFormat, n: NotificationPayload): Record<string, unknown> {
  return format === 'slack' ? slackPayload(n) : { ...n };
}
