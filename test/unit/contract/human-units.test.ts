import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  auditChangeText,
  evidenceFacts,
  formatCount,
  formatDurationWords,
  formatEta,
  formatPercent,
  formatSampledRate,
  formatUtc,
  humanizeTimes,
  refusalWords,
} from '../../../contract/index.js';

// The units a person reads in the console, the notifications, the CLI and the exports.

describe('human units', () => {
  it('says times as UTC date-times, shares as percents, durations and estimates in words', () => {
    assert.equal(formatUtc(Date.UTC(2026, 11, 5, 14, 3, 7)), '2026-12-05 14:03:07 UTC');
    assert.equal(formatUtc(null), '–');
    assert.deepEqual([0, 0.125, 1, 0.001, 0.0005, 0.05].map(formatPercent), ['0%', '12.5%', '100%', '0.1%', '0.05%', '5%']);
    assert.equal(formatCount(1796575), '1,796,575');
    assert.deepEqual([250, 45_000, 200_000, 3_600_000 + 20_000, 7 * 86_400_000 + 3 * 3_600_000].map(formatDurationWords), [
      '250 ms',
      '45 s',
      '3 min 20 s',
      '1 h',
      '7 days 3 h',
    ]);
    // Coarse, so an estimate does not jump between refreshes (34 s and 42 s read the same).
    assert.equal(formatEta(34_000), formatEta(42_000));
    assert.equal(formatEta(3 * 60_000 + 10_000), 'about 3 min');
  });

  it("says the workflow's ISO times the way the console says times", () => {
    assert.equal(
      humanizeTimes('old data ages out at 2026-12-06T19:26:05.000Z (H 2026-12-06T19:24:00.000Z + retention 2m); verify 2026-12-05T14:03Z .. 2026-12-05T15:59Z'),
      'old data ages out at 2026-12-06 19:26:05 UTC (H 2026-12-06 19:24:00 UTC + retention 2m); verify 2026-12-05 14:03 UTC .. 2026-12-05 15:59 UTC',
    );
  });

  it('never judges a rate on too small a sample, and never calls an empty window good news', () => {
    assert.equal(formatSampledRate(5, 8, 20), 'not enough comparisons to judge (8 of 20 needed)');
    assert.equal(formatSampledRate(0, 0, 20), 'no comparisons yet');
    assert.equal(formatSampledRate(3, 1200, 20), '0.25% of 1,200 comparisons');
  });

  it('says evidence with labels and units: no epoch numbers, no bare fractions, ramps as percents and the fault switch as a share', () => {
    const facts = evidenceFacts({
      gate: { name: 'ttl_wait->decommission', evidence: { now: 1_796_575_661_109, bakeMs: 120_000 } },
      newStoreShare: 1,
      minNewStoreShare: 0.8,
      mismatchRate: 0.125,
      comparisons: 8,
      somethingAt: 1_796_575_661_109,
    });
    const text = facts.map((f) => `${f.label} ${f.text}`).join(' | ');
    assert.doesNotMatch(text, /1,?796,?575/, text);
    assert.match(text, /gate: evaluated at 2026-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.match(text, /gate: bake time 2 min/);
    assert.match(text, /share of queries the new store served 100%/);
    assert.match(text, /share needed 80%/);
    assert.match(text, /mismatch rate 12\.5%/);
    assert.equal(
      evidenceFacts({ from: 5, to: 25 }, { action: 'auto_ramp' })
        .map((f) => f.text)
        .join(' → '),
      '5% → 25%',
    );
    assert.equal(
      evidenceFacts({ from: 0, to: 0.5 }, { action: 'set_fault' })
        .map((f) => f.text)
        .join(' → '),
      '0% → 50%',
    );
  });

  it('says what an audit entry changed, a ramp step with its percents rather than "science → science"', () => {
    const e = (action: string, from: string, to: string, evidence: Record<string, unknown>) => ({ action, from, to, evidence });
    assert.equal(auditChangeText(e('auto_ramp', 'science', 'science', { from: 1, to: 5 })), 'science 1% → 5%');
    assert.equal(auditChangeText(e('advance', 'science', 'cutover', {})), 'science → cutover');
    assert.equal(auditChangeText(e('automatic_rollback', 'cutover', 'cutover', { ramp: 50 })), 'cutover 50% → 0%');
    assert.equal(auditChangeText(e('set_fault', 'cutover', 'cutover', { from: null, to: 0.5 })), 'cutover: fault switch off → 50%');
  });

  it("says the workflow's refusal in the words of the surface (the CLI's flag, the console's checkbox)", () => {
    const m =
      'promotion order: staging may not enter dual_write before test has (test is not started); to override, repeat with overridePromotionOrder and a reason';
    assert.match(refusalWords(m, 'cli'), /repeat with --override-promotion-order and a --reason$/);
    assert.match(refusalWords(m, 'console'), /tick “override promotion order”/);
  });
});
