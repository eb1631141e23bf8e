import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { readAudit } from '../../audit/audit-log.js';
import { createDynamoClient, createKafka } from '../../config/clients.js';
import { demoPolicy } from '../../config/migration-policy.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  type MigrationPolicy,
  type MigrationState,
  type NotificationPayload,
  type UpdateResult,
} from '../../contract/index.js';
import { runReadTraffic } from '../../tools/generator/read-traffic.js';
import { startNotificationReceiver, type NotificationReceiver, type ReceivedMessage } from '../../tools/notifications/receiver.js';
import { assertNoHorizontalOverflow, launchBrowser, newConsoleContext, screenshot } from '../support/browser.js';
import { ConsoleProcess, ensureConsoleBuilt, writeUsersFile, type TestUser } from '../support/console.js';
import { launchMigrationRig, runLiveLoad } from '../support/migration-rig.js';
import { dropEnv, PipelineProcess, testEnv } from '../support/pipeline.js';
import { freePort, testConfig } from '../support/stack.js';

// An automatic rollback in cutover as an operator and a chat channel see it, on the real stack:
// the worker's notifier posts the rollback (with its evidence) to a webhook receiver within
// seconds; the console says in words that reads are back on Cassandra, shows the evidence
// without growing wider than the window, caps its percent axis at 100 %, and shows the
// promotion-order refusal in the advance dialog before the operator confirms.
const cfg = testConfig();

describe('console and notifications: an automatic rollback in cutover', () => {
  const pred = testEnv('pre');
  const env = testEnv('rbk');
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'test-console-rollback' });
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

  const policy: MigrationPolicy = {
    ...demoPolicy([pred, env]),
    // The environment moves as one here (test/e2e/cohort-cutover.test.ts covers cohorts).
    cohorts: [],
    bakeMs: { dualWrite: 5_000, science: 10_000, cutover: 60_000 },
    scienceSteps: [50, 100],
    cutoverSteps: [50, 100],
    autoRamp: true,
    autoRampIntervalMs: 4_000,
    minComparisons: 10,
    maxMismatchRate: 0.001,
    maxWriterLag: 10_000,
    evaluationIntervalMs: 2_000,
    evaluationWindowMs: 30_000,
    shortWindowMs: 30_000,
    minSamplesForRollback: 5,
    minNewStoreReads: 20,
    rollbackMismatchRate: 0.05,
    ackTimeoutMs: 20_000,
  };
  const handle = () => client.workflow.getHandle(migrationWorkflowId(env));
  const state = () => handle().query<MigrationState>('stateQuery');
  /** The operator's requests: the promotion order is overridden ({pred} never starts), as an operator would with a reason. */
  const update = (name: string, arg: Record<string, unknown>): Promise<UpdateResult> => {
    const requestId = randomUUID();
    return handle().executeUpdate<UpdateResult, [unknown]>(name, {
      args: [{ identity: 'olivia', reason: `test: ${name}`, requestId, ...arg }],
      updateId: requestId,
    });
  };
  const waitFor = async (what: string, pred: (s: MigrationState) => boolean, timeoutMs: number): Promise<MigrationState> => {
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
  const advanceWhenReady = async (from: string, timeoutMs: number): Promise<UpdateResult> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await update('advanceUpdate', { from, overridePromotionOrder: true });
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(2000);
      }
    }
  };
  const signIn = async (username: string, width: number, height: number): Promise<Page> => {
    const context = await newConsoleContext(browser, { baseURL: consoleApp.url, viewport: { width, height } });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(users[username]!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    return page;
  };

  before(async () => {
    const building = ensureConsoleBuilt();
    receiver = await startNotificationReceiver({ port: 0 });
    const notifyEnv = {
      SWITCHYARD_NOTIFY_ROUTES: JSON.stringify([
        { env: '*', url: `${receiver.url}/hooks/json/not-a-secret`, format: 'json' },
        { env, url: `${receiver.url}/hooks/slack`, format: 'slack', events: ['automatic_rollback'] },
      ]),
      SWITCHYARD_NOTIFY_BACKOFF_MS: '200',
      SWITCHYARD_NOTIFY_GATE_POLL_MS: '2000',
      SWITCHYARD_NOTIFY_RECEIVER_URL: receiver.url,
    };
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const rig = await launchMigrationRig(cfg, env, { retention: '10m', aggregatorLateness: '5s', workerEnv: notifyEnv, workerReadyTimeoutMs: 240_000 });
    procs.push(...rig.procs);
    client = rig.client;
    closeTemporal = rig.closeTemporal;
    load = runLiveLoad(producer, env, { apps: 3, count: 400, ratePerSec: 200, seed: 21, shouldStop: () => stopLoad });
    reads = runReadTraffic({
      baseUrl: rig.queryUrl,
      env,
      apps: 3,
      metrics: ['router.service_ms'],
      ratePerSec: 8,
      durationMs: 20 * 60_000,
      seed: 7,
      shouldStop: () => stopLoad,
    });
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue: rig.taskQueue, args: [{ env, policy }] });
    const written = writeUsersFile(path.join(os.tmpdir(), `switchyard-${env}`), [
      { username: 'olivia', role: 'operator' },
      { username: 'victor', role: 'viewer' },
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
    }).startAndWait();
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
  });

  it('shows the promotion-order refusal before confirmation, notifies the rollback with its evidence within seconds, and says reads are back on Cassandra', async () => {
    await sleep(3000);
    await update('startUpdate', { overridePromotionOrder: true });
    const page = await signIn('olivia', 1280, 800);

    // In dual write, the advance dialog names the promotion order ({pred} has not started) before the operator confirms.
    await page.goto(`/envs/${env}`);
    await page.getByTestId('env-stage').getByText('dual_write').waitFor();
    const advanceForm = page.getByRole('form', { name: 'Advance to science' });
    await advanceForm.getByPlaceholder('why (goes into the audit log)').fill('e2e: look before confirming');
    await advanceForm.getByRole('button', { name: 'Advance to science' }).click();
    const dialog = page.getByRole('dialog', { name: 'confirm Advance to science' });
    const refusal = dialog.locator('[data-testid=advance-checks] li[data-rule="promotion order"][data-ok=false]');
    await refusal.waitFor();
    assert.match(
      (await refusal.textContent()) ?? '',
      new RegExp(`promotion order: ${env} may not enter science before ${pred} has \\(${pred} is not started\\)`),
    );
    assert.match((await dialog.getByTestId('advance-refusal').textContent()) ?? '', /will refuse this now: .*promotion order/);
    await assertNoHorizontalOverflow(page, 'the advance dialog at 1280 px');
    await screenshot(page, 'advance-dialog-promotion-order');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await state()).stage, 'dual_write', 'nothing was sent');

    // The gate watcher (polling the state every 2 s) notifies dual write's gate once it is met:
    // wait for that before advancing, as an operator paged by it would.
    const gateBy = Date.now() + 120_000;
    const isGateMet = (m: ReceivedMessage): boolean => {
      const b = m.body as NotificationPayload;
      return b.kind === 'gate_met' && b.env === env;
    };
    while (!receiver.messages().some(isGateMet)) {
      assert.ok(Date.now() < gateBy, `no gate_met notification within 120 s: ${JSON.stringify(receiver.messages().map((m) => m.body))}`);
      await sleep(500);
    }
    // Through science to cutover (overriding the promotion order, with a reason), then a fault.
    await advanceWhenReady('dual_write', 90_000);
    await waitFor('science at 100%', (s) => s.stage === 'science' && s.ramp === 100, 240_000);
    await advanceWhenReady('science', 120_000);
    await waitFor('cutover at 50%', (s) => s.stage === 'cutover' && s.ramp === 50, 60_000);
    await update('setFaultUpdate', { newWriterCorruptionRate: 0.5 });
    const rolled = await waitFor('the automatic rollback', (s) => s.rolledBack !== null, 180_000);
    const rolledAt = rolled.rolledBack!.at;

    // The webhook of the rollback arrives within seconds, with the evidence the workflow used.
    const isRollback = (m: ReceivedMessage): boolean => (m.body as { kind?: string }).kind === 'automatic_rollback' || m.path === '/hooks/slack';
    const deadline = Date.now() + 30_000;
    while (receiver.messages().filter(isRollback).length < 2) {
      assert.ok(Date.now() < deadline, `no rollback webhook within 30 s; received: ${JSON.stringify(receiver.messages().map((m) => [m.path, m.body]))}`);
      await sleep(200);
    }
    const json = receiver.messages().find((m) => m.path.startsWith('/hooks/json') && (m.body as NotificationPayload).kind === 'automatic_rollback')!;
    const body = json.body as NotificationPayload;
    console.log(`rollback webhook received ${json.receivedAt - rolledAt} ms after the rollback`);
    assert.equal(body.env, env);
    assert.equal(body.stage, 'cutover');
    assert.match(body.title, /reads back on Cassandra/);
    // The figures that called for the rollback: corrupted points (mismatches) or, on a busy machine,
    // the new store's reads failing or timing out in the same window.
    const ev = body.evidence;
    assert.ok(
      (Number(ev.mismatches) > 0 && Number(ev.mismatchRate) > policy.rollbackMismatchRate) || Number(ev.newStoreErrorRate) > policy.rollbackErrorRate,
      JSON.stringify(ev),
    );
    // At 50 % or, if the automatic step to 100 % came before the first corrupted write, at 100 %.
    assert.ok(ev.ramp === 50 || ev.ramp === 100, `rolled back at ${String(ev.ramp)}%`);
    assert.ok(Number(ev.comparisons) >= policy.minSamplesForRollback);
    for (const [k, v] of Object.entries(rolled.rolledBack!.evidence)) assert.deepEqual(ev[k], v, `evidence ${k} as the workflow recorded it`);
    assert.equal(body.reason, rolled.rolledBack!.reason);
    const slack = receiver.messages().find((m) => m.path === '/hooks/slack')!.body as { text: string; blocks: { fields?: { text: string }[] }[] };
    assert.match(slack.text, /automatic rollback/);
    // The Slack fields say the figures in words and percents (not `mismatchRate 0.125`).
    assert.ok(
      slack.blocks.some((b) => b.fields?.some((f) => /^\*mismatch rate\*\n\d+(\.\d+)?%$/.test(f.text))),
      JSON.stringify(slack.blocks),
    );
    // Earlier events went to the generic route too: the stages entered and the gates met.
    const kinds = new Set(receiver.messages().map((m) => (m.body as NotificationPayload).kind));
    assert.ok(kinds.has('stage_entered') && kinds.has('gate_met'), [...kinds].join(','));

    // The console says where reads are, in words, and shows the evidence within the window.
    await page.goto(`/envs/${env}`);
    const words = page.getByTestId('env-rollback-words');
    await words.waitFor({ timeout: 15_000 });
    assert.match((await words.textContent()) ?? '', /reads: 100 % Cassandra — reads back on Cassandra: rolled back automatically at \d\d:\d\d UTC because /);
    // The evidence's own row, labelled in words with a percent (the reason above it may name the figure too).
    const rateRow = page.getByTestId('rollback-evidence').locator('[data-key=mismatchRate]');
    await rateRow.waitFor();
    assert.match((await rateRow.textContent()) ?? '', /^mismatch rate\d+(\.\d+)?%$/);
    await page.locator('[data-testid=chart-mismatch][data-has-data=yes]').waitFor({ timeout: 30_000 });
    const yMax = Number(await page.getByTestId('chart-mismatch').getAttribute('data-y-max'));
    assert.ok(yMax > 0 && yMax <= 1, `percent axis top ${yMax}`);
    // recharts draws the axes once its container has been measured; its tick labels sit in their own
    // layer (`recharts-yAxis-tick-labels`), outside the axis group.
    const tickLabels = page.locator('[data-testid=chart-mismatch] .recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value');
    await tickLabels.first().waitFor({ timeout: 15_000 });
    const ticks = await tickLabels.allTextContents();
    assert.ok(ticks.length > 0 && ticks.every((t) => /%$/.test(t.trim()) && parseFloat(t) <= 100), `percent ticks: ${ticks.join(', ')}`);
    await assertNoHorizontalOverflow(page, 'the env page with the rollback evidence');
    await screenshot(page, 'env-automatic-rollback-1280');

    // Every page, at 1280 px and on a narrow window: never wider than the window.
    const audit = await readAudit(dynamo, { env, limit: 200 });
    assert.ok(
      audit.some((e) => JSON.stringify(e.evidence).length > 600),
      'the audit page has long evidence to show',
    );
    for (const [width, height] of [
      [1280, 800],
      [390, 844],
    ] as const) {
      await page.setViewportSize({ width, height });
      for (const p of ['/', `/envs/${env}`, `/envs/${pred}`, `/audit?env=${env}`, '/audit', '/pipeline', '/metrics', '/notifications']) {
        await page.goto(p);
        await page.waitForLoadState('networkidle');
        await assertNoHorizontalOverflow(page, `${p} at ${width} px`);
        await screenshot(page, `page-${width}${p.replace(/[^a-z0-9]+/gi, '-')}`);
      }
    }
    // The Notifications page lists what the local receiver got, and sends a test notification.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto('/notifications');
    await page.locator('[data-testid=received] tr[data-kind=automatic_rollback]').first().waitFor();
    await page.getByTestId('send-test-notification').click();
    await page.locator('[data-testid=test-notification-result][data-status=ok]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=received] tr[data-kind=test]').first().waitFor({ timeout: 10_000 });
    await screenshot(page, 'notifications');
    // Every page asks for the favicon: it is there (no 404 in the browser's log).
    const icon = await fetch(`${consoleApp.url}/favicon.ico`);
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /image/);
    await page.context().close();
  });
});
