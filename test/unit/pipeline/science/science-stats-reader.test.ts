import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATENCY_BUCKET_COUNT, STATS_COUNTERS, type StatsCounter } from '../../../../pipeline/kernel/science/control-tables.js';
import { summarizeScience } from '../../../../pipeline/kernel/science/science-stats-reader.js';

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

describe('science windows to the 10-second slot', () => {
  const MINUTE = 60_000;
  const slotted = (minute: number, perSlot: Partial<Record<StatsCounter, number[]>>) => {
    const slots = Object.fromEntries(STATS_COUNTERS.map((c) => [c, perSlot[c] ?? [0, 0, 0, 0, 0, 0]])) as Record<StatsCounter, number[]>;
    const counters = Object.fromEntries(STATS_COUNTERS.map((c) => [c, slots[c].reduce((a, b) => a + b, 0)])) as Record<StatsCounter, number>;
    return { minute, counters, slots, latency: { old: hist(), new: hist() } };
  };

  it('counts only the slots of the first minute that begin at or after the window start', () => {
    const rows = [
      // 12:00: mismatches early in the minute (before the window), clean comparisons later
      slotted(0, { comparisons: [10, 10, 10, 10, 10, 10], mismatches: [9, 9, 0, 0, 0, 0] }),
      slotted(MINUTE, { comparisons: [5, 5, 0, 0, 0, 0], mismatches: [0, 1, 0, 0, 0, 0] }),
    ];
    // A window from 00:25 (slot 3 of the first minute is the first that begins at or after it)
    const s = summarizeScience(rows, 0, MINUTE, 25_000);
    assert.equal(s.counters.comparisons, 30 + 10);
    assert.equal(s.counters.mismatches, 1);
    assert.equal(s.mismatchRate, 1 / 40);
    // Without a window start every row counts whole.
    assert.equal(summarizeScience(rows, 0, MINUTE).counters.mismatches, 19);
  });

  it('counts a row written before the slots existed whole', () => {
    const counters = { ...zeros(), comparisons: 60, mismatches: 6 };
    const s = summarizeScience([{ minute: 0, counters, latency: { old: hist(), new: hist() } }], 0, 0, 30_000);
    assert.equal(s.counters.comparisons, 60);
  });

  it('divides the new store\u2019s failures by the new-store reads attempted, each counted once', () => {
    // cutover: 100 served by the new store (also compared against the old store), 5 of them failed
    const counters = { ...zeros(), comparisons: 95, servedNew: 95, newStoreErrors: 5, newReads: 100 };
    const s = summarizeScience([{ minute: 0, counters, latency: { old: hist(), new: hist() } }], 0, 0);
    assert.equal(s.newStoreErrorRate, 5 / 100);
  });
});
