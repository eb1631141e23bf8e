import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { runReadTraffic } from '../../../../tools/generator/read-traffic.js';

describe('read traffic generator', () => {
  let server: http.Server;
  let baseUrl = '';
  const arrivals: { at: number; url: string }[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      arrivals.push({ at: Date.now(), url: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'application/json', 'x-switchyard-served-by': 'new' });
      res.end('{"points":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('sends nothing while paused and resumes at its rate, without a burst', async () => {
    const started = Date.now();
    const pausedFrom = started + 400;
    const pausedTo = started + 1000;
    // When the generator sent each query (not when the server saw it: on a busy machine a query
    // sent just before the pause may arrive well into it).
    const sent: number[] = [];
    const summary = await runReadTraffic({
      baseUrl,
      env: 'test',
      apps: 3,
      metrics: ['router.service_ms'],
      ratePerSec: 20,
      durationMs: 1600,
      seed: 1,
      shouldPause: () => Date.now() >= pausedFrom && Date.now() < pausedTo,
      onResponse: (r) => void sent.push(r.request.sentAt),
    });
    const during = sent.filter((at) => at >= pausedFrom + 5 && at < pausedTo);
    assert.deepEqual(during, [], 'no query sent while paused');
    const firstAfter = sent.filter((at) => at >= pausedTo && at < pausedTo + 150);
    assert.ok(firstAfter.length <= 4, `${firstAfter.length} queries in the 150 ms after the pause: no catch-up burst`);
    // About 1 s of sending at 20/s.
    assert.ok(summary.queries >= 12 && summary.queries <= 26, `${summary.queries} queries`);
    assert.equal(summary.errors, 0);
    assert.deepEqual(Object.keys(summary.servedBy), ['new']);
    assert.ok(
      arrivals.every((a) => /\/v1\/envs\/test\/apps\/app-\d+\/metrics\/router\.service_ms\?from=\d+&to=\d+&stats=median,p99$/.test(a.url)),
      arrivals[0]?.url,
    );
  });
});
