/**
 * One measurement from a producer (e.g. how long one HTTP request took) and its validation.
 */

/** A single observation: app id, metric name, numeric value, event time. */
export interface Observation {
  /** Application id (1..128 characters: letters, digits, '.', '_', ':', '-'). */
  app: string;
  /** Metric name, dotted lower-case words, e.g. "router.service_ms". */
  metric: string;
  /** The measured value; finite; never negative for durations. */
  value: number;
  /** Event time, epoch milliseconds. */
  time: number;
}

/** Limits applied to every observation at the boundary. */
export interface ValidationPolicy {
  /** How far ahead of the clock an event time may be, in ms. */
  maxFutureMs: number;
  /** How far behind the clock an event time may be, in ms. */
  maxPastMs: number;
  /** Longest app id. */
  maxAppLength: number;
  /** Longest metric name. */
  maxMetricLength: number;
  /** Most observations in one Kafka message. */
  maxObservationsPerMessage: number;
}

/** Defaults: five minutes of clock skew ahead, one day behind. */
export const DEFAULT_VALIDATION_POLICY: ValidationPolicy = {
  maxFutureMs: 5 * 60_000,
  maxPastMs: 24 * 60 * 60_000,
  maxAppLength: 128,
  maxMetricLength: 128,
  maxObservationsPerMessage: 10_000,
};

const APP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const METRIC_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;
/** Metric names that measure a duration (or a size) end in a unit and can never be negative. */
const NON_NEGATIVE_SUFFIX = /_(ns|us|ms|s|seconds|bytes|count)$/;

/** True when the metric is a duration or size, so a negative value is invalid. */
export function isNonNegativeMetric(metric: string): boolean {
  return NON_NEGATIVE_SUFFIX.test(metric);
}

/** Checks an app id; returns why it is invalid, or undefined. */
export function checkApp(app: unknown, policy: ValidationPolicy): string | undefined {
  if (typeof app !== 'string') return `app must be a string, got ${typeOf(app)}`;
  if (app.length === 0) return 'app is empty';
  if (app.length > policy.maxAppLength) return `app is ${app.length} characters, more than ${policy.maxAppLength}`;
  if (!APP_PATTERN.test(app)) return `app '${printable(app)}' has characters other than letters, digits, '.', '_', ':', '-'`;
  return undefined;
}

/** Checks a metric name; returns why it is invalid, or undefined. */
export function checkMetric(metric: unknown, policy: ValidationPolicy): string | undefined {
  if (typeof metric !== 'string') return `metric must be a string, got ${typeOf(metric)}`;
  if (metric.length === 0) return 'metric is empty';
  if (metric.length > policy.maxMetricLength) return `metric is ${metric.length} characters, more than ${policy.maxMetricLength}`;
  if (!METRIC_PATTERN.test(metric)) return `metric '${printable(metric)}' is not dotted lower-case words like router.service_ms`;
  return undefined;
}

/**
 * The value and time checks of an observation whose app and metric passed checkApp and
 * checkMetric; nonNegative = isNonNegativeMetric(metric) (callers checking many observations of
 * the same metric compute it once).
 */
export function checkValueAndTime(
  o: { metric: unknown; value: unknown; time: unknown },
  nonNegative: boolean,
  policy: ValidationPolicy,
  now: number,
): string | undefined {
  if (typeof o.value !== 'number') return `value must be a number, got ${typeOf(o.value)}`;
  if (Number.isNaN(o.value)) return 'value is NaN';
  if (!Number.isFinite(o.value)) return 'value is infinite';
  if (o.value < 0 && nonNegative) return `value ${o.value} is negative, but ${String(o.metric)} is a duration or size`;
  if (typeof o.time !== 'number' || !Number.isFinite(o.time)) return `time must be epoch milliseconds, got ${typeOf(o.time)}`;
  if (!Number.isInteger(o.time)) return `time ${o.time} is not a whole number of milliseconds`;
  if (o.time > now + policy.maxFutureMs) return `time ${new Date(o.time).toISOString()} is more than ${policy.maxFutureMs / 1000} s in the future`;
  if (o.time < now - policy.maxPastMs) return `time ${safeIso(o.time)} is more than ${policy.maxPastMs / 3_600_000} h in the past`;
  return undefined;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function printable(s: string): string {
  const clipped = s.length > 40 ? `${s.slice(0, 40)}...` : s;
  return clipped.replace(/[^\x20-\x7e]/g, '?');
}

function safeIso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}
