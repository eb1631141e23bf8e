import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceNotFoundException, type QueryCommand } from '@aws-sdk/client-dynamodb';
import { ApplicationFailure } from '@temporalio/activity';
import { auditItem } from '../../../audit/audit-log.js';
import { ActivityFailureType } from '../../../contract/index.js';
import type { ActivityDeps } from '../../../activities/activity-deps.js';
import { createMigrationActivities } from '../../../activities/index.js';
import { createAuditActivities } from '../../../activities/audit-activities.js';
import { P99_OVER_LARGEST_BUCKET_MS, toScienceFigures } from '../../../activities/science-activities.js';
import { summarizeScience } from '../../../pipeline/kernel/science/science-stats-reader.js';
import {
  LATENCY_BUCKET_COUNT,
  LATENCY_OVERFLOW_BUCKET,
  latencyBucket,
  latencyBucketRange,
  STATS_COUNTERS,
} from '../../../pipeline/kernel/science/control-tables.js';

describe('migration activities (no services)', () => {
  it('maps a science summary to the figures the gates use; a p99 over the largest bucket stays a number', () => {
    const counters = Object.fromEntries(STATS_COUNTERS.map((c) => [c, 0])) as Record<(typeof STATS_COUNTERS)[number], number>;
    Object.assign(counters, {
      comparisons: 200,
      mismatches: 3,
      servedOld: 150,
      servedNew: 50,
      queries: 190,
      candidateErrors: 2,
      candidateTimeouts: 1,
      newStoreErrors: 1,
    });
    const hist = (bucket: number): number[] => Array.from({ length: LATENCY_BUCKET_COUNT }, (_, i) => (i === bucket ? 10 : 0));
    const summary = summarizeScience([{ minute: 0, counters, latency: { old: hist(latencyBucket(5)), new: hist(LATENCY_OVERFLOW_BUCKET) } }], 0, 0);
    const five = latencyBucketRange(latencyBucket(5));
    const figures = toScienceFigures(summary, 600_000);
    assert.deepEqual(figures, {
      windowMs: 600_000,
      comparisons: 200,
      mismatches: 3,
      mismatchRate: 3 / 200,
      newStoreErrorRate: (2 + 1 + 1) / (200 + 2 + 1 + 50),
      servedOld: 150,
      servedNew: 50,
      queries: 190,
      splitQueries: 0,
      unjudged: 0,
      freshSplits: 0,
      newStoreReads: 200 + 2 + 1 + 50,
      candidateErrors: 2,
      candidateTimeouts: 1,
      p99OldMs: (five.lowerMs + five.upperMs) / 2,
      p99NewMs: P99_OVER_LARGEST_BUCKET_MS,
    });
    // What Temporal's JSON payload converter would carry: no Infinity turned into null.
    assert.equal(JSON.parse(JSON.stringify(figures)).p99NewMs, P99_OVER_LARGEST_BUCKET_MS);
    assert.equal(toScienceFigures(summarizeScience([], 0, 0), 1).p99OldMs, null);
  });

  it('rejects bad input with non-retryable failures before touching any service', async () => {
    // Clients that throw if used: validation must come first.
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('a client was used');
        },
      },
    );
    const deps = {
      kafka: untouchable,
      producer: untouchable,
      dynamo: untouchable,
      cassandra: untouchable,
      temporal: untouchable,
    } as unknown as ActivityDeps;
    const a = createMigrationActivities(deps);
    const invalid = (err: unknown): boolean => err instanceof ApplicationFailure && err.nonRetryable === true && err.type === ActivityFailureType.invalidInput;
    await assert.rejects(a.publishControl({ env: 'Prod!', transitionId: 't', patch: {}, actor: 'a', reason: 'r', ackTimeoutMs: 1000 }), invalid);
    await assert.rejects(a.publishControl({ env: 'test', transitionId: '', patch: {}, actor: 'a', reason: 'r', ackTimeoutMs: 1000 }), invalid);
    await assert.rejects(a.publishControl({ env: 'test', transitionId: 't', patch: {}, actor: 'a', reason: 'r', ackTimeoutMs: 0 }), invalid);
    await assert.rejects(a.readScience({ env: 'test', windowMs: 0 }), invalid);
    await assert.rejects(a.verifyOldStoreAgedOut({ env: 'test', horizon: Number.NaN }), invalid);
    await assert.rejects(a.checkWriters({ env: '' }), invalid);
    await assert.rejects(a.environmentStage({ env: 'UPPER' }), invalid);
    await assert.rejects(a.lastAuditSeq({ env: 'Bad!' }), invalid);
    assert.deepEqual(await a.decommissionOldStore({ env: 'test', keepTables: true }), { dropped: false }, 'keeping the tables needs no service');
  });

  it('lastAuditSeq reads the newest audit entry of the env: its seq, 0 when none or no table', async () => {
    const entry = {
      env: 'test',
      seq: 41,
      at: 1_700_000_000_000,
      actor: 'alice',
      action: 'advance',
      from: 'science',
      to: 'cutover',
      reason: 'r',
      evidence: {},
      workflowId: 'w',
      runId: 'r1',
      controlVersion: 7,
    };
    const queries: QueryCommand['input'][] = [];
    const withAnswer = (answer: () => Promise<unknown>): ReturnType<typeof createAuditActivities> =>
      createAuditActivities({
        dynamo: { send: async (cmd: QueryCommand) => (queries.push(cmd.input), answer()) },
        logger: undefined,
      } as unknown as ActivityDeps);
    assert.deepEqual(await withAnswer(async () => ({ Items: [auditItem(entry)] })).lastAuditSeq({ env: 'test' }), { seq: 41 });
    assert.equal(queries[0]?.ScanIndexForward, false, 'newest first');
    assert.deepEqual(queries[0]?.ExpressionAttributeValues?.[':env'], { S: 'test' });
    assert.deepEqual(await withAnswer(async () => ({ Items: [] })).lastAuditSeq({ env: 'test' }), { seq: 0 });
    const missing = new ResourceNotFoundException({ message: 'no table', $metadata: {} });
    assert.deepEqual(
      await withAnswer(async () => {
        throw missing;
      }).lastAuditSeq({ env: 'test' }),
      { seq: 0 },
    );
  });
});
