import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ScienceRecorder } from '../../../../pipeline/jobs/query/science-recorder.js';

/** A DynamoDB client that keeps the science-stats updates it is sent, as attribute name -> amount added. */
function fakeDynamo(): { client: DynamoDBClient; added: Map<string, number> } {
  const added = new Map<string, number>();
  const client = {
    send: async (cmd: unknown) => {
      if (cmd instanceof UpdateItemCommand) {
        const input = cmd.input;
        const names = input.ExpressionAttributeNames ?? {};
        const values = input.ExpressionAttributeValues ?? {};
        for (const [, nameRef, valueRef] of (input.UpdateExpression ?? '').matchAll(/(#c\d+) (:v\d+)/g)) {
          const name = names[nameRef!]!;
          added.set(name, (added.get(name) ?? 0) + Number(values[valueRef!]!.N));
        }
      }
      return {};
    },
  } as unknown as DynamoDBClient;
  return { client, added };
}

describe('science recorder', () => {
  it('counts each counter in its minute and in the 10-second slot it happened in', async () => {
    const { client, added } = fakeDynamo();
    let now = 120_000 + 25_000; // 00:02:25, slot 2
    const rec = new ScienceRecorder({ dynamo: client, instanceId: 'q1', now: () => now });
    rec.recordComparison('e', { app: 'a', metric: 'm', from: 0, to: 0 }, { compared: 1, matched: 1, mismatches: [] });
    now = 120_000 + 55_000; // slot 5
    rec.recordComparison('e', { app: 'a', metric: 'm', from: 0, to: 0 }, { compared: 1, matched: 1, mismatches: [] });
    await rec.flush();
    assert.equal(added.get('comparisons'), 2);
    assert.equal(added.get('comparisons_s2'), 1);
    assert.equal(added.get('comparisons_s5'), 1);
    assert.equal(added.get('matches_s5'), 1);
  });

  it('counts every new-store read attempted once: served, science candidates, and failures', async () => {
    const { client, added } = fakeDynamo();
    const rec = new ScienceRecorder({ dynamo: client, instanceId: 'q1', now: () => 0 });
    rec.recordServed('e', 'new', 3); // cutover: served by the new store
    rec.recordShadowLatency('e', 'new', 4); // science: the candidate read of the new store returned
    rec.recordShadowLatency('e', 'old', 4); // cutover: the old store's shadow read is not a new-store read
    rec.recordCandidateFailure('e', 'timeout'); // science: the candidate timed out
    rec.recordCandidateFailure('e', 'error', 'old'); // cutover: the old store's shadow failed
    rec.recordNewStoreError('e'); // cutover: a served new-store read failed (answered from the old store)
    await rec.flush();
    assert.equal(added.get('newReads'), 4);
    assert.equal(added.get('newStoreErrors'), 1);
    assert.equal(added.get('candidateTimeouts'), 1);
    assert.equal(added.get('oldShadowErrors'), 1);
  });

  it('writes a mismatch or a new-store failure within the alert delay, and healthy traffic only at the interval', async () => {
    const { client, added } = fakeDynamo();
    const rec = new ScienceRecorder({ dynamo: client, instanceId: 'q1', flushIntervalMs: 60_000, alertFlushDelayMs: 50 });
    rec.start();
    try {
      rec.recordComparison('e', { app: 'a', metric: 'm', from: 0, to: 0 }, { compared: 1, matched: 1, mismatches: [] });
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(added.get('comparisons'), undefined, 'a match waits for the regular flush');
      rec.recordComparison('e', { app: 'a', metric: 'm', from: 0, to: 60_000 }, { compared: 1, matched: 0, mismatches: [{ kind: 'value_drift', minute: 0 }] });
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(added.get('comparisons'), 2, 'the mismatch brought the flush forward, with what came before it');
      assert.equal(added.get('mismatches'), 1);
      rec.recordNewStoreError('e');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(added.get('newStoreErrors'), 1);
    } finally {
      await rec.stop();
    }
  });

  it('counts a cohort\u2019s reads in the environment\u2019s row and in the cohort\u2019s own row, and keeps samples per environment', async () => {
    const rows = new Map<string, Map<string, number>>();
    const samples: string[] = [];
    const client = {
      send: async (cmd: unknown) => {
        if (cmd instanceof UpdateItemCommand) {
          const key = cmd.input.Key!.env!.S!;
          const row = rows.get(key) ?? new Map<string, number>();
          rows.set(key, row);
          const names = cmd.input.ExpressionAttributeNames ?? {};
          const values = cmd.input.ExpressionAttributeValues ?? {};
          for (const [, n, v] of (cmd.input.UpdateExpression ?? '').matchAll(/(#c\d+) (:v\d+)/g))
            row.set(names[n!]!, (row.get(names[n!]!) ?? 0) + Number(values[v!]!.N));
        } else samples.push((cmd as { input: { Item: { envMinute: { S: string } } } }).input.Item.envMinute.S);
        return {};
      },
    } as unknown as DynamoDBClient;
    const rec = new ScienceRecorder({ dynamo: client, instanceId: 'q1', now: () => 60_000 });
    rec.recordServed('e#internal', 'new', 3);
    rec.recordServed('e', 'old', 3);
    rec.recordComparison(
      'e#internal',
      { app: 'a', metric: 'm', from: 0, to: 0 },
      { compared: 1, matched: 0, mismatches: [{ minute: 0, kind: 'missing' }] as never },
    );
    await rec.flush();
    assert.equal(rows.get('e')?.get('queries'), 2, 'the environment row counts every read');
    assert.equal(rows.get('e#internal')?.get('queries'), 1, 'the cohort row counts its own');
    assert.equal(rows.get('e#internal')?.get('servedNew'), 1);
    assert.equal(rows.get('e#internal')?.get('servedOld'), undefined);
    assert.equal(rows.get('e')?.get('mismatches'), 1);
    assert.equal(rows.get('e#internal')?.get('mismatches'), 1);
    assert.deepEqual(samples, ['e#60000'], 'one sample, under the environment');
  });
});
