/**
 * The wire format of the control channel: control states and heartbeats as JSON, validated with
 * their zod schemas (schema.ts) on the way in, because anything on a topic may have been written
 * by anyone. Decoding never throws: a bad record is a `Decoded` with the reason.
 */
import type { z } from 'zod';
import { controlStateSchema, heartbeatSchema, type ControlState, type Heartbeat } from './schema.js';

/** A decoded record, or why it is not one. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Serialises a control state for the control topic. */
export function encodeControlState(state: ControlState): Buffer {
  return Buffer.from(JSON.stringify(state));
}

/** Parses and validates a control-topic record value. */
export function decodeControlState(value: Buffer | null): Decoded<ControlState> {
  return decode(value, controlStateSchema);
}

/** Serialises a heartbeat for the heartbeat topic. */
export function encodeHeartbeat(heartbeat: Heartbeat): Buffer {
  return Buffer.from(JSON.stringify(heartbeat));
}

/** Parses and validates a heartbeat-topic record value. */
export function decodeHeartbeat(value: Buffer | null): Decoded<Heartbeat> {
  return decode(value, heartbeatSchema);
}

/** Names every problem of a failed validation on one line, for a log field or an error message. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(record)'}: ${i.message}`).join('; ');
}

function decode<S extends z.ZodType>(value: Buffer | null, schema: S): Decoded<z.infer<S>> {
  if (value === null) return { ok: false, reason: 'tombstone (no value)' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
}
