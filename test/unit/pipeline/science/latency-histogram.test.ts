import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LATENCY_BUCKET_COUNT,
  LATENCY_MAX_US,
  LATENCY_OVERFLOW_BUCKET,
  latencyAttribute,
  latencyBucket,
  latencyBucketRange,
  legacyLatencyAttribute,
} from '../../../../pipeline/kernel/science/control-tables.js';
import { histogramOf, p99 } from '../../../../pipeline/kernel/science/science-stats-reader.js';

describe('the log-linear latency histogram', () => {
  it('puts every latency in the bucket whose range holds it, each at most 1/8 of its value wide', () => {
    let last = -1;
    for (let us = 0; us < LATENCY_MAX_US; us = Math.max(us + 1, Math.floor(us * 1.013))) {
      const i = latencyBucket(us / 1000);
      assert.ok(i >= last, `buckets grow with the value (${us} µs)`);
      last = i;
      const { lowerMs, upperMs } = latencyBucketRange(i);
      assert.ok(lowerMs * 1000 <= us + 1e-9 && us < upperMs * 1000 - 1e-9, `${us} µs in [${lowerMs}, ${upperMs}) ms`);
      if (us >= 8) assert.ok((upperMs - lowerMs) / lowerMs <= 1 / 8 + 1e-12);
    }
    assert.equal(latencyBucket(LATENCY_MAX_US / 1000), LATENCY_OVERFLOW_BUCKET);
    assert.equal(latencyBucket(Infinity), 0, 'a non-finite latency is not a measurement: the first bucket');
    assert.equal(LATENCY_BUCKET_COUNT, LATENCY_OVERFLOW_BUCKET + 1);
  });

  it('reads a p99 back within 6.25 % of the measured value, not a bucket bound like 20 / 50 / 100 ms', () => {
    for (const ms of [0.35, 3.7, 13.2, 27.5, 64, 137, 930, 4100]) {
      const hist = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
      hist[latencyBucket(ms / 3)] = 900;
      hist[latencyBucket(ms)] = 100;
      const v = p99(hist)!;
      assert.ok(Math.abs(v - ms) / ms <= 0.0625, `p99 ${v} for ${ms} ms`);
    }
    const slow = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
    slow[LATENCY_OVERFLOW_BUCKET] = 5;
    assert.equal(p99(slow), Infinity);
    assert.equal(p99(new Array<number>(LATENCY_BUCKET_COUNT).fill(0)), null);
  });

  it('reads items written with the coarse buckets as before (each at its upper bound) next to fine ones', () => {
    const item = {
      [legacyLatencyAttribute('old', 4)]: { N: '100' }, // the 20 ms bucket
      [legacyLatencyAttribute('old', 11)]: { N: '3' }, // above 2 s
      [latencyAttribute('old', latencyBucket(13.2))]: { N: '7' },
      [latencyAttribute('new', latencyBucket(2.5))]: { N: '9' },
    };
    const old = histogramOf(item, 'old');
    assert.equal(old[latencyBucket(20)], 100);
    assert.equal(old[LATENCY_OVERFLOW_BUCKET], 3);
    assert.equal(old[latencyBucket(13.2)], 7);
    assert.equal(
      old.reduce((a, b) => a + b, 0),
      110,
    );
    assert.equal(
      histogramOf(item, 'new').reduce((a, b) => a + b, 0),
      9,
    );
    const twenty = p99(histogramOf({ [legacyLatencyAttribute('old', 4)]: { N: '10' } }, 'old'))!;
    assert.ok(Math.abs(twenty - 20) / 20 <= 0.0625, `an old 20 ms bucket reads as about 20 ms (${twenty})`);
  });
});
