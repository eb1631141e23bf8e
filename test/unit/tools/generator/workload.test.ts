import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_METRICS, generateWorkload } from '../../../../tools/generator/workload.js';

const base = { seed: 7, apps: 20, metrics: DEFAULT_METRICS, count: 20_000, startTime: Date.parse('2026-11-26T10:00:00Z'), spanMs: 600_000 };

describe('workload generator', () => {
  it('is reproducible from its seed and differs between seeds', () => {
    const a = [...generateWorkload(base)];
    const b = [...generateWorkload(base)];
    const c = [...generateWorkload({ ...base, seed: 8 })];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.slice(0, 50), c.slice(0, 50));
  });

  it('spreads event times over the span and gives latencies a long tail', () => {
    const all = [...generateWorkload(base)];
    assert.equal(all.length, base.count);
    const times = all.map((o) => o.time);
    assert.equal(Math.min(...times), base.startTime);
    assert.equal(Math.max(...times), base.startTime + base.spanMs);
    const values = all.map((o) => o.value).sort((x, y) => x - y);
    const median = values[Math.floor(values.length / 2)]!;
    const p99 = values[Math.floor(values.length * 0.99)]!;
    assert.ok(values[0]! > 0, 'latencies are positive');
    assert.ok(p99 > 3 * median, `p99 ${p99} should be well above the median ${median}`);
    assert.equal(new Set(all.map((o) => o.app)).size, base.apps);
  });

  it('sends a share late when asked', () => {
    const onTime = [...generateWorkload({ ...base, count: 2000 })];
    const late = [...generateWorkload({ ...base, count: 2000, lateFraction: 0.1, maxLatenessMs: 120_000 })];
    let pushedBack = 0;
    for (let i = 1; i < late.length; i++) if (late[i]!.time < late[i - 1]!.time - 1000) pushedBack++;
    assert.ok(pushedBack > 100, `${pushedBack} observations arrive out of order`);
    let inOrder = 0;
    for (let i = 1; i < onTime.length; i++) if (onTime[i]!.time < onTime[i - 1]!.time) inOrder++;
    assert.equal(inOrder, 0);
  });
});
