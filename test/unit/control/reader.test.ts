import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { CONTROL_PUBLISHER_HEADER, initialControlState, type ControlState } from '../../../control/index.js';
import { readControlRecord } from '../../../control/reader.js';

// What every end of the control channel (an instance's subscriber, the publisher's reads, the
// console's observer) takes from a control-topic record: one rule, so the console shows the state
// the instances apply and the control plane builds on it.
const state = (env: string, version: number): ControlState => ({ ...initialControlState(env, 86_400_000), version, reason: `v${version}` });
const record = (key: string | null, value: Buffer | null, headers: KafkaMessage['headers'] = {}): KafkaMessage =>
  ({ key: key === null ? null : Buffer.from(key), value, offset: '7', timestamp: '0', attributes: 0, headers }) as KafkaMessage;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('a control-topic record, as every reader sees it', () => {
  it('takes a valid state filed under its own env, with the publisher its header names', () => {
    const r = readControlRecord(record('staging', json(state('staging', 3)), { [CONTROL_PUBLISHER_HEADER]: Buffer.from('worker-1/pid 42') }));
    assert.equal(r.kind, 'state');
    assert.ok(r.kind === 'state');
    assert.equal(r.state.version, 3);
    assert.equal(r.publisher, 'worker-1/pid 42');
    assert.equal(r.offset, '7');
    const anonymous = readControlRecord(record('staging', json(state('staging', 4))));
    assert.ok(anonymous.kind === 'state');
    assert.equal(anonymous.publisher, 'unknown (no publisher header)');
  });

  it('refuses a state filed under another key, or under none, saying whose it is', () => {
    for (const key of ['production', null]) {
      const r = readControlRecord(record(key, json(state('staging', 9))));
      assert.equal(r.kind, 'invalid', String(key));
      assert.ok(r.kind === 'invalid');
      assert.equal(r.stateEnv, 'staging');
      assert.match(r.reason, /not its env staging/);
    }
  });

  it('refuses what is not a state, naming the problem, and never throws', () => {
    const notJson = readControlRecord(record('staging', Buffer.from('{oops')));
    assert.ok(notJson.kind === 'invalid');
    assert.match(notJson.reason, /invalid JSON/);
    assert.equal(notJson.stateEnv, undefined);
    const outOfRange = readControlRecord(record('staging', json({ ...state('staging', 2), sciencePercent: 150 })));
    assert.ok(outOfRange.kind === 'invalid');
    assert.match(outOfRange.reason, /sciencePercent/);
  });

  it('tells a tombstone apart: it changes no state', () => {
    assert.deepEqual(readControlRecord(record('staging', null)), { kind: 'tombstone', key: 'staging', offset: '7' });
  });
});
