import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkTopicMessages, MAX_SEND_BYTES } from '../../../pipeline/kernel/topics.js';

describe('chunkTopicMessages', () => {
  const msg = (i: number, bytes: number) => ({ key: `k${i}`, value: Buffer.alloc(bytes, i % 256) });

  it('splits a large flush into sends below the limit, keeping the order within each topic', () => {
    // 8 000 points of about 200 bytes: 1.6 MB in one partition, over the broker's 1 MiB default.
    const points = Array.from({ length: 8000 }, (_, i) => msg(i, 200));
    const dlq = Array.from({ length: 10 }, (_, i) => msg(i, 1000));
    const sends = chunkTopicMessages([
      { topic: 'm', messages: points },
      { topic: 'd', messages: dlq },
    ]);
    assert.ok(sends.length >= 4, `${sends.length} sends`);
    for (const s of sends) {
      const bytes = s.flatMap((t) => t.messages).reduce((n, m) => n + 64 + String(m.key).length + (m.value as Buffer).length, 0);
      assert.ok(bytes <= MAX_SEND_BYTES, `a send of ${bytes} bytes`);
    }
    const flat = (topic: string) => sends.flatMap((s) => s.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => m.key)));
    assert.deepEqual(
      flat('m'),
      points.map((m) => m.key),
    );
    assert.deepEqual(
      flat('d'),
      dlq.map((m) => m.key),
    );
  });

  it('keeps a small flush in one send, and sends a single oversized message alone', () => {
    assert.equal(chunkTopicMessages([{ topic: 'm', messages: [msg(1, 10), msg(2, 10)] }]).length, 1);
    assert.deepEqual(chunkTopicMessages([]), []);
    const big = chunkTopicMessages([{ topic: 'm', messages: [msg(1, 10), msg(2, MAX_SEND_BYTES), msg(3, 10)] }], MAX_SEND_BYTES);
    assert.deepEqual(
      big.map((s) => s.flatMap((t) => t.messages.map((m) => m.key))),
      [['k1'], ['k2'], ['k3']],
    );
  });
});
