/**
 * The notifications vocabulary: which events tell a person that something needs them, and the
 * generic JSON payload every webhook route receives (the Slack-compatible one is derived from it
 * in notify/payloads.ts). Plain data and types, shared by the notifier, the console and the local
 * receiver.
 */
import { namedConstants } from './names.js';

/** The events a notification is sent for. */
export const NOTIFICATION_KINDS = [
  /** The workflow rolled back by itself: reads and exposure went back to the old store. */
  'automatic_rollback',
  /** A stage's exit gate is met: an operator may advance. */
  'gate_met',
  /** Decommission was requested and waits for a second person's approval. */
  'approval_requested',
  /** The migration entered a new stage. */
  'stage_entered',
  /** The migration is complete. */
  'migration_complete',
  /** A store's writer has been behind beyond the policy's limit for long: automatic ramping holds. */
  'writer_outage',
  /** Sent from the console's "send test notification" button. */
  'test',
] as const;

/** One notification kind. */
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Named notification kinds (NotificationKind.gateMet, never the string). */
export const NotificationKind = namedConstants(NOTIFICATION_KINDS);

/** Payload formats a webhook route can take. */
export const NOTIFICATION_FORMATS = ['json', 'slack'] as const;

/** One payload format. */
export type NotificationFormat = (typeof NOTIFICATION_FORMATS)[number];

/** The generic JSON payload (format "json"); `schema` names its version. */
export interface NotificationPayload {
  schema: 'switchyard.notification/v1';
  /** Stable per event (workflow id + audit seq, or env + stage + gate): a receiver de-duplicates on it. */
  id: string;
  kind: NotificationKind;
  env: string;
  /** When the event happened, epoch ms, and as ISO text. */
  at: number;
  time: string;
  /** One line for a person ("production: automatic rollback in cutover; reads back on Cassandra"). */
  title: string;
  /** A few sentences: what happened, why, what to do next. */
  text: string;
  /** The stage after the event, and the one before it (the same when the stage did not change). */
  stage: string;
  fromStage: string;
  actor: string;
  reason: string;
  /** The figures behind the event (the audit entry's evidence, or the gate's). */
  evidence: Record<string, unknown>;
  workflowId: string;
  /** The environment's page in the console, when the console's address is configured. */
  consoleUrl: string | null;
}
