import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATENCY_BUCKET_COUNT, STATS_COUNTERS, type StatsCounter } from '../../../../pipeline/kernel/science/control-tables.js';
import { summarizeScience } from '../../../../pipeline/clients/science-stats-reader.js';

const zeros = (): Record<StatsCounter, number> => Object.fromEntries(STATS_COUNTERS.map((c) => [c, 0])) as Record<StatsCounter, number>;
const hist = (): number[] => new Array<number>(LATENCY_BUCKET_COUNT).fill(0);

describe('science summary', () => {
  it('counts the new store\u2019s failures in the new-store error rate, and the old store\u2019s shadow failures apart', () => {
    const counters = { ...zeros(), comparisons: 80, servedNew: 100, candidateTimeouts: 5, newStoreErrors: 5, oldShadowTimeouts: 40, oldShadowErrors: 10 };
    const s = summarizeScience([{ minute: 0, counters, latency: { old: hist(), new: hist() } }], 0, 0);
    // (5 candidate timeouts + 5 served errors) / (80 comparisons + 5 timeouts + 100 served by the new store)
    assert.equal(s.newStoreErrorRate, 10 / 185);
    assert.equal(s.counters.oldShadowTimeouts, 40);
    assert.equal(s.counters.oldShadowErrors, 10);
  });
});
