import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { measureGroupLag } from '../../../../pipeline/kernel/observability/writer-lag.js';

/**
 * A topic of one partition whose record i was written at `times[i]`, and a group committed at
 * `committed` (-1: never), behind the Admin calls measureGroupLag makes.
 */
function fakeAdmin(topic: string, times: number[], committed: number, calls: string[] = []): Admin {
  const admin = {
    listTopics: async () => {
      calls.push('listTopics');
      return [topic];
    },
    fetchTopicOffsets: async () => [{ partition: 0, offset: String(times.length), high: String(times.length), low: '0' }],
    fetchOffsets: async () => [{ topic, partitions: [{ partition: 0, offset: String(committed), metadata: null }] }],
    // The earliest offset whose timestamp is at or after t (the end offset when none is).
    fetchTopicOffsetsByTimestamp: async (_t: string, at?: number) => {
      calls.push('byTimestamp');
      const i = times.findIndex((x) => x >= (at ?? 0));
      return [{ partition: 0, offset: String(i < 0 ? times.length : i) }];
    },
  };
  return admin as unknown as Admin;
}

describe('writer lag in time', () => {
  const now = 1_800_000_000_000;
  const times = Array.from({ length: 60 }, (_, i) => now - 60_000 + i * 1_000); // one record a second for the last minute

  it('is the age of the oldest record the group has not committed, to the resolution', async () => {
    const lag = await measureGroupLag(fakeAdmin('m', times, 26), 'm', 'g', { now, resolutionMs: 250 });
    assert.equal(lag.messages, 34);
    assert.equal(lag.laggingPartitions, 1);
    assert.ok(Math.abs(lag.behindMs - 34_000) <= 250, `behind ${lag.behindMs} ms, about 34 s`);
  });

  it('is 0 when the group has committed everything, without looking anything up by time', async () => {
    const calls: string[] = [];
    const lag = await measureGroupLag(fakeAdmin('m', times, 60, calls), 'm', 'g', { now });
    assert.deepEqual(lag, { messages: 0, behindMs: 0, laggingPartitions: 0 });
    assert.equal(calls.filter((c) => c === 'byTimestamp').length, 0);
  });

  it('says at once that a topic does not exist, instead of waiting on the client retrying its metadata', async () => {
    const admin = fakeAdmin('other', times, 0);
    await assert.rejects(measureGroupLag(admin, 'test.metrics', 'g', { now }), /topic test\.metrics does not exist/);
  });
});
