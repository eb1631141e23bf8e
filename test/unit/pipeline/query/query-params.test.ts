import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSeriesRequest } from '../../../../pipeline/jobs/query/query-params.js';

const NOW = Date.parse('2026-11-26T10:30:30Z');
const p = (qs: string, path = { app: 'app-1', metric: 'router.service_ms' }) => parseSeriesRequest(path, new URLSearchParams(qs), NOW);

describe('read API parameters', () => {
  it('defaults to the last hour of every statistic, rounded to minutes', () => {
    const r = p('');
    assert.ok(r.ok);
    assert.equal(r.request.toMinute, Date.parse('2026-11-26T10:30:00Z'));
    assert.equal(r.request.fromMinute, Date.parse('2026-11-26T09:30:00Z'));
    assert.deepEqual(r.request.stats, ['count', 'min', 'max', 'sum', 'median', 'p95', 'p99']);
  });

  it('accepts ISO times, epoch milliseconds and a stats list', () => {
    const r = p(`from=2026-11-26T10:00:00Z&to=${Date.parse('2026-11-26T10:10:00Z')}&stats=median,p99`);
    assert.ok(r.ok);
    assert.deepEqual(r.request.stats, ['median', 'p99']);
    assert.equal(r.request.toMinute - r.request.fromMinute, 600_000);
  });

  it('explains every bad parameter', () => {
    const cases: [string, RegExp][] = [
      ['from=2026-11-26T10:00:00Z&to=2026-11-26T09:00:00Z', /is after to/],
      ['from=2026-11-20T10:00:00Z&to=2026-11-26T10:00:00Z', /longer than the limit of 24 h/],
      ['stats=median,p42', /unknown stats p42/],
      ['stats=', /stats is empty/],
      ['from=yesterday', /from: 'yesterday' is not an ISO-8601 time/],
      ['limit=5', /unknown parameter 'limit'/],
      // Epoch values no date can hold, and a range running backwards from one, are the caller's error.
      ['from=8999999999999999&to=9000000000000000', /from \(8999999999999999\) is outside 2000-01-01 \.\. now \+ 1 day/],
      ['from=9000000000000000&to=1', /from \(9000000000000000\) is outside/],
      ['from=1&to=2', /from \(1\) is outside/],
      [`from=2026-11-26T10:00:00Z&to=${NOW + 2 * 86_400_000}`, /to \(\d+\) is outside/],
    ];
    for (const [qs, re] of cases) {
      const r = p(qs);
      assert.equal(r.ok, false, qs);
      if (!r.ok) assert.match(r.problems.join('\n'), re);
    }
    const badPath = p('', { app: 'bad app!', metric: 'Router' });
    assert.ok(!badPath.ok);
    if (!badPath.ok) assert.equal(badPath.problems.length, 2);
  });
});
