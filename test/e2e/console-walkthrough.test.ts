import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readAudit } from '../../audit/audit-log.js';
import { createDynamoClient, createKafka } from '../../config/clients.js';
import { demoPolicy } from '../../config/migration-policy.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  STATE_QUERY_NAME,
  UPDATE_NAMES,
  type MigrationPolicy,
  type MigrationStateView,
  type UpdateResult,
} from '../../contract/index.js';
import { DEFAULT_RANGES, runReadTraffic } from '../../tools/generator/read-traffic.js';
import { startNotificationReceiver, type NotificationReceiver } from '../../tools/notifications/receiver.js';
import { launchBrowser, newConsoleContext, screenshot } from '../support/browser.js';
import { ConsoleProcess, ensureConsoleBuilt, writeUsersFile, type TestUser } from '../support/console.js';
import { launchMigrationRig, runLiveLoad } from '../support/migration-rig.js';
import { dropEnv, type PipelineProcess, testEnv } from '../support/pipeline.js';
import { freePort, runCommand, testConfig } from '../support/stack.js';

// The console as a new operator meets it, on the real stack: one environment driven from planned to
// complete with short bakes (its predecessor in the promotion order never starts, so the start is
// an override, made from the operator CLI), and at every stage — including the moments right after
// a stage is entered and right after the approval, while the workflow drops the old store — the
// environment page says what happens next: automatic with an estimate, or who must act and where.
// Then the pages a finished migration leaves behind: human units only (no epoch, no bare fraction),
// one time zone, each notification once, and none taller than 4,000 px at 1,280 px wide.
// Screenshots of every stage, the approve dialog, the audit and notifications pages go to
// test-results/screenshots/walkthrough-*.png.
const cfg = testConfig();

/** Epoch milliseconds as a page might leak them (1.5e12 .. 2e12, with or without separators). */
const EPOCH = /\b1[5-9]\d{11}\b|\b1,[5-9]\d{2}(,\d{3}){3}\b/;
/** A share said as a bare fraction (0.125), not as a percent or a duration ("0.25%", "0.5 ms" are fine). */
const BARE_FRACTION = /(?<![\d.,:/])0\.\d+(?![\d.]|\s*(%|ms\b|s\b|min\b|h\b|days?\b))/;
/** An ISO 8601 time as the workflow writes it (the console says 2026-12-06 19:24:00 UTC). */
const ISO_TIME = /\b\d{4}-\d\d-\d\dT\d\d:\d\d/;
/** A 12-hour clock time (the viewer's locale, not UTC). */
const TWELVE_HOUR = /\b\d{1,2}:\d\d(:\d\d)?\s?(AM|PM)\b/i;
/** The tallest a page may be at 1,280 px wide. */
const MAX_PAGE_HEIGHT = 4000;

describe('console walkthrough: what happens next, human units, short pages', () => {
  const pred = testEnv('wpr');
  const env = testEnv('wlk');
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'test-console-walkthrough' });
  const dynamo = createDynamoClient(cfg);
  let producer: Producer;
  let client: Client;
  let closeTemporal: () => Promise<void>;
  let consoleApp: ConsoleProcess;
  let receiver: NotificationReceiver;
  let users: Record<string, TestUser>;
  let browser: Browser;
  let stopLoad = false;
  let load: Promise<unknown>;
  let reads: Promise<unknown>;
  let token = '';
  /** What the "what next" line said at each stage, for the report at the end. */
  const seen: string[] = [];

  const RETENTION_MS = 2 * 60_000;
  const policy: MigrationPolicy = {
    ...demoPolicy([pred, env]),
    // The walkthrough moves the environment as one; cohorts have their own end-to-end test (cohort-cutover).
    cohorts: [],
    retentionMs: RETENTION_MS,
    ttlGraceMs: 5_000,
    // Long enough that TTL wait opens its gate only after the page has shown the wait (its timer counts from cutover at 100 %).
    rollbackWindowMs: 60_000,
    // Dual write bakes long enough for the CLI test's start and status (each a process of its own) to see it baking.
    bakeMs: { dualWrite: 30_000, science: 15_000, cutover: 15_000 },
    scienceSteps: [50, 100],
    cutoverSteps: [50, 100],
    autoRamp: true,
    autoRampIntervalMs: 6_000,
    minComparisons: 10,
    maxMismatchRate: 0.001,
    maxWriterLag: 10_000,
    evaluationIntervalMs: 2_000,
    evaluationWindowMs: 60_000,
    shortWindowMs: 30_000,
    ttlCheckIntervalMs: 3_000,
    minSamplesForRollback: 5,
    minNewStoreReads: 20,
    rollbackMismatchRate: 0.05,
    // Shadow reads that time out on a busy 2-core machine count as new-store errors: keep these above that noise.
    rollbackErrorRate: 0.25,
    maxNewStoreErrorRate: 0.25,
    ackTimeoutMs: 20_000,
    keepOldTables: false,
  };
  const handle = () => client.workflow.getHandle(migrationWorkflowId(env));
  const state = (): Promise<MigrationStateView> => handle().query<MigrationStateView>(STATE_QUERY_NAME);
  const update = (name: string, arg: Record<string, unknown>, identity = 'olivia'): Promise<UpdateResult> => {
    const requestId = randomUUID();
    return handle().executeUpdate<UpdateResult, [unknown]>(name, {
      args: [{ identity, reason: `walkthrough: ${name}`, requestId, ...arg }],
      updateId: requestId,
    });
  };
  const waitFor = async (what: string, pred: (s: MigrationStateView) => boolean, timeoutMs: number): Promise<MigrationStateView> => {
    const deadline = Date.now() + timeoutMs;
    let s = await state();
    while (!pred(s)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify({ stage: s.stage, ramp: s.ramp, gates: s.gates, last: s.evaluations.at(-1) })}`);
      await sleep(1000);
      s = await state();
    }
    return s;
  };
  /** The operator CLI (`npm run ops -- ...`) with the operator's token. */
  const ops = (args: string[]) =>
    runCommand(process.execPath, ['--import', 'tsx', 'workers/operator-cli.ts', ...args], {
      env: {
        SWITCHYARD_ENVS: `${pred},${env}`,
        SWITCHYARD_CONSOLE_URL: consoleApp.url,
        SWITCHYARD_TOKEN: token,
        SWITCHYARD_TOKEN_FILE: path.join(os.tmpdir(), `no-token-${env}`),
      },
      timeoutMs: 120_000,
    });
  const signIn = async (username: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await newConsoleContext(browser, { baseURL: consoleApp.url, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(users[username]!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    return { context, page };
  };
  /** The environment page's "what next" line: who acts, and the words. */
  const nextLine = async (page: Page): Promise<{ actor: string; text: string; stage: string }> =>
    await page.evaluate<{ actor: string; text: string; stage: string }>(`(() => {
      const n = document.querySelector('[data-testid=env-next]');
      return { actor: n?.getAttribute('data-actor') ?? '', text: n?.textContent ?? '', stage: document.querySelector('[data-testid=env-stage]')?.textContent ?? '' };
    })()`);
  /** Waits until the page (refreshing itself every 3 s) shows `stage` and a line the check accepts. */
  const expectNext = async (page: Page, stage: string, check: (l: { actor: string; text: string }) => boolean, what: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let l = await nextLine(page);
    while (!(l.stage === stage && check(l))) {
      if (Date.now() > deadline) {
        await screenshot(page, `failed-walkthrough-${stage}`);
        // How long the page takes to render now (a page slower than its refresh interval lags behind).
        const t0 = Date.now();
        const status = (await page.request.get(`/envs/${env}`)).status();
        console.log(`the environment page answered ${status} in ${Date.now() - t0} ms`);
        assert.fail(`${what}: in ${stage} the page said [${l.stage}] ${l.actor}: ${l.text}`);
      }
      await sleep(300);
      l = await nextLine(page);
    }
    seen.push(`${stage}: ${l.actor}: ${l.text}`);
    return l;
  };
  /** What a person reads on the page: the rendered text (closed disclosures, such as the raw figures, are not rendered). */
  const visibleText = (page: Page): Promise<string> => page.evaluate<string>('document.body.innerText');
  const assertHumanUnits = async (page: Page, what: string) => {
    const text = await visibleText(page);
    const epoch = EPOCH.exec(text);
    assert.equal(epoch, null, `${what} shows an epoch number: …${epoch ? text.slice(Math.max(0, epoch.index - 80), epoch.index + 40) : ''}…`);
    const fraction = BARE_FRACTION.exec(text);
    assert.equal(fraction, null, `${what} shows a bare fraction: …${fraction ? text.slice(Math.max(0, fraction.index - 80), fraction.index + 40) : ''}…`);
    const iso = ISO_TIME.exec(text);
    assert.equal(iso, null, `${what} shows a time in another format: …${iso ? text.slice(Math.max(0, iso.index - 80), iso.index + 40) : ''}…`);
    const clock = TWELVE_HOUR.exec(text);
    assert.equal(clock, null, `${what} shows a 12-hour local time: ${clock?.[0]}`);
  };
  const pageHeight = (page: Page): Promise<number> => page.evaluate<number>('document.documentElement.scrollHeight');

  before(async () => {
    const building = ensureConsoleBuilt();
    receiver = await startNotificationReceiver({ port: 0 });
    // Every event goes out twice (generic JSON and Slack): the console lists it once.
    const notifyEnv = {
      SWITCHYARD_NOTIFY_ROUTES: JSON.stringify([
        { env: '*', url: `${receiver.url}/hooks/json/walkthrough`, format: 'json' },
        { env, url: `${receiver.url}/hooks/slack`, format: 'slack' },
      ]),
      SWITCHYARD_NOTIFY_BACKOFF_MS: '200',
      SWITCHYARD_NOTIFY_GATE_POLL_MS: '2000',
      SWITCHYARD_NOTIFY_RECEIVER_URL: receiver.url,
    };
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const rig = await launchMigrationRig(cfg, env, {
      retention: `${RETENTION_MS}ms`,
      aggregatorLateness: '5s',
      workerEnv: notifyEnv,
      workerReadyTimeoutMs: 240_000,
    });
    procs.push(...rig.procs);
    client = rig.client;
    closeTemporal = rig.closeTemporal;
    load = runLiveLoad(producer, env, { apps: 4, count: 400, ratePerSec: 200, seed: 31, shouldStop: () => stopLoad });
    reads = runReadTraffic({
      baseUrl: rig.queryUrl,
      env,
      apps: 4,
      metrics: ['router.service_ms'],
      ratePerSec: 10,
      durationMs: 30 * 60_000,
      seed: 9,
      shouldStop: () => stopLoad,
      ranges: DEFAULT_RANGES,
    });
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue: rig.taskQueue, args: [{ env, policy }] });
    const written = writeUsersFile(path.join(os.tmpdir(), `switchyard-${env}`), [
      { username: 'olivia', role: 'operator' },
      { username: 'alma', role: 'approver' },
    ]);
    users = written.users;
    await building;
    consoleApp = await new ConsoleProcess(`${env}-console`, await freePort(), {
      SWITCHYARD_ENVS: `${pred},${env}`,
      TEMPORAL_TASK_QUEUE: rig.taskQueue,
      SWITCHYARD_SESSION_SECRET: randomBytes(32).toString('base64url'),
      SWITCHYARD_USERS_FILE: written.file,
      SWITCHYARD_QUERY_URL: rig.queryUrl,
      ...notifyEnv,
    }).startAndWait(180_000);
    browser = await launchBrowser();
  });

  after(async () => {
    stopLoad = true;
    await Promise.race([Promise.allSettled([load, reads]), sleep(15_000)]);
    await browser?.close();
    await consoleApp?.stop();
    await handle()
      .terminate('test over')
      .catch(() => undefined);
    await closeTemporal?.();
    await producer?.disconnect();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await receiver?.close();
    dynamo.destroy();
    await dropEnv(cfg, env);
    if (seen.length) console.log(`what next, stage by stage:\n  ${seen.join('\n  ')}`);
  });

  it('in planned: says an operator starts dual write, shows one time zone, and no verify yet', async () => {
    const { context, page } = await signIn('olivia');
    // A personal API token for the CLI, made on the tokens page.
    await page.goto('/tokens');
    const form = page.getByRole('form', { name: 'Create a token' });
    await form.getByLabel('Name').fill('walkthrough');
    await form.getByLabel('Days').fill('1');
    await form.getByRole('button', { name: 'Create token' }).click();
    token = (await page.getByTestId('new-token').textContent({ timeout: 30_000 })) ?? '';
    assert.match(token, /^syt_/);

    await page.goto(`/envs/${env}`);
    const l = await expectNext(page, 'planned', (x) => x.actor === 'operator' && /starts dual write/.test(x.text), 'planned');
    assert.match(l.text, /Start dual write/, 'names the button');
    // The header's clock is UTC, 24-hour (it appears after the first refresh, within 3 s).
    const clock = page.getByTestId('live-clock');
    await clock.getByText(/live · \d\d:\d\d:\d\d UTC/).waitFor({ timeout: 10_000 });
    assert.doesNotMatch((await clock.textContent()) ?? '', /AM|PM/);
    // Nothing to verify before dual write: no verify or repair form.
    assert.equal(await page.getByTestId('start-verify').count(), 0);
    await page
      .getByTestId('verify-panel')
      .getByText(/once dual write has begun/)
      .waitFor();
    await assertHumanUnits(page, 'the environment page in planned');
    await screenshot(page, 'walkthrough-1-planned');
    await context.close();
  });

  it('CLI: start --override-promotion-order starts the migration and is audited as an override; status prints only its report', async () => {
    // Without the flag: refused, and the refusal names the flag, not the API's field.
    const refused = await ops(['start', env, '--reason', 'walkthrough: begin']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`promotion order: ${env} may not enter dual_write before ${pred} has`));
    assert.match(refused.stderr, /repeat with --override-promotion-order/);
    assert.doesNotMatch(refused.stderr, /overridePromotionOrder/);
    const started = await ops(['start', env, '--override-promotion-order', '--reason', `walkthrough: ${pred} is frozen this week`]);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /planned -> dual_write.*as olivia\)/);
    const audit = await readAudit(dynamo, { env, limit: 50 });
    const start = audit.find((e) => e.action === 'start');
    assert.ok(start, 'a start entry');
    assert.equal(start.actor, 'olivia');
    assert.deepEqual(start.evidence.promotionOrder, {
      predecessor: pred,
      predecessorStage: 'not_started',
      entering: 'dual_write',
      overridden: true,
      overrideReason: `walkthrough: ${pred} is frozen this week`,
    });

    const status = await ops(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stderr, '', 'nothing on stderr');
    // Only the report: each environment's lines, none of them a log line or a stack trace.
    const lines = status.stdout.trimEnd().split('\n');
    for (const line of lines)
      assert.match(
        line,
        /^(\S+: |  (coverage horizon|gate|last evaluation|next:|newest on the control topic|writers:|cohort|ROLLED BACK|fault switch))/,
        `not a report line: ${line}`,
      );
    assert.doesNotMatch(status.stdout, /ERROR|"level"|^\s+at /m);
    assert.match(status.stdout, new RegExp(`^${pred}: not started`, 'm'));
    assert.match(status.stdout, new RegExp(`^${env}: dual_write`, 'm'));
    assert.match(status.stdout, /coverage horizon \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.match(status.stdout, /next: automatic: Nothing to do: /);
  });

  it('says what happens next at every stage through to completion, including right after the approval', async () => {
    const { context, page } = await signIn('olivia');
    // The overview flags that env is ahead of its predecessor (the order was overridden) and says what next.
    await page.getByTestId(`ahead-${env}`).getByText(`ahead of ${pred}`).waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId(`next-${env}`).getAttribute('data-actor')) ?? '', /automatic|operator/);

    await page.goto(`/envs/${env}`);
    await page.getByTestId('ahead-of').waitFor();
    await expectNext(page, 'dual_write', (x) => x.actor === 'automatic' && /bakes|coverage horizon|checks the writers/.test(x.text), 'dual write, baking');
    // The verify form asks for UTC times as text (no locale date picker, no AM/PM).
    const from = page.getByRole('textbox', { name: 'verify from (UTC)' });
    assert.equal(await from.getAttribute('type'), 'text');
    assert.equal(await from.getAttribute('placeholder'), 'YYYY-MM-DD HH:MM');
    await assertHumanUnits(page, 'the environment page in dual write');
    await screenshot(page, 'walkthrough-2-dual_write');
    await waitFor('the dual-write gate', (s) => s.gates[0]?.passed === true, 120_000);
    await expectNext(page, 'dual_write', (x) => x.actor === 'operator' && /Advance to science/.test(x.text), 'dual write, gate met');

    // science: right after entering, then at 100 % (bake), then the gate met.
    await update(UPDATE_NAMES.advance, { from: 'dual_write', overridePromotionOrder: true });
    await expectNext(page, 'science', (x) => x.actor === 'automatic' && /ramps by itself|bakes at 100%/.test(x.text), 'science, just entered');
    await screenshot(page, 'walkthrough-3-science');
    await page.goto('/');
    await page.getByTestId(`next-${env}`).waitFor();
    await screenshot(page, 'walkthrough-3-overview-science');
    await page.goto(`/envs/${env}`);
    await waitFor('science at 100%', (s) => s.stage === 'science' && s.ramp === 100, 180_000);
    await expectNext(
      page,
      'science',
      (x) => (x.actor === 'automatic' && /science bakes at 100%|exit gate/.test(x.text)) || x.actor === 'operator',
      'science at 100%',
    );
    await waitFor('the science gate', (s) => s.gates[0]?.passed === true, 180_000);
    await expectNext(page, 'science', (x) => x.actor === 'operator' && /Advance to cutover/.test(x.text), 'science, gate met');

    // cutover: the moment it is entered (no gate, no evaluation of it yet) is the workflow's, with an estimate.
    await update(UPDATE_NAMES.advance, { from: 'science', overridePromotionOrder: true });
    const entered = await expectNext(page, 'cutover', (x) => x.actor === 'automatic', 'cutover, just entered', 15_000);
    assert.match(entered.text, /ramps by itself|bakes at 100%/);
    assert.doesNotMatch(entered.text, /an operator advances when the gate is met/);
    await screenshot(page, 'walkthrough-4-cutover');
    await waitFor('the cutover gate', (s) => s.stage === 'cutover' && s.gates[0]?.passed === true, 240_000);
    await expectNext(page, 'cutover', (x) => x.actor === 'operator' && /Advance to ttl wait/.test(x.text), 'cutover, gate met');

    // TTL wait: automatic until its gate opens (with the time), then the operator asks to decommission.
    await update(UPDATE_NAMES.advance, { from: 'cutover', overridePromotionOrder: true });
    const ttl = await expectNext(page, 'ttl_wait', (x) => x.actor === 'automatic', 'ttl wait, just entered', 15_000);
    assert.match(ttl.text, /ages out|checks that the old store/);
    await assertHumanUnits(page, 'the environment page in TTL wait');
    await screenshot(page, 'walkthrough-5-ttl_wait');
    await waitFor('the TTL gate', (s) => s.stage === 'ttl_wait' && s.gates[0]?.passed === true, 360_000);
    await expectNext(page, 'ttl_wait', (x) => x.actor === 'operator' && /Advance to decommission/.test(x.text), 'ttl wait, gate met');
    const askReason = 'walkthrough: the old data has aged out and the rollback window is over';
    await update(UPDATE_NAMES.advance, { from: 'ttl_wait', overridePromotionOrder: true, reason: askReason });
    await expectNext(page, 'decommission', (x) => x.actor === 'approver' && /other than olivia/.test(x.text), 'decommission, waiting for approval');
    await context.close();

    // The approver's dialog: who asked, when, why, the gate's evidence, and that it cannot be undone.
    const approver = await signIn('alma');
    const ap = approver.page;
    await ap.goto(`/envs/${env}`);
    await expectNext(ap, 'decommission', (x) => x.actor === 'approver', 'decommission, as the approver');
    const form = ap.getByRole('form', { name: 'Approve decommission' });
    await form.getByRole('textbox', { name: 'reason for Approve decommission' }).fill('walkthrough: checked the evidence');
    await form.getByRole('button', { name: 'Approve decommission' }).click();
    const dialog = ap.getByRole('dialog', { name: 'confirm Approve decommission' });
    await dialog.getByTestId('approve-confirmation').waitFor();
    assert.match((await dialog.getByTestId('approve-warning').textContent()) ?? '', /This cannot be undone\./);
    assert.equal(await dialog.getByTestId('approve-reason').textContent(), askReason);
    assert.equal(await dialog.getByTestId('approve-requested-by').textContent(), 'olivia');
    assert.match((await dialog.getByTestId('approve-requested-at').textContent()) ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await dialog.getByTestId('approve-evidence').locator('[data-key=agedOut]').waitFor();
    await screenshot(ap, 'walkthrough-6-approve-dialog');
    await dialog.getByRole('button', { name: 'Confirm approve decommission' }).click();
    // Right after the approval the workflow drops the old store: the line says so (automatic), never
    // that an operator should advance; then the migration is complete.
    const afterApproval: string[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const l = await nextLine(ap);
      if (l.stage === 'decommission' && l.actor !== 'approver') {
        assert.equal(l.actor, 'automatic', `right after the approval: ${l.text}`);
        assert.match(l.text, /drops the old store's data and completes/);
        if (!afterApproval.length) await screenshot(ap, 'walkthrough-7-after-approval');
        afterApproval.push(l.text);
      }
      if (l.stage === 'complete') break;
      assert.ok(Date.now() < deadline, `not complete within 120 s: ${l.stage} ${l.actor}: ${l.text}`);
      await sleep(200);
    }
    assert.ok(afterApproval.length > 0, 'the page showed the moment between the approval and completion');
    seen.push(`decommission, approved: automatic: ${afterApproval[0]}`);
    await expectNext(ap, 'complete', (x) => x.actor === 'nobody' && /complete/.test(x.text), 'complete');
    // Nothing left to verify against, no Cassandra latency, and the Cassandra writer is idle, not live.
    assert.equal(await ap.getByTestId('start-verify').count(), 0, 'no Start verify after completion');
    await ap.getByTestId('migration-summary').waitFor();
    const status = (await ap.getByTestId('status-panel').textContent()) ?? '';
    assert.doesNotMatch(status, /Cassandra \d|Cassandra no reads/, 'no Cassandra p99 after completion');
    assert.match((await ap.getByTestId('env-instances').textContent()) ?? '', /writer-cassandra v\d+ \(idle: Cassandra is not written/);
    await assertHumanUnits(ap, 'the environment page after completion');
    await screenshot(ap, 'walkthrough-8-complete');
    await approver.context.close();
  });

  it('after the migration: the audit and notifications pages in human units, each event once and filtered by env, no page taller than 4,000 px', async () => {
    const { context, page } = await signIn('olivia');
    // The audit page: human units, a one-line WHEN column, ramps with their percents.
    await page.goto(`/audit?env=${env}`);
    const rows = page.locator('[data-testid=audit-table] tbody tr');
    await rows.first().waitFor();
    await assertHumanUnits(page, 'the audit page');
    const ramp = page.locator('[data-testid=audit-table] tr[data-action=auto_ramp]').first();
    assert.match((await ramp.textContent()) ?? '', /(science|cutover) 50% → 100%/);
    // The WHEN cell's text is one line (its line boxes), however tall the row is.
    const whenLines = await page.evaluate<number>(`(() => {
      const td = document.querySelector('[data-testid=audit-table] tbody tr td');
      const range = document.createRange();
      range.selectNodeContents(td);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    })()`);
    assert.equal(whenLines, 1, 'the WHEN column does not wrap');
    await screenshot(page, 'walkthrough-9-audit');

    // Notifications of env only, each event once although it was delivered twice (JSON and Slack).
    const bothFormats = receiver.messages().filter((m) => m.env === env);
    assert.ok(bothFormats.some((m) => m.format === 'slack') && bothFormats.some((m) => m.format === 'json'), 'delivered in both formats');
    await page.goto(`/notifications?env=${env}`);
    const received = page.locator('[data-testid=received] tbody tr');
    await received.first().waitFor();
    const ids = await received.evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute('data-env'), tr.getAttribute('data-id'), tr.getAttribute('data-formats')]),
    );
    assert.ok(ids.length >= 3, `events listed: ${ids.length}`);
    assert.ok(
      ids.every(([e]) => e === env),
      `only ${env}: ${ids.map(([e]) => e).join(',')}`,
    );
    assert.equal(new Set(ids.map(([, id]) => id)).size, ids.length, 'each event once');
    assert.ok(
      ids.some(([, , f]) => f === 'json,slack' || f === 'slack,json'),
      `an event delivered twice is one row: ${ids.map(([, , f]) => f).join(' ')}`,
    );
    await page.locator('[data-testid=received] tr[data-kind=migration_complete]').waitFor({ timeout: 30_000 });
    await assertHumanUnits(page, 'the notifications page');
    await screenshot(page, 'walkthrough-10-notifications');

    // Every page stays short at 1,280 px after a whole migration.
    const heights: string[] = [];
    for (const p of ['/', `/envs/${env}`, `/envs/${pred}`, `/audit`, `/audit?env=${env}`, '/notifications', '/pipeline', '/metrics']) {
      await page.goto(p);
      await page.waitForLoadState('networkidle');
      const h = await pageHeight(page);
      heights.push(`${p} ${h} px`);
      if (h > MAX_PAGE_HEIGHT) await screenshot(page, `failed-walkthrough-height${p.replace(/[^a-z0-9]+/gi, '-')}`);
      assert.ok(h <= MAX_PAGE_HEIGHT, `${p} is ${h} px tall at 1280 px wide (at most ${MAX_PAGE_HEIGHT})`);
    }
    console.log(`page heights at 1280 px: ${heights.join('; ')}`);
    await context.close();
  });
});
