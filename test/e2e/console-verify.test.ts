import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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
  type MigrationState,
  MINUTE_MS,
} from '../../contract/index.js';
import { launchBrowser, newConsoleContext, screenshot } from '../support/browser.js';
import { ConsoleProcess, ensureConsoleBuilt, writeUsersFile, type TestUser } from '../support/console.js';
import { launchMigrationRig, runLiveLoad } from '../support/migration-rig.js';
import { dropEnv, type PipelineProcess, testEnv } from '../support/pipeline.js';
import { freePort, testConfig } from '../support/stack.js';

// Verify and repair from the console, in a real browser, on the real stack (pipeline writing both
// stores, query service, control worker, the migration in dual write): an operator starts a verify
// on the environment page and sees its progress and report; a viewer can start neither.
const cfg = testConfig();

describe('console: verify and repair', () => {
  const env = testEnv('cvr');
  const kafka = createKafka(cfg, { clientId: 'test-console-verify' });
  const dynamo = createDynamoClient(cfg);
  const procs: PipelineProcess[] = [];
  let producer: Producer;
  let client: Client;
  let closeTemporal: () => Promise<void>;
  let consoleApp: ConsoleProcess;
  let users: Record<string, TestUser>;
  let browser: Browser;
  let stopLoad = false;
  let load: Promise<unknown>;
  const secret = randomBytes(32).toString('base64url');
  const policy: MigrationPolicy = { ...demoPolicy([env]), cohorts: [], autoRamp: false, retentionMs: 30 * MINUTE_MS };

  const state = (): Promise<MigrationState> => client.workflow.getHandle(migrationWorkflowId(env)).query<MigrationState>(STATE_QUERY_NAME);
  const signIn = async (username: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await newConsoleContext(browser, { baseURL: consoleApp.url, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(users[username]!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    return { context, page };
  };

  before(async () => {
    // Build the console first: on a busy machine a build next to the pipeline's start slows both.
    await ensureConsoleBuilt();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const rig = await launchMigrationRig(cfg, env, { retention: '30m', aggregatorLateness: '5s' });
    procs.push(...rig.procs);
    client = rig.client;
    closeTemporal = rig.closeTemporal;
    load = runLiveLoad(producer, env, { apps: 3, count: 300, ratePerSec: 150, seed: 17, shouldStop: () => stopLoad });
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue: rig.taskQueue, args: [{ env, policy }] });
    await client.workflow
      .getHandle(migrationWorkflowId(env))
      .executeUpdate(UPDATE_NAMES.start, { args: [{ identity: 'olivia', reason: 'e2e: dual writes for a verify', requestId: randomUUID() }] });
    const written = writeUsersFile(path.join(os.tmpdir(), `switchyard-${env}`), [
      { username: 'olivia', role: 'operator' },
      { username: 'victor', role: 'viewer' },
    ]);
    users = written.users;
    consoleApp = await new ConsoleProcess(`${env}-console`, await freePort(), {
      SWITCHYARD_ENVS: env,
      TEMPORAL_TASK_QUEUE: rig.taskQueue,
      SWITCHYARD_SESSION_SECRET: secret,
      SWITCHYARD_USERS_FILE: written.file,
      SWITCHYARD_QUERY_URL: rig.queryUrl,
    }).startAndWait();
    browser = await launchBrowser();
    // A verify needs a settled minute from the coverage horizon on: the horizon's own minute is
    // settled once it ended a minute (VERIFY_SETTLE_MS) before the minute now running began.
    const h = (await state()).coverageHorizon;
    assert.ok(h !== null, 'dual write recorded a horizon');
    while (Date.now() < h + 2 * MINUTE_MS + 5_000) await sleep(2000);
  });

  after(async () => {
    stopLoad = true;
    await Promise.race([load, sleep(15_000)]);
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

  it('shows a viewer no verify or repair action', async () => {
    const { context, page } = await signIn('victor');
    await page.goto(`/envs/${env}`);
    await page.getByTestId('verify-panel').waitFor();
    await page.getByTestId('verify-viewer-note').getByText('verify and repair need the operator role').waitFor();
    assert.equal(await page.getByTestId('start-verify').count(), 0);
    assert.equal(await page.getByTestId('preview-repair').count(), 0);
    await context.close();
  });

  it('lets an operator start a verify on the environment page and shows its progress and report', async () => {
    const { context, page } = await signIn('olivia');
    await page.goto(`/envs/${env}`);
    const form = page.getByRole('form', { name: 'Start verify' });
    await form.getByRole('textbox', { name: 'reason for Start verify' }).fill('e2e: full diff before cutover');
    await page.getByTestId('start-verify').click();
    // The answer comes once the workflow has started the run (CI saw over a minute under load).
    const answer = page.getByTestId('verify-result');
    await answer.waitFor({ timeout: 150_000 });
    assert.equal(await answer.getAttribute('data-status'), 'ok', `the start of the verify was answered: ${await answer.textContent()}`);
    // The panel shows the run: a progress bar, then its report with the counts.
    const report = page.getByTestId('verify-report');
    await report.waitFor({ timeout: 60_000 });
    await page.getByTestId('verify-progress').first().waitFor();
    await page
      .locator('[data-testid=verify-status][data-status=clean], [data-testid=verify-status][data-status=mismatched]')
      .first()
      .waitFor({ timeout: 180_000 });
    const counts = (await page.getByTestId('verify-counts').first().textContent()) ?? '';
    assert.match(counts, /missing/);
    await screenshot(page, 'verify-report');
    const audit = await readAudit(dynamo, { env, limit: 50 });
    assert.ok(audit.some((e) => e.action === 'verify_finished' && e.actor === 'olivia'));
    await context.close();
  });
});
