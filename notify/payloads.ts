/**
 * The two payload formats: the generic JSON one (the NotificationPayload itself) and a
 * Slack-compatible one (an incoming-webhook body: `text` for notifications and clients without
 * blocks, `blocks` with the title, the text and the evidence as fields).
 */
import { evidenceFacts, formatUtc, type NotificationFormat, type NotificationPayload } from '../contract/index.js';

/** Most evidence fields a Slack message shows (Slack allows ten per section). */
const SLACK_FIELDS = 10;

/** A text cut to Slack's comfortable field length. */
const short = (v: string): string => (v.length > 200 ? `${v.slice(0, 197)}…` : v);

/** A Slack incoming-webhook body for a notification. */
export function slackPayload(n: NotificationPayload): Record<string, unknown> {
  // The figures in the console's words and units (percents, UTC times, durations), never raw fractions or epochs.
  const evidence = evidenceFacts(n.evidence).filter((f) => f.text !== '–');
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: n.text + (n.consoleUrl ? `\n<${n.consoleUrl}|Open ${n.env} in the console>` : '') } },
  ];
  if (evidence.length > 0) {
    blocks.push({
      type: 'section',
      fields: evidence.slice(0, SLACK_FIELDS).map((f) => ({ type: 'mrkdwn', text: `*${f.label}*\n${short(f.text)}` })),
    });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${n.kind} · ${formatUtc(n.at)} · ${n.id}` }] });
  return { text: `${n.title}: ${n.text}`, blocks };
}

/** The body posted to a route of the given format. */
export function payloadFor(format: NotificationFormat, n: NotificationPayload): Record<string, unknown> {
  return format === 'slack' ? slackPayload(n) : { ...n };
}
