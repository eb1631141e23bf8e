/**
 * Sends observations to `<env>.observations` at a target rate, packing each app's observations
 * into binary batches (one Kafka message per app per flush, keyed by app).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CompressionTypes, type Producer } from 'kafkajs';
import { encodeObservationBatch } from '../../pipeline/kernel/codec/observation-codec.js';
import type { Observation } from '../../pipeline/kernel/model/observation.js';

/** Options of a send run. */
export interface SendOptions {
  topic: string;
  /** Target observations per second (0 = as fast as possible). */
  ratePerSec: number;
  /** Observations buffered before a flush. */
  flushEvery?: number;
  /** Called about once a second with the running totals. */
  onProgress?: (p: SendProgress) => void;
  /** Stops early when it returns true. */
  shouldStop?: () => boolean;
}

/** Running totals of a send run. */
export interface SendProgress {
  observations: number;
  messages: number;
  bytes: number;
  elapsedMs: number;
}

/** Sends every observation of the iterable; resolves with the totals once all are acknowledged. */
export async function sendObservations(producer: Producer, observations: Iterable<Observation>, opts: SendOptions): Promise<SendProgress> {
  const flushEvery = opts.flushEvery ?? 2000;
  const started = Date.now();
  const totals: SendProgress = { observations: 0, messages: 0, bytes: 0, elapsedMs: 0 };
  let lastProgress = started;
  let buffered: Observation[] = [];

  const flush = async (): Promise<void> => {
    if (buffered.length === 0) return;
    const byApp = new Map<string, Observation[]>();
    for (const o of buffered) {
      let list = byApp.get(o.app);
      if (!list) byApp.set(o.app, (list = []));
      list.push(o);
    }
    const messages = [...byApp].map(([app, list]) => ({ key: app, value: encodeObservationBatch(list) }));
    await producer.send({ topic: opts.topic, messages, acks: -1, compression: CompressionTypes.GZIP });
    totals.observations += buffered.length;
    totals.messages += messages.length;
    totals.bytes += messages.reduce((n, m) => n + m.value.length, 0);
    buffered = [];
    if (opts.ratePerSec > 0) {
      const due = started + (totals.observations / opts.ratePerSec) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const now = Date.now();
    totals.elapsedMs = now - started;
    if (opts.onProgress && now - lastProgress >= 1000) {
      lastProgress = now;
      opts.onProgress({ ...totals });
    }
  };

  // With a target rate, flush often enough that sends are smooth (about 10 a second).
  const chunk = opts.ratePerSec > 0 ? Math.max(1, Math.min(flushEvery, Math.ceil(opts.ratePerSec / 10))) : flushEvery;
  for (const o of observations) {
    if (opts.shouldStop?.()) break;
    buffered.push(o);
    if (buffered.length >= chunk) await flush();
  }
  await flush();
  totals.elapsedMs = Date.now() - started;
  return totals;
}
