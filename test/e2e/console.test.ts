import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { Producer } from 'kafkajs';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { readAudit } from '../../audit/audit-log.js';
import { createDynamoClient, createKafka } from '../../config/clients.js';
import { demoPolicy } from '../../config/migration-policy.js';
import { runReadTraffic, type ReadTrafficSummary } from '../../tools/generator/read-traffic.js';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId, type MigrationPolicy, type MigrationState } from '../../contract/index.js';
import { launchBrowser, newConsoleContext, screenshot } from '../support/browser.js';
import { ConsoleProcess, ensureConsoleBuilt, writeUsersFile, type TestUser } from '../support/console.js';
import { launchMigrationRig, runLiveLoad } from '../support/migration-rig.js';
import { dropEnv, PipelineProcess, testEnv } from '../support/pipeline.js';
import { freePort, testConfig } from '../support/stack.js';

// The operator console in a real browser (Debian's headless Chromium through playwright-core) on
// the real stack: pipeline, query service, Temporal worker and the migration workflow of a fresh
// environment, with live observations and dashboard reads flowing. Screenshots go to
// test-results/screenshots/.
const cfg = testConfig();

describe('console: sign-in, roles and actions in a real browser', () => {
  const env = testEnv('con');
  let taskQueue: string;
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'test-console' });
  const dynamo = createDynamoClient(cfg);
  let producer: Producer;
  let client: Client;
  let closeTemporal: () => Promise<void>;
  let consoleApp: ConsoleProcess;
  let users: Record<string, TestUser>;
  let usersFile: string;
  let browser: Browser;
  let stopLoad = false;
  let load: Promise<unknown>;
  let reads: Promise<ReadTrafficSummary>;
  let queryUrl: string;
  const secret = randomBytes(32).toString('base64url');
  /** The operator's advance request as the browser sent it (a server action call), for forgery tests. */
  let advanceRequest: { url: string; headers: Record<string, string>; body: string } | undefined;

  const policy: MigrationPolicy = {
    ...demoPolicy([env]),
    // The environment moves as one here (test/e2e/cohort-cutover.test.ts covers cohorts).
    cohorts: [],
    // Long enough for the first advance to be refused by the bake time, short enough to wait out.
    bakeMs: { dualWrite: 20_000, science: 60_000, cutover: 60_000 },
    autoRamp: false,
    maxWriterLag: 10_000,
    evaluationIntervalMs: 5_000,
    ackTimeoutMs: 20_000,
  };
  const state = (): Promise<MigrationState> => client.workflow.getHandle(migrationWorkflowId(env)).query<MigrationState>('stateQuery');

  const signIn = async (username: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await newConsoleContext(browser, { baseURL: consoleApp.url, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(users[username]!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    assert.match((await page.getByTestId('whoami').textContent()) ?? '', new RegExp(`${username}\\s*${users[username]!.role}`));
    return { context, page };
  };

  before(async () => {
    const building = ensureConsoleBuilt();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const rig = await launchMigrationRig(cfg, env, { retention: '10m', aggregatorLateness: '5s' });
    procs.push(...rig.procs);
    queryUrl = rig.queryUrl;
    taskQueue = rig.taskQueue;
    client = rig.client;
    closeTemporal = rig.closeTemporal;
    load = runLiveLoad(producer, env, { apps: 3, count: 300, ratePerSec: 150, seed: 11, shouldStop: () => stopLoad });
    reads = runReadTraffic({
      baseUrl: queryUrl,
      env,
      apps: 3,
      metrics: ['router.service_ms'],
      ratePerSec: 5,
      durationMs: 20 * 60_000,
      seed: 5,
      shouldStop: () => stopLoad,
      ranges: [[10 * 60_000, 1]],
    });
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue, args: [{ env, policy }] });

    const written = writeUsersFile(path.join(os.tmpdir(), `switchyard-${env}`), [
      { username: 'olivia', role: 'operator' },
      { username: 'victor', role: 'viewer' },
      { username: 'alma', role: 'approver' },
    ]);
    users = written.users;
    usersFile = written.file;
    await building;
    consoleApp = await new ConsoleProcess(`${env}-console`, await freePort(), {
      SWITCHYARD_ENVS: env,
      TEMPORAL_TASK_QUEUE: taskQueue,
      SWITCHYARD_SESSION_SECRET: secret,
      SWITCHYARD_USERS_FILE: usersFile,
      SWITCHYARD_QUERY_URL: queryUrl,
    }).startAndWait();
    browser = await launchBrowser();
  });

  after(async () => {
    stopLoad = true;
    await Promise.race([Promise.allSettled([load, reads]), sleep(15_000)]);
    await browser?.close();
    await consoleApp?.stop();
    await client?.workflow
      .getHandle(migrationWorkflowId(env))
      .terminate('test over')
      .catch(() => undefined);
    await closeTemporal?.();
    await producer?.disconnect();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  it('refuses to start without a session secret or with a bad users file, naming the problem', async () => {
    const noSecret = new ConsoleProcess(`${env}-console-nosecret`, await freePort(), { SWITCHYARD_SESSION_SECRET: '', SWITCHYARD_USERS_FILE: usersFile });
    await assert.rejects(noSecret.startAndWait(30_000), /exited with 1:[\s\S]*SWITCHYARD_SESSION_SECRET/);
    const badUsers = path.join(path.dirname(usersFile), 'bad-users.json');
    fs.writeFileSync(badUsers, JSON.stringify({ users: [{ username: 'eve', role: 'root', passwordHash: 'plain' }] }));
    const bad = new ConsoleProcess(`${env}-console-badusers`, await freePort(), { SWITCHYARD_SESSION_SECRET: secret, SWITCHYARD_USERS_FILE: badUsers });
    await assert.rejects(bad.startAndWait(30_000), /exited with 1:[\s\S]*users file .*bad-users\.json[\s\S]*role[\s\S]*passwordHash/);
  });

  it('refuses a wrong password and signs nobody in', async () => {
    const page = await browser.newPage({ baseURL: consoleApp.url });
    await page.goto('/login');
    await page.getByLabel('Username').fill('olivia');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('login-result').getByText('wrong username or password').waitFor();
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login', 'still not signed in');
    await page.close();
  });

  it('lets an operator start and advance a stage, shows a rejection with its reason, and the audit entries', async () => {
    const { context, page } = await signIn('olivia');
    await page.getByTestId(`env-${env}`).waitFor();
    await page.goto(`/envs/${env}`);
    assert.equal(await page.getByTestId('env-stage').textContent(), 'planned');

    const startForm = page.getByRole('form', { name: 'Start dual write' });
    await startForm.getByPlaceholder('why (goes into the audit log)').fill('e2e: begin the migration');
    await startForm.getByRole('button', { name: 'Start dual write' }).click();
    await page
      .locator('[data-testid=action-result][data-kind=start][data-status=ok]')
      .getByText(/dual_write/)
      .waitFor({ timeout: 60_000 });
    await page.getByTestId('env-stage').getByText('dual_write').waitFor();
    await page.locator('[data-testid=audit-table] tr[data-action=start][data-actor=olivia]').waitFor();

    // Advancing at once: the dual-write bake time is not over, and the workflow says so.
    page.on('request', (r: Request) => {
      const h = r.headers();
      if (r.method() === 'POST' && h['next-action'] && (r.postData() ?? '').includes('advance')) {
        advanceRequest ??= { url: r.url(), headers: h, body: r.postData() ?? '' };
      }
    });
    const advanceForm = page.getByRole('form', { name: 'Advance to science' });
    await advanceForm.getByPlaceholder('why (goes into the audit log)').fill('e2e: writers look healthy');
    await advanceForm.getByRole('button', { name: 'Advance to science' }).click();
    const dialog = page.getByRole('dialog', { name: 'confirm Advance to science' });
    await dialog.getByText('Leave dual_write for science').waitFor();
    await dialog.getByRole('button', { name: 'Confirm advance to science' }).click();
    const rejected = page.locator('[data-testid=action-result][data-kind=advance][data-status=rejected]');
    await rejected.waitFor({ timeout: 60_000 });
    assert.match((await rejected.textContent()) ?? '', /rejected: .*gate dual_write->science not met: .*bake/);
    // The refusal is in the audit history too, with the operator as actor.
    await page.locator('[data-testid=audit-table] tr[data-action=advance_rejected][data-actor=olivia]').first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'operator-advance-rejected');
    assert.equal((await state()).stage, 'dual_write');

    // Once the bake time is over (and the writers are healthy) the same button advances.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const answeredAt = await page.getByTestId('action-result').getAttribute('data-at');
      await advanceForm.getByPlaceholder('why (goes into the audit log)').fill('e2e: bake time over');
      await advanceForm.getByRole('button', { name: 'Advance to science' }).click();
      await dialog.getByRole('button', { name: 'Confirm advance to science' }).click();
      // Wait for the answer to this submit (a new data-at), not the previous one.
      const result = page.getByTestId('action-result');
      const answerBy = Date.now() + 60_000;
      while ((await result.getAttribute('data-at')) === answeredAt) {
        assert.ok(Date.now() < answerBy, 'no answer to the advance within 60 s');
        await sleep(200);
      }
      if ((await result.getAttribute('data-status')) === 'ok') break;
      assert.ok(Date.now() < deadline, `the advance was never accepted: ${await result.textContent()}`);
      await sleep(3000);
    }
    await page.getByTestId('env-stage').getByText('science').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=audit-table] tr[data-action=advance][data-actor=olivia]').first().waitFor();
    await screenshot(page, 'operator-advanced-to-science');
    const s = await state();
    assert.equal(s.stage, 'science');
    const audit = await readAudit(dynamo, { env, limit: 50 });
    const advance = audit.find((e) => e.action === 'advance');
    assert.ok(advance, 'an advance entry in the audit table');
    assert.equal(advance.actor, 'olivia', 'the signed-in identity is the audit actor');
    assert.equal(advance.reason, 'e2e: bake time over');
    assert.deepEqual([advance.from, advance.to], ['dual_write', 'science']);
    assert.ok(advanceRequest, 'the browser sent the advance as a server action');
    await context.close();
  });

  it('shows a viewer no actions, and refuses a forged request from a viewer or from nobody', async () => {
    assert.ok(advanceRequest, 'needs the operator test to have run');
    const { context, page } = await signIn('victor');
    await page.goto(`/envs/${env}`);
    await page.getByTestId('viewer-note').waitFor();
    assert.equal(await page.getByRole('button', { name: /Advance|Roll back|Pause|Set ramp|Start/ }).count(), 0, 'no action buttons for a viewer');
    await screenshot(page, 'viewer-env-page');
    const before = await readAudit(dynamo, { env, limit: 200 });
    const stageBefore = (await state()).stage;

    // Replay the operator's server action with the viewer's session cookie.
    const headers = Object.fromEntries(Object.entries(advanceRequest.headers).filter(([k]) => !['cookie', 'content-length', 'host'].includes(k)));
    const forged = await context.request.post(advanceRequest.url, { headers, data: advanceRequest.body, maxRedirects: 0 });
    const body = await forged.text();
    assert.match(body, /refused: the operator role is required \(victor is a viewer\)/);
    // And with no session at all: the proxy refuses before any action code runs.
    const anonymous = await fetch(advanceRequest.url, { method: 'POST', headers, body: advanceRequest.body, redirect: 'manual' });
    assert.equal(anonymous.status, 401);
    // A forged call to the sign-in page's path reaches the action, whose own role check refuses it.
    const viaLogin = await context.request.post(`${consoleApp.url}/login`, { headers, data: advanceRequest.body, maxRedirects: 0 });
    assert.match(await viaLogin.text(), /refused: the operator role is required/);

    await sleep(1000);
    assert.equal((await state()).stage, stageBefore, 'nothing changed');
    assert.equal((await readAudit(dynamo, { env, limit: 200 })).length, before.length, 'no audit entry was written');
    await context.close();
  });

  it('shows a change made elsewhere within seconds, without a reload', async () => {
    const { context, page } = await signIn('victor');
    await page.goto(`/envs/${env}`);
    const ramp = (await state()).ramp;
    const target = ramp === 5 ? 25 : 5;
    // A marker in the page's JavaScript state survives a refresh of the data, not a reload.
    await page.evaluate('window.__notReloaded = true');
    // Another operator ramps from the command line (straight to the workflow, not through this page).
    const requestId = `cli-${Date.now()}`;
    await client.workflow
      .getHandle(migrationWorkflowId(env))
      .executeUpdate('setRampUpdate', { args: [{ identity: 'bob-cli', reason: 'e2e: ramp from the CLI', requestId, percent: target }], updateId: requestId });
    const t0 = Date.now();
    await page.getByTestId('env-ramp').getByText(`${target}%`).waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=audit-table] tr[data-action=set_ramp][data-actor=bob-cli]').waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate('window.__notReloaded === true'), true, 'the page was not reloaded');
    console.log(`live update shown ${Date.now() - t0} ms after the change`);
    await context.close();
  });

  it('sends security headers: no framing, no sniffing, no referrer', async () => {
    const res = await fetch(`${consoleApp.url}/login`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  });

  it('refuses unauthenticated requests to every page and API route', async () => {
    for (const p of ['/', `/envs/${env}`, '/audit', '/pipeline', '/metrics', '/envs/nope']) {
      const res = await fetch(`${consoleApp.url}${p}`, { redirect: 'manual' });
      assert.ok([302, 303, 307, 308].includes(res.status), `${p} answered ${res.status}`);
      assert.equal(new URL(res.headers.get('location') ?? '', consoleApp.url).pathname, '/login', `${p} redirects to the sign-in page`);
    }
    for (const p of ['/api/health', '/api/audit/export?format=csv', '/api/audit/export?format=json', '/api/nope']) {
      const res = await fetch(`${consoleApp.url}${p}`, { redirect: 'manual' });
      assert.equal(res.status, 401, `${p} answered ${res.status}`);
    }
    // A forged session cookie is no session.
    const res = await fetch(`${consoleApp.url}/api/health`, { headers: { cookie: 'switchyard_session=Fe26.2**forged' } });
    assert.equal(res.status, 401);
  });

  it('renders the charts with data: mismatch, latency per store, reads served, and the Metrics tab preview', async () => {
    const { context, page } = await signIn('olivia');
    await page.goto(`/envs/${env}`);
    // Reads have been flowing since the start: served counts and old-store latency exist.
    for (const id of ['chart-served', 'chart-latency']) {
      await page.locator(`[data-testid=${id}][data-has-data=yes] svg .recharts-line-curve`).first().waitFor({ timeout: 60_000 });
    }
    await screenshot(page, 'env-charts');
    await page.goto(`/metrics?env=${env}&app=app-0001&metric=router.service_ms&minutes=15`);
    // Each line is drawn (as dots while it has at most three minutes). A steady series is a
    // horizontal line whose box has no height, which a visibility check calls hidden: look for
    // the drawn paths or dots instead. Recharts renders dots in their own layer, outside the
    // line's group, so they are counted in the whole chart (one line of one point is one dot).
    const chart = page.locator('[data-testid=chart-preview][data-has-data=yes]');
    const drawn = async (): Promise<boolean> =>
      (await chart.count()) === 1 &&
      (await chart.evaluate((box) => {
        const lines = [...box.querySelectorAll('svg .recharts-line')];
        const curves = lines.filter((g) => /\d/.test(g.querySelector('path.recharts-line-curve')?.getAttribute('d') ?? '')).length;
        return lines.length === 2 && (curves === 2 || box.querySelectorAll('svg .recharts-line-dot').length >= 2);
      }));
    const deadline = Date.now() + 60_000;
    while (!(await drawn())) {
      if (Date.now() > deadline) {
        await screenshot(page, 'failed-metrics-tab-preview');
        const svg = await page
          .locator('[data-testid=chart-preview] svg:has(.recharts-line)')
          .first()
          .evaluate((e) => e.outerHTML.slice(0, 4000))
          .catch((err: Error) => err.message);
        assert.fail(`the Metrics tab preview did not draw its median and p99 lines within 60 s; its chart:\n${svg}`);
      }
      await page.waitForTimeout(500);
    }
    assert.match((await page.getByTestId('served-by').textContent()) ?? '', /served by (the old store|the new store|both stores)/);
    assert.equal(await page.locator('[data-testid=chart-preview] .recharts-line').count(), 2, 'median and p99 lines');
    assert.ok(Number(await page.getByTestId('chart-preview').getAttribute('data-points')) >= 1);
    await screenshot(page, 'metrics-tab-preview');
    await page.goto('/');
    await page
      .getByTestId(`served-${env}`)
      .getByText(/old store [1-9]/)
      .waitFor({ timeout: 30_000 });
    await screenshot(page, 'overview');
    await context.close();
  });

  it('filters the audit history and exports it as CSV and JSON', async () => {
    const { context, page } = await signIn('victor');
    await page.goto(`/audit?env=${env}&actor=olivia`);
    const rows = page.locator('[data-testid=audit-table] tbody tr');
    await rows.first().waitFor();
    const actors = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-actor')));
    assert.ok(actors.length >= 2 && actors.every((a) => a === 'olivia'), `only olivia's entries: ${actors.join(',')}`);
    await screenshot(page, 'audit-filtered');
    const csv = await (await context.request.get(`/api/audit/export?format=csv&env=${env}&action=advance`)).text();
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], 'at,env,seq,actor,action,from,to,reason,evidence,controlVersion,workflowId,runId');
    assert.ok(
      lines.slice(1).some((l) => l.includes(`,${env},`) && l.includes(',olivia,advance,dual_write,science,')),
      csv,
    );
    const json = (await (await context.request.get(`/api/audit/export?format=json&env=${env}`)).json()) as { env: string; action: string }[];
    assert.ok(json.length >= 3 && json.every((e) => e.env === env));
    assert.ok(json.some((e) => e.action === 'start'));
    const bad = await context.request.get('/api/audit/export?format=xml');
    assert.equal(bad.status(), 400);
    await context.close();
  });

  it('shows consumer lag, DLQ counts and each instance with the control-state version it applies', async () => {
    const { context, page } = await signIn('victor');
    await page.goto('/pipeline');
    const instances = page.getByTestId(`instances-${env}`);
    await instances.waitFor({ timeout: 30_000 });
    const text = (await instances.textContent()) ?? '';
    for (const role of ['writer-cassandra', 'writer-dynamodb', 'query']) assert.match(text, new RegExp(role), `${role} instance listed`);
    assert.match(text, /v\d+/);
    await page.getByTestId(`lag-switchyard.${env}.aggregator`).waitFor();
    await page
      .getByTestId(`dlq-${env}`)
      .getByText(/\d+ in/)
      .first()
      .waitFor();
    await screenshot(page, 'pipeline');
    await context.close();
  });

  it('shows a banner, not a crash, when Temporal, Kafka and DynamoDB are unreachable', async () => {
    const dead = await freePort();
    const broken = await new ConsoleProcess(`${env}-console-broken`, await freePort(), {
      SWITCHYARD_ENVS: env,
      SWITCHYARD_SESSION_SECRET: secret,
      SWITCHYARD_USERS_FILE: usersFile,
      SWITCHYARD_QUERY_URL: `http://127.0.0.1:${dead}`,
      TEMPORAL_ADDRESS: `127.0.0.1:${dead}`,
      KAFKA_BROKERS: `127.0.0.1:${dead}`,
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${dead}`,
      // Sign-in sessions live in DynamoDB too: here in a DynamoDB of their own that is up (with
      // none, sign-in itself answers "sign-in is unavailable"), so the pages can show the outage.
      SWITCHYARD_AUTH_DYNAMODB_ENDPOINT: cfg.dynamodb.endpoint!.toString(),
    }).startAndWait();
    try {
      const context = await newConsoleContext(browser, { baseURL: broken.url });
      const page = await context.newPage();
      await page.goto('/login');
      await page.getByLabel('Username').fill('victor');
      await page.getByLabel('Password').fill(users.victor!.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.pathname === '/');
      const banner = page.getByTestId('outage-banner');
      await banner.waitFor({ timeout: 30_000 });
      await banner.getByText(/Temporal is unreachable/).waitFor();
      await banner.getByText(/DynamoDB is unreachable/).waitFor();
      await page.getByTestId(`env-${env}`).waitFor();
      await screenshot(page, 'outage-banner');
      await page.goto('/metrics');
      await page
        .getByTestId('outage-banner')
        .getByText(/query service is unreachable/)
        .waitFor();
      await context.close();
    } finally {
      await broken.stop();
    }
  });
});
