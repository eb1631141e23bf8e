import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteTableCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Client as TemporalClient, type Client } from '@temporalio/client';
import { sealData } from 'iron-session';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { AUDIT_TABLE, readAudit } from '../../audit/audit-log.js';
import { connectTemporal, createDynamoClient, createKafka } from '../../config/clients.js';
import { demoPolicy } from '../../config/migration-policy.js';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId, type MigrationPolicy, type MigrationState } from '../../contract/index.js';
import { CONTROL_TOPIC, HEARTBEAT_TOPIC } from '../../control/index.js';
import { SCIENCE_STATS_TABLE } from '../../pipeline/kernel/science/control-tables.js';
import { readPid } from '../../infra/stack/processes.js';
import { cassandraService } from '../../infra/stack/services/cassandra.js';
import { dynamodbService } from '../../infra/stack/services/dynamodb.js';
import { kafkaService } from '../../infra/stack/services/kafka.js';
import { temporalService } from '../../infra/stack/services/temporal.js';
import { launchBrowser, newConsoleContext } from '../support/browser.js';
import { ConsoleProcess, ensureConsoleBuilt, writeUsersFile, type TestUser } from '../support/console.js';
import { temporalClient } from '../support/migration-rig.js';
import { dropEnv, PipelineProcess, queryPort, queryProcess, testEnv } from '../support/pipeline.js';
import { freePort, runCommand, testConfig } from '../support/stack.js';
import { answerToSimplePost, launchAsStack, listeningPorts } from '../support/stack-ports.js';

// The trust model on the real stack: each hole a security review found, tried again and shown
// closed. The console runs as `next start` (test/support/console.ts) with a migration rig behind
// it (pipeline, query service, control worker); the operator CLI runs as `npm run ops` would.
const cfg = testConfig();

describe('security: one front door, revocable sessions, nothing around the console', () => {
  const env = testEnv('sec');
  const dynamo = createDynamoClient(cfg);
  let rig: { taskQueue: string; queryUrl: string; client: Client; closeTemporal: () => Promise<void> };
  const procs: PipelineProcess[] = [];
  let consoleApp: ConsoleProcess;
  let users: Record<string, TestUser>;
  let browser: Browser;
  const secret = randomBytes(32).toString('base64url');
  const authTable = `switchyard-console-auth-${env}`;
  const tokens: Record<string, string> = {};
  /** A sign-in as the browser sent it (a server action), to replay with other passwords. */
  let loginRequest: { url: string; headers: Record<string, string>; body: string } | undefined;
  /** A migration action as the browser sent it, to replay with other fields. */
  let migrationRequest: { url: string; headers: Record<string, string>; body: string } | undefined;

  const policy: MigrationPolicy = { ...demoPolicy([env]), cohorts: [], autoRamp: false, ackTimeoutMs: 20_000 };
  const state = (): Promise<MigrationState> => rig.client.workflow.getHandle(migrationWorkflowId(env)).query<MigrationState>('stateQuery');

  const signIn = async (username: string, password = users[username]!.password): Promise<{ context: BrowserContext; page: Page; cookie: string }> => {
    const context = await newConsoleContext(browser, { baseURL: consoleApp.url });
    const page = await context.newPage();
    page.on('request', (r: Request) => {
      if (r.method() === 'POST' && r.headers()['next-action'] && new URL(r.url()).pathname === '/login') loginRequest ??= capture(r);
    });
    await page.goto('/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    const cookies = await context.cookies();
    const c = cookies.find((x) => x.name === 'switchyard_session');
    assert.ok(c, 'a session cookie');
    return { context, page, cookie: `${c.name}=${c.value}` };
  };
  const capture = (r: Request): { url: string; headers: Record<string, string>; body: string } => ({
    url: r.url(),
    headers: Object.fromEntries(Object.entries(r.headers()).filter(([k]) => !['cookie', 'content-length', 'host'].includes(k))),
    body: r.postData() ?? '',
  });
  /** A multipart body with one field's value replaced (React prefixes the field names of an action's form, e.g. 1_username). */
  const setField = (body: string, field: string, value: string): string => {
    const re = new RegExp(`(name="(?:_?\\d+_)?${field}"\r\n\r\n)[^\r]*`);
    assert.match(body, re, `the form has a ${field} field`);
    return body.replace(re, (_m, head: string) => `${head}${value}`);
  };
  const health = (cookie: string): Promise<Response> => fetch(`${consoleApp.url}/api/health`, { headers: { cookie }, redirect: 'manual' });

  /** `npm run ops -- ...` with the given token (or none) in SWITCHYARD_TOKEN. */
  const ops = (args: string[], token: string | undefined) =>
    runCommand(process.execPath, ['--import', 'tsx', 'workers/operator-cli.ts', ...args], {
      env: {
        SWITCHYARD_ENVS: env,
        SWITCHYARD_CONSOLE_URL: consoleApp.url,
        SWITCHYARD_TOKEN: token,
        SWITCHYARD_TOKEN_FILE: path.join(os.tmpdir(), `no-token-${env}`),
      },
      timeoutMs: 120_000,
    });

  const createToken = async (username: string): Promise<string> => {
    const { context, page } = await signIn(username);
    await page.goto('/tokens');
    const form = page.getByRole('form', { name: 'Create a token' });
    await form.getByLabel('Name').fill(`security test ${username}`);
    await form.getByLabel('Days').fill('1');
    await form.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.getByTestId('new-token').textContent({ timeout: 30_000 })) ?? '';
    assert.match(token, /^syt_/);
    assert.match((await page.getByTestId('token-result').textContent()) ?? '', /not shown again/);
    await context.close();
    return token;
  };

  before(async () => {
    const building = ensureConsoleBuilt();
    // No pipeline: the query service (a data-plane instance that acknowledges control states) and
    // the control worker are all these tests need.
    const taskQueue = `switchyard-test-${env}`;
    const query = queryProcess(`${env}-query`, env, ['--retention', '10m']).start();
    procs.push(query);
    await query.waitForLog(/query service on http:\/\/127\.0\.0\.1:\d+/, 180_000);
    const queryUrl = `http://127.0.0.1:${await queryPort(query)}`;
    // Start-up waits are generous: the worker bundles the workflows first, slow on a busy machine.
    const worker = new PipelineProcess(`${env}-worker`, 'workers/control-worker.ts', [], { SWITCHYARD_ENVS: env, TEMPORAL_TASK_QUEUE: taskQueue }).start();
    procs.push(worker);
    await worker.waitForLog(/control worker polling/, 300_000);
    const temporal = await temporalClient(cfg);
    rig = { taskQueue, queryUrl, client: temporal.client, closeTemporal: temporal.close };
    await rig.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue: rig.taskQueue, args: [{ env, policy }] });
    users = writeUsersFile(path.join(os.tmpdir(), `switchyard-${env}`), [
      { username: 'olivia', role: 'operator' },
      { username: 'oscar', role: 'operator' },
      { username: 'victor', role: 'viewer' },
      { username: 'alma', role: 'approver' },
      { username: 'tess', role: 'viewer' },
      { username: 'bruno', role: 'viewer' },
    ]).users;
    await building;
    consoleApp = await new ConsoleProcess(`${env}-console`, await freePort(), {
      SWITCHYARD_ENVS: env,
      TEMPORAL_TASK_QUEUE: rig.taskQueue,
      SWITCHYARD_SESSION_SECRET: secret,
      SWITCHYARD_USERS_FILE: path.join(os.tmpdir(), `switchyard-${env}`, 'users.json'),
      SWITCHYARD_QUERY_URL: rig.queryUrl,
      SWITCHYARD_AUTH_TABLE: authTable,
    }).startAndWait(180_000);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await consoleApp?.stop();
    await rig?.client.workflow
      .getHandle(migrationWorkflowId(env))
      .terminate('test over')
      .catch(() => undefined);
    await rig?.closeTemporal();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dynamo.send(new DeleteTableCommand({ TableName: authTable })).catch(() => undefined);
    dynamo.destroy();
    await dropEnv(cfg, env);
  });

  it('ends a session on the server at sign-out: the old cookie is refused everywhere', async () => {
    const { context, page, cookie } = await signIn('olivia');
    assert.equal((await health(cookie)).status, 200, 'the session works before sign-out');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/login');
    // The browser has forgotten the cookie; someone who copied it has not.
    const reused = await health(cookie);
    assert.equal(reused.status, 401, 'a signed-out cookie is no session');
    const pageAgain = await fetch(`${consoleApp.url}/`, { headers: { cookie }, redirect: 'manual' });
    assert.ok([302, 303, 307, 308].includes(pageAgain.status), `the overview answered ${pageAgain.status}`);
    assert.equal(new URL(pageAgain.headers.get('location') ?? '', consoleApp.url).pathname, '/login');
    await context.close();
  });

  it("lets an approver end a user's sessions from the console; a viewer or operator cannot open that page", async () => {
    const olivia = await signIn('olivia');
    assert.equal((await health(olivia.cookie)).status, 200);
    const alma = await signIn('alma');
    await alma.page.goto('/sessions');
    await alma.page.locator('[data-testid=session-table] tr[data-user=olivia]').first().waitFor();
    await alma.page.getByRole('button', { name: 'End olivia’s sessions' }).click();
    await alma.page
      .getByTestId('end-sessions-result')
      .getByText(/ended \d+ sessions? of olivia \(by alma\)/)
      .waitFor({ timeout: 30_000 });
    assert.equal((await health(olivia.cookie)).status, 401, "olivia's session was ended");
    assert.equal((await health(alma.cookie)).status, 200, "alma's own session goes on");
    const victor = await signIn('victor');
    await victor.page.goto('/sessions');
    // The page redirects before it reads anything (its status is already sent: the redirect is in the page).
    await victor.page.waitForURL((u) => u.pathname === '/', { timeout: 15_000 });
    assert.equal(await victor.page.getByTestId('session-table').count(), 0, 'a viewer sees no session table');
    const oscar = await signIn('oscar');
    await oscar.page.goto('/sessions');
    await oscar.page.waitForURL((u) => u.pathname === '/', { timeout: 15_000 });
    assert.equal(await oscar.page.getByTestId('session-table').count(), 0, 'an operator sees no session table');
    await Promise.all([olivia.context.close(), alma.context.close(), victor.context.close(), oscar.context.close()]);
  });

  it('throttles the 11th wrong password in a minute, even when right, while the server stays responsive', async () => {
    const watcher = await signIn('alma');
    assert.ok(loginRequest, 'a sign-in was captured');
    const form = loginRequest;
    const attempt = (password: string): Promise<string> =>
      fetch(form.url, {
        method: 'POST',
        headers: form.headers,
        body: setField(setField(form.body, 'username', 'tess'), 'password', password),
        redirect: 'manual',
      }).then((r) => r.text());
    // Ten wrong passwords at once, with health checks of a signed-in session meanwhile.
    const healthChecks: number[] = [];
    let stop = false;
    const probing = (async () => {
      while (!stop) {
        const t0 = performance.now();
        const res = await health(watcher.cookie);
        assert.equal(res.status, 200, 'health answers while sign-ins are checked');
        healthChecks.push(performance.now() - t0);
        await sleep(50);
      }
    })();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(`wrong-${i}`)));
    for (const a of answers) assert.match(a, /wrong username or password/);
    const eleventh = await attempt('wrong-again');
    assert.match(eleventh, /too many attempts, try again in \d+ s/);
    const right = await attempt(users.tess!.password);
    assert.match(right, /too many attempts, try again in \d+ s/, 'the right password waits too');
    stop = true;
    await probing;
    assert.ok(healthChecks.length > 0);
    console.log(`health during sign-ins: ${healthChecks.length} checks, slowest ${Math.round(Math.max(...healthChecks))} ms`);
    // Another user name is not locked out by tess's throttle.
    const other = await signIn('oscar');
    await Promise.all([watcher.context.close(), other.context.close()]);
  });

  it('counts a sign-in before its password is checked: of 20 wrong passwords sent at once, only the limit is checked', async () => {
    const watcher = await signIn('alma');
    assert.ok(loginRequest, 'a sign-in was captured');
    const form = loginRequest;
    // From an address of its own, so this burst counts only against bruno's name and that address.
    const attempt = (password: string): Promise<string> =>
      fetch(form.url, {
        method: 'POST',
        headers: { ...form.headers, 'x-forwarded-for': '198.51.100.20' },
        body: setField(setField(form.body, 'username', 'bruno'), 'password', password),
        redirect: 'manual',
      }).then((r) => r.text());
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(`burst-${i}`)));
    const elapsed = performance.now() - t0;
    const checked = answers.filter((a) => /wrong username or password/.test(a)).length;
    const refused = answers.filter((a) => /too many attempts, try again in \d+ s/.test(a)).length;
    console.log(`burst of 20: ${checked} checked, ${refused} refused before any check, ${Math.round(elapsed)} ms`);
    assert.equal(checked + refused, 20, 'every attempt was answered one way or the other');
    assert.equal(checked, 10, 'only the limit (10 a minute) reached the password check');
    // The right password waits too, and the console answered a signed-in user meanwhile.
    assert.match(await attempt(users.bruno!.password), /too many attempts/);
    assert.equal((await health(watcher.cookie)).status, 200);
    await watcher.context.close();
  });

  it('sends the security headers: a nonce CSP, no framing, no sniffing, no referrer; no HSTS over plain HTTP', async () => {
    const a = await fetch(`${consoleApp.url}/login`);
    const b = await fetch(`${consoleApp.url}/login`);
    const csp = a.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    assert.match(csp, /default-src 'self'/);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    assert.notEqual(nonce, /'nonce-([^']+)'/.exec(b.headers.get('content-security-policy') ?? '')?.[1], 'a fresh nonce per response');
    const html = await a.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.ok(scripts.length > 0);
    for (const s of scripts) assert.match(s, new RegExp(`nonce="${nonce.replace(/[+/=]/g, (c) => `\\${c}`)}"`), `script carries the nonce: ${s}`);
    assert.equal(a.headers.get('x-frame-options'), 'DENY');
    assert.equal(a.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(a.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(a.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
    // A client claiming HTTPS is not a trusted proxy: still no HSTS.
    const spoofed = await fetch(`${consoleApp.url}/login`, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(spoofed.headers.get('strict-transport-security'), null);
    // The page renders with the CSP on: its scripts run (the sign-in form hydrates and works).
    const { context } = await signIn('oscar');
    await context.close();
  });

  it('refuses a server action from another site, even with a forged X-Forwarded-Host; a trusted proxy may forward the host', async () => {
    const { context, page } = await signIn('olivia');
    await page.goto(`/envs/${env}`);
    // Capture the start request the page sends, without letting it through.
    await page.route('**/*', async (route) => {
      const r = route.request();
      if (r.method() === 'POST' && r.headers()['next-action']) {
        migrationRequest ??= capture(r);
        await route.abort();
      } else await route.continue();
    });
    const startForm = page.getByRole('form', { name: 'Start dual write' });
    await startForm.getByPlaceholder('why (goes into the audit log)').fill('security: capture a request');
    await startForm.getByRole('button', { name: 'Start dual write' }).click();
    for (let i = 0; i < 100 && !migrationRequest; i++) await sleep(100);
    assert.ok(migrationRequest, 'the browser sent the start as a server action');
    await page.unroute('**/*');
    const cookie = (await context.cookies()).find((c) => c.name === 'switchyard_session')!;
    const before = (await readAudit(dynamo, { env, limit: 500 })).length;
    const forged = await fetch(migrationRequest.url, {
      method: 'POST',
      headers: { ...migrationRequest.headers, cookie: `${cookie.name}=${cookie.value}`, origin: 'http://evil.example', 'x-forwarded-host': 'evil.example' },
      body: migrationRequest.body.replace('security: capture a request', 'security: forged from evil'),
      redirect: 'manual',
    });
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /not from this console/);
    await sleep(1000);
    assert.equal((await readAudit(dynamo, { env, limit: 500 })).length, before, 'nothing was done');
    assert.equal((await state()).stage, 'planned', 'still planned');
    await context.close();

    // Behind a trusted proxy (SWITCHYARD_TRUSTED_PROXY=1) the forwarded host and scheme count: HSTS over HTTPS.
    const proxied = await new ConsoleProcess(`${env}-console-proxied`, await freePort(), {
      SWITCHYARD_ENVS: env,
      SWITCHYARD_SESSION_SECRET: secret,
      SWITCHYARD_USERS_FILE: path.join(os.tmpdir(), `switchyard-${env}`, 'users.json'),
      SWITCHYARD_AUTH_TABLE: authTable,
      SWITCHYARD_TRUSTED_PROXY: '1',
    }).startAndWait(180_000);
    try {
      const res = await fetch(`${proxied.url}/login`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'console.example' } });
      assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
      const fromProxiedHost = await fetch(`${proxied.url}/login`, {
        method: 'POST',
        headers: {
          origin: 'https://evil.example',
          'x-forwarded-host': 'console.example',
          'next-action': 'x',
          'content-type': 'multipart/form-data; boundary=b',
        },
        body: '--b--\r\n',
      });
      assert.equal(fromProxiedHost.status, 403, 'the origin must still match the forwarded host');
    } finally {
      await proxied.stop();
    }
  });

  it('compares the Origin with the console’s own origin, scheme and port included, not with the Host header', async () => {
    assert.ok(migrationRequest, 'needs the captured action');
    const { context, cookie } = await signIn('olivia');
    const port = new URL(consoleApp.url).port;
    const before = (await readAudit(dynamo, { env, limit: 500 })).length;
    /** The captured start, sent with the given Origin and Host (node:http: fetch does not let a caller set Host). */
    const send = (origin: string, host: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const body = Buffer.from(migrationRequest!.body.replace('security: capture a request', 'security: forged origin'));
        const req = http.request(
          migrationRequest!.url,
          { method: 'POST', headers: { ...migrationRequest!.headers, cookie, origin, host, 'content-length': String(body.length) } },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const hostMatches = await send(`http://evil.example:${port}`, `evil.example:${port}`);
    assert.equal(hostMatches.status, 403, hostMatches.body);
    assert.match(hostMatches.body, new RegExp(`a request from http://evil\\.example:${port} is not from this console \\(http://127\\.0\\.0\\.1:${port}\\)`));
    const otherScheme = await send(`https://127.0.0.1:${port}`, `127.0.0.1:${port}`);
    assert.equal(otherScheme.status, 403, otherScheme.body);
    assert.match(otherScheme.body, /a request from https:\/\/127\.0\.0\.1:\d+ is not from this console/);
    await sleep(1000);
    assert.equal((await readAudit(dynamo, { env, limit: 500 })).length, before, 'nothing was done');
    assert.equal((await state()).stage, 'planned', 'still planned');
    await context.close();
  });

  it('answers bad console input with 400, 404 or 413 and a clear message, never 500', async () => {
    assert.ok(migrationRequest, 'needs the captured action');
    const { context, cookie } = await signIn('olivia');
    const get = (p: string, accept = 'text/html') => fetch(`${consoleApp.url}${p}`, { headers: { cookie, accept }, redirect: 'manual' });
    const malformed = await get('/envs/%E0%A4%A');
    assert.equal(malformed.status, 400);
    assert.match(await malformed.text(), /malformed URL/);
    const unknown = await get('/envs/no-such-env');
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /no environment &#39;no-such-env&#39;|no environment 'no-such-env'/);
    assert.equal((await get(`/envs/${env}`)).status, 200, 'a known env is still a page');

    const action = (headers: Record<string, string>, body: string | Buffer) =>
      fetch(migrationRequest!.url, { method: 'POST', headers: { ...migrationRequest!.headers, cookie, ...headers }, body, redirect: 'manual' });
    const big = await action({}, Buffer.alloc(2 * 1024 * 1024, 'a'));
    assert.equal(big.status, 413);
    assert.match(await big.text(), /too large/);
    const json = await action({ 'content-type': 'application/json' }, '{"kind":"pause"}');
    assert.equal(json.status, 400);
    assert.match(await json.text(), /takes a form/);
    const broken = await action({}, 'this is not multipart');
    assert.equal(broken.status, 400);
    assert.match(await broken.text(), /form could not be read/);
    const notJson = await action({ 'content-type': 'text/plain;charset=UTF-8' }, '["$K1",{');
    assert.equal(notJson.status, 400);

    // An empty ramp percent is refused, not taken as 0.
    const rampBefore = (await state()).ramp;
    const boundary = /boundary=(\S+)/.exec(migrationRequest.headers['content-type'] ?? '')![1]!;
    const prefix = /name="(_?\d+_)?kind"/.exec(migrationRequest.body)?.[1] ?? '';
    const asRamp = setField(setField(migrationRequest.body, 'kind', 'set_ramp'), 'reason', 'security: empty percent').replace(
      `--${boundary}--`,
      `--${boundary}\r\nContent-Disposition: form-data; name="${prefix}percent"\r\n\r\n\r\n--${boundary}--`,
    );
    const refused = await action({}, asRamp);
    assert.equal(refused.status, 200);
    assert.match(await refused.text(), /not sent: percent: (the percent must be a whole number from 0 to 100|a percent from 0 to 100 is required)/);
    assert.equal((await state()).ramp, rampBefore);
    await context.close();
  });

  it('answers a malformed action body 400, signed in or not, on /login too', async () => {
    assert.ok(migrationRequest && loginRequest, 'needs the captured actions');
    const { context, cookie } = await signIn('olivia');
    const post = (url: string, headers: Record<string, string>, body: string | FormData) => fetch(url, { method: 'POST', headers, body, redirect: 'manual' });
    const loginId = loginRequest.headers['next-action']!;
    const envActionId = migrationRequest.headers['next-action']!;
    const asForm = (parts: Record<string, string>): FormData => {
      const f = new FormData();
      for (const [k, v] of Object.entries(parts)) f.append(k, v);
      return f;
    };
    const cases: { name: string; send: () => Promise<Response>; why: RegExp }[] = [
      {
        name: 'text/plain, no session, /login',
        send: () => post(loginRequest!.url, { 'next-action': loginId, 'content-type': 'text/plain;charset=UTF-8' }, '[{},"$@99"]'),
        why: /'\$@99' refers to part 99 of the body, which it does not have/,
      },
      { name: 'multipart, no session, /login', send: () => post(loginRequest!.url, { 'next-action': loginId }, asForm({ 0: '[{},"$@99"]' })), why: /part 99/ },
      {
        name: 'multipart, signed in',
        send: () => post(migrationRequest!.url, { 'next-action': envActionId, cookie }, asForm({ 0: '[{},"$@99"]' })),
        why: /part 99/,
      },
      {
        name: 'not a form where the action takes one',
        send: () => post(migrationRequest!.url, { 'next-action': envActionId, cookie, 'content-type': 'text/plain' }, '[{},{}]'),
        why: /the last argument is not a form/,
      },
      {
        name: 'a form posted without JavaScript, naming a part it does not have',
        send: () => post(loginRequest!.url, {}, asForm({ $ACTION_REF_1: '', '$ACTION_1:0': '{"id":"x","bound":"$@9"}' })),
        why: /part 9/,
      },
    ];
    for (const c of cases) {
      const res = await c.send();
      const text = await res.text();
      assert.equal(res.status, 400, `${c.name}: ${res.status} ${text.slice(0, 300)}`);
      assert.match(text, c.why, c.name);
    }
    await context.close();
  });

  it('makes personal API tokens on a console page, shown once, listed and revocable', async () => {
    for (const u of ['olivia', 'oscar', 'victor', 'alma']) tokens[u] = await createToken(u);
    const { context, page } = await signIn('oscar');
    await page.goto('/tokens');
    const row = page.locator('[data-testid=token-table] tr[data-state=active]').first();
    await row.waitFor();
    assert.equal(await page.getByText(tokens.oscar!).count(), 0, 'the token itself is not shown again');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page
      .getByTestId('revoke-result')
      .getByText(/revoked token/)
      .waitFor({ timeout: 30_000 });
    await page.goto('/tokens');
    await page.locator('[data-testid=token-table] tr[data-state=revoked]').first().waitFor();
    await context.close();
  });

  it('refuses the CLI without a token, with a revoked token and with a viewer’s token; --as is gone', async () => {
    const noToken = await ops(['ramp', env, '5', '--reason', 'security: no token'], undefined);
    assert.equal(noToken.code, 2, noToken.stderr);
    assert.match(noToken.stderr, /no API token: create one on the console's API tokens page/);
    const revoked = await ops(['pause', env, '--reason', 'security: revoked'], tokens.oscar);
    assert.equal(revoked.code, 1, revoked.stderr);
    assert.match(revoked.stderr, /refused \(401\): the API token is refused: token \S+ was revoked/);
    const viewer = await ops(['pause', env, '--reason', 'security: viewer'], tokens.victor);
    assert.equal(viewer.code, 1, viewer.stderr);
    assert.match(viewer.stderr, /refused \(403\): the operator role is required \(victor's token is a viewer token\)/);
    const forged = await ops(['pause', env, '--reason', 'security: forged', '--as', 'alma'], tokens.olivia);
    assert.equal(forged.code, 2);
    assert.match(forged.stderr, /--as is gone/);
    const onCommandLine = await ops(['status', `--token=${tokens.olivia}`], undefined);
    assert.equal(onCommandLine.code, 2);
    assert.match(onCommandLine.stderr, /--token is not accepted/);
    // Straight at the API: no token, a made-up one.
    const anonymous = await fetch(`${consoleApp.url}/api/ops/envs/${env}/pause`, { method: 'POST', body: '{}' });
    assert.equal(anonymous.status, 401);
    const madeUp = await fetch(`${consoleApp.url}/api/ops/status`, { headers: { authorization: `Bearer syt_${'A'.repeat(16)}_${'B'.repeat(43)}` } });
    assert.equal(madeUp.status, 401);
  });

  it("acts as the token's owner whatever else is sent, through the same checks as the console", async () => {
    const status = await ops(['status', env], tokens.olivia);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`${env}: planned|${env}: dual_write`));
    const reason = '=HYPERLINK("http://evil.example","click")';
    const start = await ops(['start', env, '--reason', reason], tokens.olivia);
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /as olivia\)/);
    const after = await ops(['status', env], tokens.victor);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, new RegExp(`${env}: dual_write`));
    assert.match(after.stdout, /coverage horizon \d{4}-/);
    // The version the data plane applies, next to the newest on the control topic.
    assert.match(after.stdout, /newest on the control topic v\d+; live instances apply v\d+ on \d+ \(/);
    // An identity in the body is not read: the actor is the token's owner.
    const res = await fetch(`${consoleApp.url}/api/ops/envs/${env}/ramp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.olivia}`, 'content-type': 'application/json' },
      body: JSON.stringify({ identity: 'alma', reason: 'security: claims to be alma', requestId: `sec-${Date.now()}`, percent: 0 }),
    });
    assert.ok([200, 409].includes(res.status), `ramp answered ${res.status}: ${await res.clone().text()}`);
    const audit = await readAudit(dynamo, { env, limit: 500 });
    const started = audit.find((e) => e.action === 'start');
    assert.ok(started, 'a start entry');
    assert.equal(started.actor, 'olivia');
    // A refused request is audited too, with the refusal as its reason and the request's own in its evidence.
    const claimed = audit.filter((e) => e.reason === 'security: claims to be alma' || e.evidence?.requestReason === 'security: claims to be alma');
    assert.ok(claimed.length > 0, 'the ramp request was audited');
    for (const e of claimed) assert.equal(e.actor, 'olivia', 'the body cannot name another actor');
    assert.equal(audit.filter((e) => e.actor === 'alma').length, 0, 'nothing in the audit log claims to be alma');

    // The workflow's own checks hold here as in the console: a stale advance is refused with its reason.
    const stale = await ops(['advance', env, '--from', 'science', '--reason', 'stale page'], tokens.olivia);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /rejected: .*dual_write/);
    const noReason = await ops(['ramp', env, '50'], tokens.olivia);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason "<why>" is required/);
    // Approving a decommission needs an approver's token (the workflow then refuses the requester's own approval).
    const approve = await ops(['approve', env, '--reason', 'security: operator approves'], tokens.olivia);
    assert.equal(approve.code, 1);
    assert.match(approve.stderr, /refused \(403\): the approver role is required/);
    const approver = await ops(['approve', env, '--reason', 'security: nothing to approve'], tokens.alma);
    assert.equal(approver.code, 1, 'not in decommission: the workflow refuses');
    assert.match(approver.stderr, /rejected: /);

    // The audit export escapes the formula the reason carried.
    const { context, cookie } = await signIn('victor');
    const csv = await (await fetch(`${consoleApp.url}/api/audit/export?format=csv&env=${env}`, { headers: { cookie } })).text();
    assert.ok(csv.includes(`"'=HYPERLINK(""http://evil.example"",""click"")"`), `escaped formula in:\n${csv.slice(0, 2000)}`);
    await context.close();
  });

  it('refuses a token or session row written straight into the auth table, and a real token row changed there', async () => {
    const now = Date.now();
    const hex = (s: string): string => createHash('sha256').update(s).digest('hex');
    // A token of the attacker's choosing, as an approver: a row like the console's, with a made-up verifier.
    const id = randomBytes(12).toString('base64url');
    const secretPart = randomBytes(32).toString('base64url');
    const forgedToken = `syt_${id}_${secretPart}`;
    await dynamo.send(
      new PutItemCommand({
        TableName: authTable,
        Item: {
          pk: { S: `token#${id}` },
          sk: { S: 'token' },
          username: { S: 'alma' },
          role: { S: 'approver' },
          name: { S: 'forged' },
          secretHash: { S: hex(secretPart) },
          verifier: { S: `k1:${hex(`${id}${secretPart}`)}` },
          createdAt: { N: String(now) },
          expiresAt: { N: String(now + 86_400_000) },
          expiresAtSec: { N: String(Math.ceil(now / 1000) + 86_400) },
        },
      }),
    );
    const asForged = await ops(['approve', env, '--reason', 'security: forged row'], forgedToken);
    assert.equal(asForged.code, 1, asForged.stderr);
    assert.match(asForged.stderr, /refused \(401\): the API token is refused: unknown token/);
    assert.equal((await fetch(`${consoleApp.url}/api/ops/status`, { headers: { authorization: `Bearer ${forgedToken}` } })).status, 401);

    // victor's real (viewer) token made an approver's in the table: refused; put back: it works.
    const key = { pk: { S: `token#${/^syt_([A-Za-z0-9_-]{16})_/.exec(tokens.victor!)![1]}` }, sk: { S: 'token' } };
    const setRole = (role: string) =>
      dynamo.send(
        new UpdateItemCommand({
          TableName: authTable,
          Key: key,
          UpdateExpression: 'SET #r = :r',
          ExpressionAttributeNames: { '#r': 'role' },
          ExpressionAttributeValues: { ':r': { S: role } },
        }),
      );
    assert.equal((await ops(['status', env], tokens.victor)).code, 0, 'the token works as made');
    await setRole('approver');
    const promoted = await ops(['status', env], tokens.victor);
    assert.equal(promoted.code, 1, promoted.stderr);
    assert.match(promoted.stderr, /refused \(401\): the API token is refused: unknown token/);
    await setRole('viewer');
    assert.equal((await ops(['status', env], tokens.victor)).code, 0, 'back as it was, it works again');

    // A session of the attacker's choosing, with a cookie sealed with the console's own cookie secret.
    const sessionId = randomBytes(32).toString('base64url');
    await dynamo.send(
      new PutItemCommand({
        TableName: authTable,
        Item: {
          pk: { S: `session#${hex(sessionId)}` },
          sk: { S: 'session' },
          username: { S: 'alma' },
          role: { S: 'approver' },
          createdAt: { N: String(now) },
          lastSeenAt: { N: String(now) },
          expiresAt: { N: String(now + 3_600_000) },
          expiresAtSec: { N: String(Math.ceil(now / 1000) + 3600) },
          tag: { S: `k1:${hex(sessionId)}` },
        },
      }),
    );
    const sealed = await sealData({ username: 'alma', sessionId, signedInAt: now }, { password: secret });
    assert.equal((await health(`switchyard_session=${sealed}`)).status, 401, 'a session row not written by the console is no session');

    // The operator API answers a body that is not JSON, or not the command's, with 400.
    const notJson = await fetch(`${consoleApp.url}/api/ops/envs/${env}/pause`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.olivia}` },
      body: '{',
    });
    assert.equal(notJson.status, 400);
    const wrongShape = await fetch(`${consoleApp.url}/api/ops/envs/${env}/ramp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.olivia}` },
      body: JSON.stringify([{ percent: 5 }]),
    });
    assert.equal(wrongShape.status, 400);
  });

  it('finds an audit entry changed in the table: `ops audit verify` and the audit page name it', async () => {
    const verify = () => ops(['audit', 'verify', env], undefined);
    const intact = await verify();
    assert.equal(intact.code, 0, intact.stderr);
    assert.match(intact.stdout, new RegExp(`^${env}: intact, \\d+ chained entries check`, 'm'));
    const { context, page } = await signIn('victor');
    await page.goto('/audit');
    const line = page.getByTestId(`audit-chain-${env}`);
    assert.equal(await line.getAttribute('data-state'), 'intact');

    const started = (await readAudit(dynamo, { env, limit: 500 })).find((e) => e.action === 'start');
    assert.ok(started, 'a start entry');
    const key = { env: { S: env }, seq: { N: String(started.seq) } };
    const original = (await dynamo.send(new GetItemCommand({ TableName: AUDIT_TABLE, Key: key, ConsistentRead: true }))).Item!;
    await dynamo.send(
      new UpdateItemCommand({
        TableName: AUDIT_TABLE,
        Key: key,
        UpdateExpression: 'SET reason = :r',
        ExpressionAttributeValues: { ':r': { S: 'routine check, nothing to see' } },
      }),
    );
    const broken = await verify();
    assert.equal(broken.code, 1, broken.stderr);
    assert.match(broken.stdout, new RegExp(`${env}: BROKEN at seq ${started.seq}: its content does not match its hash \\(changed after it was written\\)`));
    await page.goto('/audit');
    assert.equal(await line.getAttribute('data-state'), 'broken');
    assert.equal(await line.getAttribute('data-broken-seq'), String(started.seq));
    assert.match((await page.getByTestId('audit-chain').textContent()) ?? '', /was changed outside Switchyard/);

    // Put back as it was: the chain checks again (the check is of the content, nothing else).
    await dynamo.send(new PutItemCommand({ TableName: AUDIT_TABLE, Item: original }));
    assert.equal((await verify()).code, 0);
    await context.close();
  });

  it('bounds the audit export: a page at a time, with a link to the next', async () => {
    const { context, cookie } = await signIn('victor');
    const get = (q: string) => fetch(`${consoleApp.url}/api/audit/export?${q}`, { headers: { cookie } });
    const all = (await readAudit(dynamo, { env, limit: 500 })).length;
    assert.ok(all >= 3, `${all} entries`);
    const first = await get(`format=json&env=${env}&limit=2`);
    assert.equal(first.status, 200);
    const firstRows = (await first.json()) as { seq: number }[];
    assert.equal(firstRows.length, 2);
    const next = first.headers.get('x-switchyard-next-page');
    assert.ok(next, 'a next page');
    assert.equal(first.headers.get('link'), `<${next}>; rel="next"`);
    const second = (await (await fetch(`${consoleApp.url}${next}`, { headers: { cookie } })).json()) as { seq: number }[];
    assert.ok(second.length >= 1);
    assert.ok(second[0]!.seq < firstRows[1]!.seq, 'the next page goes on where the first ended (newest first)');
    // Without a limit: one page of at most 1000, and no next page while the log is smaller.
    const whole = await get(`format=csv&env=${env}`);
    assert.equal(whole.headers.get('x-switchyard-rows'), String(all));
    assert.equal(whole.headers.get('link'), null);
    assert.equal((await get('format=json&after=yesterday')).status, 400);
    await context.close();
  });

  it('answers bad query dates with 400 and counts no store error', async () => {
    const metric = async (): Promise<{ s400: number; s5xx: number }> => {
      const text = await (await fetch(`${rig.queryUrl}/metrics`)).text();
      const sum = (re: RegExp): number => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
      return {
        s400: sum(new RegExp(`switchyard_query_requests_total\\{[^}]*env="${env}"[^}]*status="400"[^}]*\\} (\\d+)`, 'g')),
        s5xx: sum(/switchyard_query_requests_total\{[^}]*status="5\d\d"[^}]*\} (\d+)/g),
      };
    };
    const storeErrors = async (): Promise<number> => {
      const out = await dynamo.send(
        new QueryCommand({ TableName: SCIENCE_STATS_TABLE, KeyConditionExpression: 'env = :e', ExpressionAttributeValues: { ':e': { S: env } } }),
      );
      return (out.Items ?? []).reduce((a, i) => a + Number(i.servedErrors?.N ?? 0) + Number(i.newStoreErrors?.N ?? 0) + Number(i.candidateErrors?.N ?? 0), 0);
    };
    const before = await metric();
    const errorsBefore = await storeErrors();
    for (const q of ['from=8999999999999999&to=9000000000000000', 'from=9000000000000000&to=1', 'from=-5&to=10', 'from=yesterday', 'from=1&to=2']) {
      const res = await fetch(`${rig.queryUrl}/v1/envs/${env}/apps/app-0001/metrics/router.service_ms?${q}`);
      assert.equal(res.status, 400, q);
      const body = (await res.json()) as { error: string; problems: string[] };
      assert.equal(body.error, 'bad request');
      assert.ok(body.problems.length > 0, q);
    }
    await sleep(5000); // longer than the science recorder's flush interval
    const afterwards = await metric();
    assert.equal(afterwards.s400 - before.s400, 5, 'each counted as a client error');
    assert.equal(afterwards.s5xx, before.s5xx, 'none counted as a server or store error');
    assert.equal(await storeErrors(), errorsBefore, 'the store error counts the gates read are untouched');
  });

  it('lets only the control worker write the control topic; every Kafka client must authenticate', async () => {
    const send = async (kafka: ReturnType<typeof createKafka>, topic: string, key: string): Promise<unknown> => {
      const producer = kafka.producer({ retry: { retries: 0 } });
      try {
        await producer.connect();
        await producer.send({ topic, acks: -1, messages: [{ key, value: Buffer.from('{}') }] });
        return null;
      } catch (err) {
        return err;
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    };
    // A throwaway key: instances of this test's env never read it, and the tombstone below retires it.
    const key = `${env}-acl`;
    // Every other principal of the stack is refused by the broker's ACLs, whatever it sends.
    for (const principal of ['query', 'writer', 'aggregator', 'console', 'tools'] as const) {
      const err = await send(createKafka(cfg, { clientId: `sec-${principal}`, principal, quiet: true }), CONTROL_TOPIC, key);
      assert.ok(err instanceof Error, `${principal} wrote ${CONTROL_TOPIC}`);
      assert.match(String((err as { type?: string }).type ?? err.message), /TOPIC_AUTHORIZATION_FAILED|not authorized/i, `${principal}: ${err.message}`);
    }
    // Heartbeats (what acknowledges a control state) come from the data plane only.
    const forged = await send(createKafka(cfg, { clientId: 'sec-tools-hb', principal: 'tools', quiet: true }), HEARTBEAT_TOPIC, key);
    assert.ok(forged instanceof Error, `tools wrote ${HEARTBEAT_TOPIC}`);
    // The worker's name with a wrong password, or no credentials at all: no connection.
    const wrong = await send(
      createKafka(
        { ...cfg, kafka: { ...cfg.kafka, sasl: { mechanism: 'scram-sha-256', username: 'worker', password: 'guessed' } } },
        { quiet: true, connectTimeoutMs: 2000 },
      ),
      CONTROL_TOPIC,
      key,
    );
    assert.ok(wrong instanceof Error);
    assert.match(wrong.message, /SASL|authentication/i);
    const none = await send(
      createKafka({ ...cfg, kafka: { ...cfg.kafka, localCredentialsFile: undefined } }, { quiet: true, connectTimeoutMs: 2000 }),
      CONTROL_TOPIC,
      key,
    );
    assert.ok(none instanceof Error, 'a client without credentials wrote the control topic');
    // The worker's own principal may (the ACLs do not simply shut everyone out); a tombstone retires the key.
    const worker = createKafka(cfg, { clientId: 'sec-worker', principal: 'worker' }).producer();
    await worker.connect();
    await worker.send({ topic: CONTROL_TOPIC, acks: -1, messages: [{ key, value: null }] });
    await worker.disconnect();
    // Each instance logs which worker published the state it applies (the start above published one).
    const applied = procs[0]!
      .log()
      .split('\n')
      .find((l) => l.includes('"action":"control-state-applied"'));
    assert.ok(applied, 'the query service applied a control state');
    assert.match(applied, /"publishedBy":"[^"]+\/pid \d+"/);
  });

  it('runs the local Temporal without its web UI (its write actions cannot be turned off)', async () => {
    const refused = await fetch('http://127.0.0.1:8233/', { signal: AbortSignal.timeout(5000) }).then(
      (r) => `answered ${r.status}`,
      (err: Error) => (err.cause as { code?: string } | undefined)?.code ?? err.message,
    );
    assert.equal(refused, 'ECONNREFUSED', 'nothing listens on the dev server UI port');
  });

  it('opens no port but the documented ones, and none of them runs a workflow action from a web page', async () => {
    // Kafka and Cassandra as they run: exactly the ports the stack configures (docs/security.md).
    for (const svc of [kafkaService, cassandraService]) {
      const rec = readPid(cfg.stack.runDir, svc.name);
      assert.ok(rec, `the stack runs ${svc.name}`);
      assert.deepEqual(
        listeningPorts(rec.pid),
        svc
          .ports(cfg)
          .map((p) => p.port)
          .sort((a, b) => a - b),
        svc.name,
      );
    }

    // Temporal started exactly as the stack starts it, on ports of its own.
    const tcfg = {
      ...cfg,
      temporal: { ...cfg.temporal, address: { host: '127.0.0.1', port: await freePort() }, httpPort: await freePort(), metricsPort: await freePort() },
    };
    const temporal = await launchAsStack(temporalService, tcfg);
    const connection = await connectTemporal(tcfg);
    try {
      const documented = temporalService.ports(tcfg).map((p) => p.port);
      const open = listeningPorts(temporal.child.pid!);
      assert.deepEqual(
        documented.filter((p) => !open.includes(p)),
        [],
        'gRPC, the HTTP API and metrics listen where configured',
      );
      const internal = open.filter((p) => !documented.includes(p));
      assert.equal(internal.length, 3, `the dev server's internal services (history, matching, worker): ${internal.join(', ')}`);
      // A workflow to aim at (no worker: it stays running).
      const client = new TemporalClient({ connection, namespace: tcfg.temporal.namespace });
      await client.workflow.start('securityTarget', { workflowId: 'security-target', taskQueue: 'security-no-worker' });
      const api = `http://127.0.0.1:${tcfg.temporal.httpPort}/api/v1/namespaces/${tcfg.temporal.namespace}/workflows/security-target`;
      const query = await fetch(`${api}/query/stateQuery`, { method: 'POST', body: '{"query":{}}' });
      assert.equal(query.status, 403, 'the HTTP API answers no state query');
      assert.match(await query.text(), /Host not allowed/);
      assert.equal((await fetch(api)).status, 403);
      for (const action of ['signal/approve', 'terminate', 'update/approve_decommission']) {
        assert.equal(
          await answerToSimplePost(tcfg.temporal.httpPort, `/api/v1/namespaces/default/workflows/security-target/${action}`),
          'HTTP/1.1 403 Forbidden',
          action,
        );
      }
      // Metrics serve metrics, nothing else; the gRPC ports give a web page no HTTP answer at all.
      assert.equal((await fetch(`http://127.0.0.1:${tcfg.temporal.metricsPort}/metrics`)).status, 200);
      assert.match(await answerToSimplePost(tcfg.temporal.metricsPort, '/api/v1/namespaces/default/workflows/security-target/terminate'), /^HTTP\/1\.1 404/);
      for (const p of [tcfg.temporal.address.port, ...internal]) assert.match(await answerToSimplePost(p), /no HTTP answer/, `port ${p}`);
      assert.equal((await client.workflow.getHandle('security-target').describe()).status.name, 'RUNNING', 'nothing reached the workflow');
    } finally {
      await connection.close();
      await temporal.stop();
    }

    // The DynamoDB-compatible server started as the stack starts it: its one port, closed to web pages.
    const port = await freePort();
    const dynalite = await launchAsStack(dynamodbService, { ...cfg, dynamodb: { ...cfg.dynamodb, endpoint: new URL(`http://127.0.0.1:${port}`) } });
    try {
      assert.deepEqual(listeningPorts(dynalite.child.pid!), [port]);
      const preflight = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-amz-target' },
      });
      assert.equal(preflight.status, 403);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      assert.equal(await answerToSimplePost(port), 'HTTP/1.1 403 Forbidden');
    } finally {
      await dynalite.stop();
    }
  });
});
