import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import type { Producer } from 'kafkajs';
import { readAudit } from '../../audit/audit-log.js';
import { createDynamoClient, createKafka } from '../../config/clients.js';
import { DEMO_COHORTS, demoPolicy } from '../../config/migration-policy.js';
import { readLatestControlState } from '../../control/publisher.js';
import { readScienceSummary } from '../../pipeline/kernel/science/science-stats-reader.js';
import { scienceStatsKey } from '../../pipeline/kernel/science/control-tables.js';
import { runReadTraffic, type ReadResponse } from '../../tools/generator/read-traffic.js';
import { appId } from '../../tools/generator/workload.js';
import { cohortOf, MIGRATION_WORKFLOW_TYPE, migrationWorkflowId, type MigrationPolicy, type MigrationState, type UpdateResult } from '../../contract/index.js';
import { freePort, runCommand, testConfig } from '../support/stack.js';
import { launchMigrationRig, runLiveLoad } from '../support/migration-rig.js';
import { dropEnv, PipelineProcess, testEnv } from '../support/pipeline.js';
import { launchBrowser, newConsoleContext, screenshot } from '../support/browser.js';
import { ConsoleProcess, ensureConsoleBuilt, writeUsersFile, type TestUser } from '../support/console.js';

// Cutover by cohort on the real stack, with the demo's cohorts (two internal apps, a 25 % hash
// bucket, everyone else): the internal apps ramp science and cutover first, on their own
// comparisons, while the other cohorts follow in order. With the internal cohort at cutover 100 %
// and the bucket at science, reads of the internal apps are served by the new store and every
// other app's by the old store (the served-by and parts headers, the per-cohort science counters,
// the query service's per-cohort counter). Then the fault switch, limited to the bucket's apps,
// corrupts their points in the new store: the bucket alone is rolled back by itself; the internal
// apps stay on the new store. The console's Cohorts panel and `ops status` show it.
const cfg = testConfig();

const AGGREGATOR_LATENESS_MS = 5_000;
const RETENTION_MS = 10 * 60_000;
/** app-0001..app-0008: the internal cohort's two apps, two in the bucket (app-0005, app-0008), four others. */
const APPS = 8;
/** Reads a second: enough that the two internal apps get a few comparisons a second. */
const READ_RATE = 12;

describe('e2e: reads cut over cohort by cohort, and a fault in one cohort rolls back only that cohort', () => {
  const env = testEnv('coh');
  const procs: PipelineProcess[] = [];
  const kafka = createKafka(cfg, { clientId: 'test-cohorts' });
  const dynamo = createDynamoClient(cfg);
  let producer: Producer;
  let client: Client;
  let closeTemporal: () => Promise<void>;
  let queryUrl: string;
  let stopLoad = false;
  let load: Promise<unknown>;
  let reads: Promise<unknown>;
  let consoleApp: ConsoleProcess;
  let users: Record<string, TestUser>;
  let browser: Browser;
  const responses: ReadResponse[] = [];
  const cohortOfApp = (app: string): string => cohortOf(app, DEMO_COHORTS)!.name;

  const policy: MigrationPolicy = {
    ...demoPolicy([env]),
    retentionMs: RETENTION_MS,
    bakeMs: { dualWrite: 5_000, science: 10_000, cutover: 10_000 },
    scienceSteps: [50, 100],
    cutoverSteps: [50, 100],
    autoRamp: true,
    autoRampIntervalMs: 4_000,
    minComparisons: 10,
    evaluationIntervalMs: 2_000,
    evaluationWindowMs: 60_000,
    shortWindowMs: 30_000,
    minSamplesForRollback: 5,
    minNewStoreReads: 20,
    // Judged on mismatches: shadow reads timing out on a busy machine are kept below the thresholds.
    rollbackErrorRate: 0.25,
    maxNewStoreErrorRate: 0.25,
    ackTimeoutMs: 20_000,
  };
  const handle = () => client.workflow.getHandle(migrationWorkflowId(env));
  const state = () => handle().query<MigrationState>('stateQuery');
  const update = (name: string, arg: Record<string, unknown>): Promise<UpdateResult> => {
    const requestId = randomUUID();
    return handle().executeUpdate<UpdateResult, [unknown]>(name, {
      args: [{ identity: 'alice', reason: `test: ${name}`, requestId, ...arg }],
      updateId: requestId,
    });
  };
  const cohortIn = (s: MigrationState, name: string) => s.cohorts?.find((c) => c.name === name);
  const waitFor = async (what: string, pred: (s: MigrationState) => boolean, timeoutMs: number): Promise<MigrationState> => {
    const deadline = Date.now() + timeoutMs;
    let s = await state();
    while (!pred(s)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; state: ${JSON.stringify({ stage: s.stage, cohorts: s.cohorts, gates: s.gates })}`);
      await sleep(1000);
      s = await state();
    }
    return s;
  };
  const advanceWhenReady = async (from: string, timeoutMs: number): Promise<UpdateResult> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await update('advanceUpdate', { from });
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(2000);
      }
    }
  };

  before(async () => {
    // The demo's cohorts over this run's apps: both internal apps, at least one in the bucket, the rest everyone else.
    const apps = Array.from({ length: APPS }, (_, i) => appId(i + 1));
    assert.deepEqual(apps.map(cohortOfApp), [
      'internal',
      'internal',
      'everyone-else',
      'everyone-else',
      'low-risk',
      'everyone-else',
      'everyone-else',
      'low-risk',
    ]);
    const building = ensureConsoleBuilt();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const rig = await launchMigrationRig(cfg, env, { retention: `${RETENTION_MS}ms`, aggregatorLateness: `${AGGREGATOR_LATENESS_MS}ms` });
    procs.push(...rig.procs);
    queryUrl = rig.queryUrl;
    client = rig.client;
    closeTemporal = rig.closeTemporal;
    load = runLiveLoad(producer, env, { apps: APPS, count: 400, ratePerSec: 200, seed: 11, shouldStop: () => stopLoad });
    reads = runReadTraffic({
      baseUrl: queryUrl,
      env,
      apps: APPS,
      metrics: ['router.service_ms'],
      ratePerSec: READ_RATE,
      durationMs: 30 * 60_000,
      seed: 13,
      shouldStop: () => stopLoad,
      ranges: [[15 * 60_000, 1]],
      onResponse: (r) => responses.push(r),
    });
    await client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue: rig.taskQueue, args: [{ env, policy }] });
    const written = writeUsersFile(path.join(os.tmpdir(), `switchyard-${env}`), [{ username: 'vera', role: 'viewer' }]);
    users = written.users;
    await building;
    consoleApp = await new ConsoleProcess(`${env}-console`, await freePort(), {
      SWITCHYARD_ENVS: env,
      TEMPORAL_TASK_QUEUE: rig.taskQueue,
      SWITCHYARD_SESSION_SECRET: randomBytes(32).toString('base64url'),
      SWITCHYARD_USERS_FILE: written.file,
      SWITCHYARD_QUERY_URL: queryUrl,
    }).startAndWait(120_000);
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
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  it('serves the internal apps from the new store while the others stay on the old one, and rolls back only the faulty cohort', async (t) => {
    await update('startUpdate', {});
    const science = await advanceWhenReady('dual_write', 90_000);
    assert.deepEqual([science.stage, science.cohort], ['science', 'internal']);

    // The internal cohort ramps science on its own comparisons; the bucket begins only after it.
    await waitFor('internal at science 100 %', (s) => cohortIn(s, 'internal')?.ramp === 100, 300_000);
    const moved = await advanceWhenReady('science', 120_000);
    assert.deepEqual([moved.stage, moved.cohort], ['science', 'internal'], 'the internal cohort moves to cutover; the environment stays in science');
    const cut = await waitFor(
      'internal at cutover 100 %, the bucket at science',
      (s) => cohortIn(s, 'internal')?.stage === 'cutover' && cohortIn(s, 'internal')?.ramp === 100 && (cohortIn(s, 'low-risk')?.ramp ?? 0) > 0,
      120_000,
    );
    assert.equal(cohortIn(cut, 'low-risk')?.stage, 'science');
    // Reads settle on the new routing once every instance applies it (acknowledged before the state says so).
    const from = Date.now() + 1_000;
    await sleep(25_000);
    const to = Date.now();

    const window = responses.filter((r) => r.status === 200 && r.request.sentAt >= from && r.request.sentAt < to);
    const internal = window.filter((r) => cohortOfApp(r.request.app) === 'internal');
    const others = window.filter((r) => cohortOfApp(r.request.app) !== 'internal');
    const fromNew = (r: ReadResponse): boolean => /=new/.test(r.parts ?? '');
    t.diagnostic(
      `internal cohort at cutover 100 %: ${internal.filter(fromNew).length} of ${internal.length} internal reads took a part from the new store; ${others.filter(fromNew).length} of ${others.length} other reads did`,
    );
    assert.ok(internal.length >= 20 && others.length >= 40, `enough reads of each: ${internal.length} internal, ${others.length} others`);
    assert.ok(
      internal.every((r) => r.cohort === 'internal') && others.every((r) => r.cohort === cohortOfApp(r.request.app)),
      'every response names the app\u2019s cohort',
    );
    assert.ok(
      internal.filter(fromNew).length / internal.length >= 0.8,
      'the internal apps are served by the new store (their newest minutes may come from the old one)',
    );
    assert.ok(internal.filter((r) => r.servedBy === 'new' || r.servedBy === 'split').length / internal.length >= 0.8);
    // No read of any other app was ever served by the new store, in the whole run.
    const othersEver = responses.filter((r) => r.status === 200 && cohortOfApp(r.request.app) !== 'internal');
    assert.deepEqual(
      othersEver.filter((r) => r.servedBy !== 'old').map((r) => `${r.request.app} ${r.servedBy} ${r.parts}`),
      [],
      'the other cohorts are served by the old store',
    );
    // The per-cohort science counters say the same: the new store served only the internal cohort's reads.
    const windowMs = Date.now() - from + 10_000;
    const [inStats, lowStats, restStats] = await Promise.all(
      ['internal', 'low-risk', 'everyone-else'].map((c) => readScienceSummary(dynamo, scienceStatsKey(env, c), windowMs)),
    );
    t.diagnostic(
      `science counters since: internal served new ${inStats!.counters.servedNew} / old ${inStats!.counters.servedOld}; low-risk new ${lowStats!.counters.servedNew} / old ${lowStats!.counters.servedOld}, ${lowStats!.counters.comparisons} comparisons; everyone-else new ${restStats!.counters.servedNew}`,
    );
    assert.ok(inStats!.counters.servedNew > 0);
    assert.equal(lowStats!.counters.servedNew, 0);
    assert.equal(restStats!.counters.servedNew, 0);
    assert.ok(lowStats!.counters.comparisons > 0, 'the bucket is compared (science) meanwhile');
    const metrics = await (await fetch(`${queryUrl}/metrics`)).text();
    // One line per label set; the service adds its own labels (component) to each.
    const served = (cohort: string, store: string): number =>
      metrics
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('switchyard_query_cohort_served_total{') && [`env="${env}"`, `cohort="${cohort}"`, `store="${store}"`].every((x) => l.includes(x)),
        )
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    assert.ok(served('internal', 'new') > 0, 'the query service counts the internal cohort\u2019s reads served by the new store');
    assert.equal(served('low-risk', 'new') + served('everyone-else', 'new'), 0);

    // A fault in the bucket's apps only: their points are corrupted in the new store.
    await update('setFaultUpdate', { newWriterCorruptionRate: 1, cohort: 'low-risk' });
    const rolled = await waitFor('the bucket rolled back by itself', (s) => cohortIn(s, 'low-risk')?.rolledBack != null, 180_000);
    const low = cohortIn(rolled, 'low-risk')!;
    const inCohort = cohortIn(rolled, 'internal')!;
    t.diagnostic(`low-risk rolled back: ${low.rolledBack!.reason}`);
    assert.deepEqual([low.stage, low.ramp, low.paused], ['science', 0, true]);
    assert.deepEqual([inCohort.stage, inCohort.ramp, inCohort.rolledBack], ['cutover', 100, null], 'the internal cohort stays cut over');
    assert.equal(cohortIn(rolled, 'everyone-else')?.rolledBack, null);
    assert.equal(rolled.rolledBack, null, 'the environment as a whole is not rolled back');
    const control = await readLatestControlState(kafka, env, 10_000);
    assert.deepEqual(control?.cohorts?.map((c) => [c.name, c.sciencePercent, c.cutoverPercent]).slice(0, 2), [
      ['internal', 100, 100],
      ['low-risk', 0, 0],
    ]);
    // The internal apps are still served by the new store after the bucket's rollback.
    const rolledAt = low.rolledBack!.at;
    await sleep(8_000);
    const afterwards = responses.filter((r) => r.status === 200 && r.request.sentAt > rolledAt + 2_000 && cohortOfApp(r.request.app) === 'internal');
    assert.ok(afterwards.length > 0 && afterwards.filter(fromNew).length / afterwards.length >= 0.8, 'internal reads stay on the new store');

    const audit = await readAudit(dynamo, { env, limit: 500 });
    const rollbacks = audit.filter((e) => e.action === 'automatic_rollback');
    assert.deepEqual(
      rollbacks.map((e) => [e.actor, e.evidence.cohort]),
      [['automatic', 'low-risk']],
      'one automatic rollback, of the faulty cohort',
    );
    assert.ok(
      audit.filter((e) => e.action === 'auto_ramp').every((e) => typeof e.evidence.cohort === 'string'),
      'every automatic step names its cohort',
    );
    assert.ok(audit.some((e) => e.action === 'advance' && e.evidence.cohort === 'internal' && e.evidence.cohortTo === 'cutover'));
    assert.ok(audit.some((e) => e.action === 'set_fault' && e.evidence.cohort === 'low-risk'));

    // What a person sees: the Cohorts panel of the environment page, and ops status.
    const context = await newConsoleContext(browser, { baseURL: consoleApp.url, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username').fill('vera');
    await page.getByLabel('Password').fill(users.vera!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    await page.goto(`/envs/${env}`);
    const internalRow = page.getByTestId('cohort-internal');
    const lowRow = page.getByTestId('cohort-low-risk');
    await internalRow.waitFor({ timeout: 60_000 });
    assert.deepEqual([await internalRow.getAttribute('data-stage'), await internalRow.getAttribute('data-ramp')], ['cutover', '100']);
    assert.equal(await lowRow.getAttribute('data-rolled-back'), 'true');
    assert.match((await lowRow.textContent()) ?? '', /rolled back/);
    assert.match((await page.getByTestId('cohort-low-risk-next').textContent()) ?? '', /after an operator resumes it/);
    await screenshot(page, 'env-cohorts');
    await page.goto('/tokens');
    const form = page.getByRole('form', { name: 'Create a token' });
    await form.getByLabel('Name').fill('cohort check');
    await form.getByLabel('Days').fill('1');
    await form.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.getByTestId('new-token').textContent({ timeout: 30_000 })) ?? '';
    await context.close();
    const ops = await runCommand(process.execPath, ['--import', 'tsx', 'workers/operator-cli.ts', 'status', env], {
      env: { SWITCHYARD_ENVS: env, SWITCHYARD_CONSOLE_URL: consoleApp.url, SWITCHYARD_TOKEN: token },
      timeoutMs: 60_000,
    });
    assert.match(ops.stdout, /cohort internal: cutover 100% \(served by the new store\)/, ops.stdout);
    assert.match(ops.stdout, /cohort low-risk: science 0% \(not begun\) ROLLED BACK at .*cohort low-risk: mismatch rate/, ops.stdout);
  });
});
