/**
 * Wire format of `<env>.observations`: a compact binary batch of one app's observations per Kafka
 * message (keyed by app), designed for throughput; JSON is accepted too, for tools like kcat.
 *
 * Binary batch, version 1 (all integers unsigned LEB128 varints unless noted):
 *   0xB5 0x01                      magic and version
 *   appLen, app (UTF-8)
 *   baseTime                       float64 big-endian, epoch ms (a whole number)
 *   metricCount, then per metric:  len, name (UTF-8)          -- a per-message dictionary
 *   obsCount, then per observation: metricIndex, zigzag(time - baseTime), value float64 BE
 * About 11 bytes an observation for realistic batches, before Kafka compression.
 *
 * JSON: an object {app, metric, value, time} or an array of them; time in epoch ms or ISO-8601.
 */
import {
  checkApp,
  checkMetric,
  checkValueAndTime,
  DEFAULT_VALIDATION_POLICY,
  isNonNegativeMetric,
  type Observation,
  type ValidationPolicy,
} from '../model/observation.js';

const MAGIC = 0xb5;
const VERSION = 1;

/** One observation the decoder refused, with its position in the message and why. */
export interface InvalidObservation {
  index: number;
  reason: string;
}

/** What decoding one Kafka message yields. */
export type DecodeResult = { ok: true; observations: Observation[]; invalid: InvalidObservation[] } | { ok: false; reason: string };

/** Encodes one app's observations as a binary batch. Throws on observations of several apps. */
export function encodeObservationBatch(observations: readonly Observation[]): Buffer {
  if (observations.length === 0) throw new Error('encodeObservationBatch: no observations');
  const app = observations[0]!.app;
  const metrics = new Map<string, number>();
  let baseTime = Infinity;
  for (const o of observations) {
    if (o.app !== app) throw new Error(`encodeObservationBatch: one app per batch (got '${app}' and '${o.app}')`);
    if (!metrics.has(o.metric)) metrics.set(o.metric, metrics.size);
    if (o.time < baseTime) baseTime = o.time;
  }
  const w = new Writer(32 + observations.length * 12);
  w.byte(MAGIC);
  w.byte(VERSION);
  w.string(app);
  w.float64(baseTime);
  w.varint(metrics.size);
  for (const name of metrics.keys()) w.string(name);
  w.varint(observations.length);
  for (const o of observations) {
    w.varint(metrics.get(o.metric)!);
    w.zigzag(o.time - baseTime);
    w.float64(o.value);
  }
  return w.finish();
}

/** Options for decoding. */
export interface DecodeOptions {
  policy?: ValidationPolicy;
  /** Current time for the event-time checks, epoch ms. */
  now?: number;
  /** The Kafka message key; every observation's app must equal it when present. */
  key?: string | null;
}

/**
 * Decodes and validates one Kafka message. A message that cannot be read at all is `ok: false`;
 * otherwise each observation is either valid or listed in `invalid` with its reason.
 */
export function decodeObservations(bytes: Buffer | null, opts: DecodeOptions = {}): DecodeResult {
  const policy = opts.policy ?? DEFAULT_VALIDATION_POLICY;
  const now = opts.now ?? Date.now();
  if (bytes === null || bytes.length === 0) return { ok: false, reason: 'empty message' };
  let raw: { app: unknown; metric: unknown; value: unknown; time: unknown }[];
  if (bytes[0] === MAGIC) {
    const parsed = parseBinary(bytes, policy);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    raw = parsed;
  } else if (bytes[0] === 0x7b /* { */ || bytes[0] === 0x5b /* [ */) {
    const parsed = parseJson(bytes, policy);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    raw = parsed;
  } else {
    return { ok: false, reason: `unknown format (first byte 0x${bytes[0]!.toString(16).padStart(2, '0')}; expected a binary batch or JSON)` };
  }
  const observations: Observation[] = [];
  const invalid: InvalidObservation[] = [];
  // A message names few apps and metrics (a binary batch: one app and a dictionary), so their
  // checks are made once per name, not once per observation; the outcome is the same.
  const names = new Map<unknown, Map<unknown, { problem: string | undefined; nonNegative: boolean }>>();
  const namesOf = (app: unknown, metric: unknown): { problem: string | undefined; nonNegative: boolean } => {
    let byMetric = names.get(app);
    if (!byMetric) names.set(app, (byMetric = new Map()));
    let c = byMetric.get(metric);
    if (!c) {
      const problem = checkApp(app, policy) ?? checkMetric(metric, policy);
      byMetric.set(metric, (c = { problem, nonNegative: problem === undefined && isNonNegativeMetric(metric as string) }));
    }
    return c;
  };
  raw.forEach((o, index) => {
    const n = namesOf(o.app, o.metric);
    let reason = n.problem ?? checkValueAndTime(o, n.nonNegative, policy, now);
    if (!reason && opts.key != null && o.app !== opts.key) reason = `app '${String(o.app)}' does not match the message key '${opts.key}'`;
    if (reason) invalid.push({ index, reason });
    else observations.push({ app: o.app as string, metric: o.metric as string, value: o.value as number, time: o.time as number });
  });
  return { ok: true, observations, invalid };
}

function parseBinary(bytes: Buffer, policy: ValidationPolicy): { app: unknown; metric: unknown; value: unknown; time: unknown }[] | string {
  try {
    const r = new Reader(bytes);
    r.byte();
    const version = r.byte();
    if (version !== VERSION) return `unsupported binary batch version ${version} (this build reads version ${VERSION})`;
    const app = r.string(policy.maxAppLength * 4);
    const appProblem = checkApp(app, policy);
    if (appProblem) return appProblem;
    const baseTime = r.float64();
    if (!Number.isFinite(baseTime)) return 'base time is not a finite number';
    const metricCount = r.varint();
    if (metricCount > policy.maxObservationsPerMessage) return `dictionary of ${metricCount} metrics is larger than the message limit`;
    const metrics: string[] = [];
    for (let i = 0; i < metricCount; i++) metrics.push(r.string(policy.maxMetricLength * 4));
    const count = r.varint();
    if (count === 0) return 'batch holds no observations';
    if (count > policy.maxObservationsPerMessage) return `batch holds ${count} observations, more than ${policy.maxObservationsPerMessage}`;
    const out: { app: unknown; metric: unknown; value: unknown; time: unknown }[] = [];
    for (let i = 0; i < count; i++) {
      const idx = r.varint();
      const metric = metrics[idx];
      if (metric === undefined) return `observation ${i} names metric #${idx}, but the dictionary has ${metrics.length}`;
      const time = baseTime + r.zigzag();
      const value = r.float64();
      out.push({ app, metric, value, time });
    }
    if (!r.atEnd()) return `${bytes.length - r.offset} unexpected bytes after the last observation`;
    return out;
  } catch (err) {
    return err instanceof TruncatedError ? `truncated binary batch (${err.message})` : `unreadable binary batch: ${(err as Error).message}`;
  }
}

function parseJson(bytes: Buffer, policy: ValidationPolicy): { app: unknown; metric: unknown; value: unknown; time: unknown }[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return `invalid JSON: ${(err as Error).message}`;
  }
  const items = Array.isArray(doc) ? doc : [doc];
  if (items.length === 0) return 'JSON array holds no observations';
  if (items.length > policy.maxObservationsPerMessage) return `message holds ${items.length} observations, more than ${policy.maxObservationsPerMessage}`;
  return items.map((item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return { app: item, metric: undefined, value: undefined, time: undefined };
    const o = item as Record<string, unknown>;
    let time = o.time;
    if (typeof time === 'string') {
      const parsed = Date.parse(time);
      time = Number.isNaN(parsed) ? time : parsed;
    }
    return { app: o.app, metric: o.metric, value: o.value, time };
  });
}

class TruncatedError extends Error {}

class Writer {
  private buf: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`varint out of range: ${n}`);
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }
  zigzag(n: number): void {
    if (!Number.isSafeInteger(n)) throw new Error(`time offset is not a whole number: ${n}`);
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  float64(x: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(x, this.pos);
    this.pos += 8;
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number, what: string): void {
    if (this.offset + n > this.buf.length) throw new TruncatedError(`needed ${n} more byte(s) for ${what} at offset ${this.offset}`);
  }
  byte(): number {
    this.need(1, 'a byte');
    return this.buf[this.offset++]!;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 0x80;
    }
    throw new Error(`varint longer than 8 bytes at offset ${this.offset}`);
  }
  zigzag(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }
  float64(): number {
    this.need(8, 'a float64');
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }
  string(maxBytes: number): string {
    const len = this.varint();
    if (len > maxBytes) throw new Error(`string of ${len} bytes is longer than ${maxBytes}`);
    this.need(len, 'a string');
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }
  atEnd(): boolean {
    return this.offset === this.buf.length;
  }
}
