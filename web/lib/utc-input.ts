/**
 * Times typed into the console's forms, always read as UTC (the console shows every time in UTC):
 * "2026-12-05 14:00", "2026-12-05T14:00:30", "2026-12-05 14:00 UTC", "2026-12-05T14:00Z", or a full
 * ISO 8601 time with its own offset. Pure; shared by the audit filters and the verify forms.
 */

/** The shape the forms ask for, for placeholders and error messages. */
export const UTC_INPUT_EXAMPLE = '2026-12-05 14:00';

const LOCAL_SHAPE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(?:\s*(?:Z|UTC))?$/i;

/** Epoch ms of a typed time read as UTC; null when it is not a time. */
export function parseUtcInput(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  const m = LOCAL_SHAPE.exec(t);
  const ms = m ? Date.parse(`${m[1]}T${m[2]}Z`) : /[zZ]$|[+-]\d{2}:?\d{2}$/.test(t) ? Date.parse(t) : Date.parse(`${t.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) ? ms : null;
}

/** A time as the forms show it back: 2026-12-05 14:00 (UTC, to the minute). */
export function utcInputValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}
