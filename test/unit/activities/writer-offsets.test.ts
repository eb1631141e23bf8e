import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { committedByPartition, summarizeWriterOffsets } from '../../../activities/writer-offsets.js';

describe('writer offsets', () => {
  const ends = [
    { partition: 0, low: '0', high: '100' },
    { partition: 1, low: '20', high: '50' },
    { partition: 2, low: '5', high: '5' },
  ];

  it('sums each group lag and the gap between the groups, counting an uncommitted partition from its low offset', () => {
    const oldGroup = new Map([
      [0, '100'],
      [1, '50'],
    ]);
    const newGroup = new Map([
      [0, '90'],
      [1, '-1'],
    ]);
    // old: 0 + 0 + 0; new: 10 + 30 (from low 20) + 0; gap: 10 + 30 + 0.
    assert.deepEqual(summarizeWriterOffsets(ends, oldGroup, newGroup), { cassandraLag: 0, dynamodbLag: 40, parityGap: 40 });
  });

  it('reports no gap when both groups are at the same place, however far behind', () => {
    const same = new Map([[0, '10']]);
    assert.deepEqual(summarizeWriterOffsets(ends, same, same), { cassandraLag: 90 + 30, dynamodbLag: 90 + 30, parityGap: 0 });
  });

  it('never reports negative lag', () => {
    assert.equal(summarizeWriterOffsets([{ partition: 0, low: '0', high: '10' }], new Map([[0, '12']]), new Map()).cassandraLag, 0);
  });

  it('reads kafkajs fetchOffsets output for one topic', () => {
    const fetched = [
      {
        topic: 'test.metrics',
        partitions: [
          { partition: 0, offset: '7' },
          { partition: 1, offset: '-1' },
        ],
      },
      { topic: 'other', partitions: [{ partition: 0, offset: '99' }] },
    ];
    assert.deepEqual(
      [...committedByPartition(fetched, 'test.metrics')],
      [
        [0, '7'],
        [1, '-1'],
      ],
    );
  });
});
