/**
 * Structured logging (pino): every line names the process, and callers add env and action.
 */
import pino, { type Logger } from 'pino';

/** A JSON logger for one process or component. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name, pid: process.pid } });
}

export type { Logger };
