import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadNotifierSettings, redactWebhookUrl } from '../../../config/notifier-settings.js';
import { ConfigError } from '../../../config/config.js';
import { notificationFromAudit, notificationFromGate, testNotification } from '../../../notify/events.js';
import { createNotifier } from '../../../notify/notifier.js';
import { slackPayload } from '../../../notify/payloads.js';
import { createGateWatcher } from '../../../workers/gate-watcher.js';
import type { AuditEntry, MigrationStateView, NotificationPayload } from '../../../contract/index.js';

const rollbackEntry: AuditEntry = {
  env: 'staging',
  seq: 42,
  at: Date.UTC(2026, 11, 5, 13, 22),
  actor: 'automatic',
  action: 'automatic_rollback',
  from: 'cutover',
  to: 'cutover',
  reason: 'mismatch rate 12.5% over the last 60 s is above 1%',
  evidence: { windowMs: 60_000, comparisons: 400, mismatches: 50, mismatchRate: 0.125, newStoreErrorRate: 0, rollbackMismatchRate: 0.01, ramp: 25 },
  workflowId: 'switchyard-migration-staging',
  runId: 'r1',
  controlVersion: 9,
};

describe('notifier settings', () => {
  it('is off without a route, and reads a default URL, per-env routes and the retry settings', () => {
    assert.deepEqual(loadNotifierSettings({}).routes, []);
    const s = loadNotifierSettings({
      SWITCHYARD_NOTIFY_URL: 'https://hooks.example.test/services/T0/B0/secret',
      SWITCHYARD_NOTIFY_FORMAT: 'slack',
      SWITCHYARD_NOTIFY_ROUTES: JSON.stringify([{ env: 'production', url: 'http://127.0.0.1:9/hook', events: ['automatic_rollback'] }]),
      SWITCHYARD_NOTIFY_ATTEMPTS: '3',
      SWITCHYARD_CONSOLE_URL: 'http://console.example.test/',
    });
    assert.equal(s.routes.length, 2);
    assert.deepEqual(
      s.routes.map((r) => [r.env, r.format, r.events.length]),
      [
        ['*', 'slack', 7],
        ['production', 'json', 1],
      ],
    );
    assert.equal(s.attempts, 3);
    assert.equal(s.consoleUrl, 'http://console.example.test');
  });

  it('names every bad variable at once', () => {
    assert.throws(
      () =>
        loadNotifierSettings({
          SWITCHYARD_NOTIFY_URL: 'ftp://x',
          SWITCHYARD_NOTIFY_ROUTES: '[{"env":"Prod!","url":"http://x"}]',
          SWITCHYARD_NOTIFY_EVENTS: 'rollback',
          SWITCHYARD_NOTIFY_ATTEMPTS: '0',
        }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 4 &&
        /SWITCHYARD_NOTIFY_URL/.test(err.message) &&
        /ROUTES\[0\]: env/.test(err.message) &&
        /SWITCHYARD_NOTIFY_EVENTS/.test(err.message) &&
        /ATTEMPTS/.test(err.message),
    );
  });

  it('shows a webhook URL without its path (it may hold a secret)', () => {
    assert.equal(redactWebhookUrl(new URL('https://hooks.example.test/services/T0/B0/secret')), 'https://hooks.example.test/…');
  });
});

describe('notification events', () => {
  it('words an automatic rollback in cutover as reads back on Cassandra, with the evidence', () => {
    const n = notificationFromAudit(rollbackEntry, 'http://c')!;
    assert.equal(n.kind, 'automatic_rollback');
    assert.equal(n.id, 'switchyard-migration-staging:42');
    assert.match(n.title, /reads back on Cassandra/);
    assert.match(n.text, /mismatch rate 12\.5%/);
    // Its figures in one set of units: percents with their sample, the window in words (not "rate 0.125, limit 0.0500").
    assert.match(n.text, /Figures over the last 1 min: mismatch rate 12\.5% of 400 comparisons \(50 mismatches; rollback above 1%\)/);
    assert.doesNotMatch(n.text, /\b0\.\d{2,}\b|\d{5,} ms/);
    assert.equal(n.evidence.mismatches, 50);
    assert.equal(n.consoleUrl, 'http://c/envs/staging');
  });

  it('tells stage entered, approval requested and complete apart, and ignores entries that need nobody', () => {
    const e = (action: string, from: string, to: string): AuditEntry => ({ ...rollbackEntry, action, from, to, actor: 'olivia', reason: 'ok' });
    assert.equal(notificationFromAudit(e('advance', 'science', 'cutover'), null)?.kind, 'stage_entered');
    assert.equal(notificationFromAudit(e('advance', 'ttl_wait', 'decommission'), null)?.kind, 'approval_requested');
    assert.equal(notificationFromAudit(e('decommission_old_store', 'decommission', 'complete'), null)?.kind, 'migration_complete');
    assert.equal(notificationFromAudit(e('set_ramp', 'science', 'science'), null), null);
    assert.equal(notificationFromAudit(e('auto_ramp', 'cutover', 'cutover'), null), null);
  });

  it('names the cohort of a rollback and of a cohort moved to cutover', () => {
    const rb = notificationFromAudit({ ...rollbackEntry, evidence: { ...rollbackEntry.evidence, cohort: 'low-risk' } }, null)!;
    assert.equal(rb.kind, 'automatic_rollback');
    assert.match(rb.title, /automatic rollback of cohort low-risk in cutover at 25%: reads of cohort low-risk's apps back on Cassandra/);
    assert.match(rb.text, /the other cohorts stay where they were/);
    const moved = notificationFromAudit(
      {
        ...rollbackEntry,
        action: 'advance',
        actor: 'olivia',
        from: 'science',
        to: 'science',
        evidence: { cohort: 'internal', cohortFrom: 'science', cohortTo: 'cutover' },
      },
      null,
    )!;
    assert.equal(moved.kind, 'stage_entered');
    assert.equal(moved.title, 'staging: cohort internal science → cutover');
  });

  it('has a Slack-compatible form: text, a header and the evidence as fields', () => {
    const body = slackPayload(notificationFromAudit(rollbackEntry, null)!) as { text: string; blocks: { type: string; fields?: { text: string }[] }[] };
    assert.match(body.text, /automatic rollback/);
    assert.equal(body.blocks[0]!.type, 'header');
    const fields = body.blocks.find((b) => b.fields)!.fields!.map((f) => f.text);
    // The figures in the console's words and units: a percent, never a bare fraction.
    assert.ok(fields.includes('*mismatch rate*\n12.5%'), fields.join(' | '));
    assert.ok(
      fields.every((f) => !/\n0\.\d/.test(f)),
      fields.join(' | '),
    );
  });
});

describe('notifier delivery', () => {
  let server: http.Server;
  let url: string;
  const received: { path: string; body: Record<string, unknown> }[] = [];
  let failFirst = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        if (req.url === '/gone') {
          res.writeHead(404).end();
          return;
        }
        if (failFirst > 0) {
          failFirst--;
          res.writeHead(503).end();
          return;
        }
        received.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const settings = (routes: string): ReturnType<typeof loadNotifierSettings> =>
    loadNotifierSettings({ SWITCHYARD_NOTIFY_ROUTES: routes, SWITCHYARD_NOTIFY_BACKOFF_MS: '1', SWITCHYARD_NOTIFY_ATTEMPTS: '3' });

  it('posts each route its format, retries a 503 with backoff, and logs no secret', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const waits: number[] = [];
    const n = createNotifier({
      settings: settings(
        JSON.stringify([
          { env: '*', url: `${url}/json/secret-token`, format: 'json' },
          { env: 'staging', url: `${url}/slack/secret-token`, format: 'slack', events: ['automatic_rollback'] },
          { env: 'production', url: `${url}/prod`, format: 'json' },
        ]),
      ),
      logger,
      sleep: async (ms) => void waits.push(ms),
    });
    received.length = 0;
    failFirst = 2;
    const reports = await n.send(notificationFromAudit(rollbackEntry, null)!);
    assert.equal(reports.length, 2, 'the * route and the staging route, not production');
    assert.ok(reports.every((r) => r.ok));
    assert.equal(
      reports.reduce((a, r) => a + r.attempts, 0),
      4,
      'two 503s retried',
    );
    assert.deepEqual(received.map((r) => r.path).sort(), ['/json/secret-token', '/slack/secret-token']);
    const json = received.find((r) => r.path.startsWith('/json'))!.body as unknown as NotificationPayload;
    assert.equal(json.kind, 'automatic_rollback');
    assert.equal(json.evidence.mismatchRate, 0.125);
    assert.ok('blocks' in received.find((r) => r.path.startsWith('/slack'))!.body);
    assert.ok(waits.length === 2 && waits.every((w) => w >= 1));
    assert.ok(!lines.join('').includes('secret-token'), 'no webhook path in the logs');
  });

  it('gives up at once on a 404 and after its attempts on a dead port, never throwing', async () => {
    const n = createNotifier({
      settings: settings(JSON.stringify([{ url: `${url}/gone` }, { url: 'http://127.0.0.1:9/dead' }])),
      sleep: async () => undefined,
    });
    const reports = await n.send(testNotification('test', 'olivia', Date.now(), null));
    const gone = reports.find((r) => r.status === 404)!;
    assert.deepEqual([gone.ok, gone.attempts], [false, 1]);
    const dead = reports.find((r) => r.status === null)!;
    assert.deepEqual([dead.ok, dead.attempts], [false, 3]);
  });
});

describe('gate watcher', () => {
  it('notifies a newly met gate once per stage visit', async () => {
    const sent: NotificationPayload[] = [];
    const state = (stage: string, passed: boolean, enteredAt: number): MigrationStateView =>
      ({
        stage,
        stageEnteredAt: enteredAt,
        rolledBack: null,
        gates: [{ name: `${stage}->next`, passed, detail: `${passed ? 'met' : 'not met'}: bake over`, evidence: { bakeMs: 1 } }],
      }) as never;
    let current = state('dual_write', false, 1);
    const w = createGateWatcher({
      readState: async () => current,
      environments: ['test'],
      notifier: { routesFor: () => [], send: async (n) => (sent.push(n), []) },
      consoleUrl: null,
    });
    assert.deepEqual(await w.check(), []);
    current = state('dual_write', true, 1);
    assert.equal((await w.check()).length, 1);
    assert.equal((await w.check()).length, 0, 'not again in the same stage visit');
    current = state('science', true, 2);
    assert.equal((await w.check()).length, 1);
    assert.deepEqual(
      sent.map((n) => [n.kind, n.stage]),
      [
        ['gate_met', 'dual_write'],
        ['gate_met', 'science'],
      ],
    );
    assert.equal(
      notificationFromGate({ env: 'test', stage: 'science', stageEnteredAt: 2, workflowId: 'w', gate: current.gates[0]!, at: 3 }, null).id,
      'w:gate:science:2',
    );
    // The gate's verdict is said once ("is met: ...", not "is met: met: ...").
    const text = notificationFromGate({ env: 'test', stage: 'science', stageEnteredAt: 2, workflowId: 'w', gate: current.gates[0]!, at: 3 }, null).text;
    assert.doesNotMatch(text, /met: met:/, text);
  });

  it('with cohorts, notifies the science gate of each cohort once', async () => {
    const sent: NotificationPayload[] = [];
    const state = (cohort: string, enteredAt: number): MigrationStateView =>
      ({
        stage: 'science',
        stageEnteredAt: 1,
        rolledBack: null,
        cohorts: [{ name: cohort, stage: 'science', stageEnteredAt: enteredAt }],
        gates: [{ name: `science->cutover (cohort ${cohort})`, passed: true, detail: 'met', evidence: { cohort } }],
      }) as never;
    let current = state('internal', 1);
    const w = createGateWatcher({
      readState: async () => current,
      environments: ['test'],
      notifier: { routesFor: () => [], send: async (n) => (sent.push(n), []) },
      consoleUrl: null,
    });
    assert.equal((await w.check()).length, 1);
    assert.equal((await w.check()).length, 0);
    current = state('low-risk', 5);
    assert.equal((await w.check()).length, 1, 'the next cohort\u2019s gate, in the same stage visit');
    assert.deepEqual(
      sent.map((n) => n.id),
      ['switchyard-migration-test:gate:science:1:cohort:internal:1', 'switchyard-migration-test:gate:science:1:cohort:low-risk:5'],
    );
    assert.match(sent[1]!.title, /an operator may move cohort low-risk on/);
  });
});
