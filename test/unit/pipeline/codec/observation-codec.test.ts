import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeObservations, encodeObservationBatch } from '../../../../pipeline/kernel/codec/observation-codec.js';
import type { Observation } from '../../../../pipeline/kernel/model/observation.js';

const NOW = Date.parse('2026-11-26T10:00:00Z');
const obs = (o: Partial<Observation> = {}): Observation => ({ app: 'app-1', metric: 'router.service_ms', value: 12.5, time: NOW - 1000, ...o });

describe('observation codec', () => {
  it('round-trips a binary batch exactly, with several metrics and out-of-order times', () => {
    const batch = [
      obs(),
      obs({ metric: 'router.connect_ms', value: 0.125, time: NOW - 5000 }),
      obs({ value: 1e-9, time: NOW }),
      obs({ value: 123456.789012345, time: NOW - 61_000 }),
    ];
    const bytes = encodeObservationBatch(batch);
    const out = decodeObservations(bytes, { now: NOW, key: 'app-1' });
    assert.ok(out.ok);
    assert.deepEqual(out.observations, batch);
    assert.deepEqual(out.invalid, []);
  });

  it('keeps a realistic batch near 11 bytes an observation', () => {
    const batch = Array.from({ length: 500 }, (_, i) => obs({ value: 10 + i / 7, time: NOW - 60_000 + i * 100 }));
    const bytes = encodeObservationBatch(batch);
    assert.ok(bytes.length / batch.length < 12.5, `${bytes.length / batch.length} bytes per observation`);
  });

  it('accepts JSON objects and arrays, with ISO or epoch times', () => {
    const one = decodeObservations(
      Buffer.from(JSON.stringify({ app: 'app-1', metric: 'router.service_ms', value: 3, time: new Date(NOW - 10).toISOString() })),
      { now: NOW },
    );
    assert.ok(one.ok);
    assert.deepEqual(one.observations, [obs({ value: 3, time: NOW - 10 })]);
    const many = decodeObservations(Buffer.from(JSON.stringify([obs(), obs({ value: 4 })])), { now: NOW });
    assert.ok(many.ok);
    assert.equal(many.observations.length, 2);
  });

  it('refuses unreadable messages as a whole, with a reason', () => {
    const cases: [Buffer | null, RegExp][] = [
      [null, /empty message/],
      [Buffer.from([0x00, 0x01, 0x02]), /unknown format/],
      [Buffer.from('{not json'), /invalid JSON/],
      [encodeObservationBatch([obs()]).subarray(0, 12), /truncated binary batch/],
      [Buffer.concat([encodeObservationBatch([obs()]), Buffer.from([1, 2, 3])]), /unexpected bytes/],
      [Buffer.from([0xb5, 0x09]), /unsupported binary batch version 9/],
    ];
    for (const [bytes, reason] of cases) {
      const out = decodeObservations(bytes, { now: NOW });
      assert.equal(out.ok, false, String(reason));
      if (!out.ok) assert.match(out.reason, reason);
    }
  });

  it('lists each invalid observation with its reason and keeps the valid ones', () => {
    const items = [
      obs(),
      { ...obs(), value: 'fast' },
      { ...obs(), value: null },
      obs({ value: Number.NaN }),
      obs({ value: -5 }),
      obs({ metric: 'router.temperature', value: -5 }),
      obs({ time: NOW + 10 * 60_000 }),
      obs({ time: NOW - 3 * 86_400_000 }),
      obs({ app: 'x'.repeat(200) }),
      obs({ app: 'bad#app' }),
      obs({ metric: 'Router Service' }),
      42,
    ];
    // NaN cannot travel in JSON, so send that one through the binary format.
    const out = decodeObservations(Buffer.from(JSON.stringify(items)), { now: NOW });
    assert.ok(out.ok);
    assert.deepEqual(out.observations, [obs(), obs({ metric: 'router.temperature', value: -5 })]);
    const reasons = Object.fromEntries(out.invalid.map((i) => [i.index, i.reason]));
    assert.match(reasons[1]!, /value must be a number, got string/);
    assert.match(reasons[2]!, /value must be a number, got null/);
    assert.match(reasons[3]!, /value must be a number, got null/, 'NaN becomes null in JSON');
    assert.match(reasons[4]!, /negative, but router.service_ms is a duration/);
    assert.match(reasons[6]!, /in the future/);
    assert.match(reasons[7]!, /in the past/);
    assert.match(reasons[8]!, /more than 128/);
    assert.match(reasons[9]!, /characters other than/);
    assert.match(reasons[10]!, /dotted lower-case/);
    assert.match(reasons[11]!, /app must be a string, got number/);
    const bin = decodeObservations(encodeObservationBatch([obs({ value: Number.NaN }), obs({ value: Number.POSITIVE_INFINITY }), obs()]), { now: NOW });
    assert.ok(bin.ok);
    assert.deepEqual(
      bin.invalid.map((i) => i.reason),
      ['value is NaN', 'value is infinite'],
    );
    assert.equal(bin.observations.length, 1);
  });

  it('refuses observations whose app does not match the message key', () => {
    const out = decodeObservations(encodeObservationBatch([obs()]), { now: NOW, key: 'app-2' });
    assert.ok(out.ok);
    assert.equal(out.observations.length, 0);
    assert.match(out.invalid[0]!.reason, /does not match the message key 'app-2'/);
  });
});
