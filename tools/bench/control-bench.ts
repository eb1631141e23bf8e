/**
 * `npm run bench:control`: how fast the control plane reaches the data plane, on the real local
 * stack (Temporal, Kafka, Cassandra, DynamoDB-compatible server) with the real control worker
 * and live load:
 *
 *   - advance_to_acked_p50_ms / _p99_ms: ramp steps requested through the workflow's update, from
 *     the request to its answer; the update answers only once every live data-plane instance
 *     (aggregator, writers, query services: at least 6) has applied the new control state, and the
 *     bench checks each query service's applied version itself afterwards;
 *   - rollback_<stage>_<policy>_s: from a fault that makes the new store's points wrong (the fault
 *     switch: the first corrupted point written, taken from the DynamoDB writer's own log line)
 *     until the query services are back on the old store: in science, every query service has
 *     stopped shadow-reading the new store (its applied control state, from GET /v1/envs); in
 *     cutover, the query services' own served-store counters (GET /metrics) stop counting reads
 *     served by the new store. rollback_<stage>_<policy>_decision_s is the part until the workflow
 *     decided (its evaluation saw the threshold crossed); the rest is publishing the rollback and
 *     every instance applying it. rollback_reaction_s is the slowest under the policy tuned for
 *     fast reaction (the production shape; the demo's when only it ran), rollback_reaction_slowest_s
 *     the slowest of all.
 *
 * Each scenario runs in its own environment (created here and deleted afterwards), so it can run
 * next to `npm start`. The two scenarios of a policy run side by side; the policies one after the
 * other. A scenario cleans up only its own processes and environment, when it ends, so the one
 * beside it keeps measuring; a scenario that fails is named with its reason in the last line
 * (`failures`, `failed_scenarios`) and the run exits 1 after printing it. A policy's "shape" is its rollback parameters (evaluation interval, both windows, the
 * minimum samples and the rollback threshold); bakes and gate sample counts are cut to bench scale
 * so an environment reaches science and cutover in a couple of minutes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { createKafka } from '../../config/clients.js';
import { ROLES } from '../../contract/index.js';
import { loadConfig, type SwitchyardConfig } from '../../config/config.js';
import { demoPolicy, productionPolicy } from '../../config/migration-policy.js';
import { parseCommandLine, parseDuration, parseFraction, parseWhole, runMain } from '../../kit/cli.js';
import { innermost } from '../../kit/workflow-runs.js';
import { DEFAULT_RANGES, runReadTraffic } from '../generator/read-traffic.js';
import { aggregatorGroup, writerGroup } from '../../pipeline/kernel/topics.js';
import {
  MIGRATION_WORKFLOW_TYPE,
  migrationWorkflowId,
  Stage,
  type Actor,
  type MigrationPolicy,
  type MigrationState,
  type UpdateResult,
} from '../../contract/index.js';
import { advanceUpdate, setFaultUpdate, setRampUpdate, startUpdate, stateQuery } from '../../contract/migration-messages.js';
import { runLiveLoad, startControlWorker, temporalClient } from '../../test/support/migration-rig.js';
import { dropEnv, launchPipeline, queryPort, queryProcess, type PipelineProcess } from '../../test/support/pipeline.js';

const USAGE = `usage: npm run bench:control -- [options]
  --policy <demo|production|both>  whose rollback shape to measure (default both)
  --transitions <n>                ramp steps timed from request to every instance applying it (default 30)
  --query-services <n>             query-service instances per environment (default 3)
  --writers <n>                    writer instances per store (default 1); with one aggregator,
                                   1 + 2 x writers + query-services data-plane instances (at least 6)
  --obs-rate <n>                   live observations per second per environment (default 400)
  --read-rate <n>                  reads per second per query service (default 10)
  --apps <n>                       apps reporting (default 8)
  --error-rollback <rate>          the new-store error rate (0..1) that rolls a stage back and blocks a
                                   ramp step (default 0.5; 'policy': the policy's own, 5 %). The bench
                                   judges its fault on mismatches: on a 2-core machine running 12
                                   data-plane processes, reads time out often enough (6.8 % in a run)
                                   to roll cutover back at 1 % before any fault
  --settle <duration>              the query services' --settle: when a minute only one store has
                                   is judged at the latest without proof of the other writer's
                                   progress (default 30s, the service's default)
Needs the local stack (npm run stack -- up). Last line: one JSON object of the figures.`;

const RETENTION = '10m';
const LATENESS = '5s';
const t0 = Date.now();
const progress = (msg: string): void => console.error(`[bench:control ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

interface Options {
  transitions: number;
  queryServices: number;
  writers: number;
  obsRate: number;
  readRate: number;
  apps: number;
  settleMs: number;
  /** Overrides the policy's rollbackErrorRate and maxNewStoreErrorRate (null: the policy's). */
  errorRollback: number | null;
}

/** The bench's policy: the rollback shape of `scale`, with bench-scale bakes and gate counts. */
function benchPolicy(scale: 'demo' | 'production', env: string, errorRollback: number | null): MigrationPolicy {
  const shape = scale === 'demo' ? demoPolicy([env]) : productionPolicy([env]);
  return {
    ...shape,
    // The bench measures the environment-wide rollback: every app in one ramp.
    cohorts: [],
    ...(errorRollback === null ? {} : { rollbackErrorRate: errorRollback, maxNewStoreErrorRate: errorRollback }),
    retentionMs: 10 * 60_000,
    ttlGraceMs: 60_000,
    rollbackWindowMs: 60_000,
    bakeMs: { dualWrite: 5_000, science: 5_000, cutover: 5_000 },
    autoRamp: false,
    minComparisons: 20,
    minNewStoreReads: 20,
    maxWriterLag: 10_000,
    ackTimeoutMs: 20_000,
    // The bench measures the control plane's reaction, not a full verify (production requires one before cutover).
    verifyBeforeCutover: null,
  };
}

/** One environment's rig: pipeline, query services, control worker, live load and reads. */
class Scenario {
  readonly procs: PipelineProcess[] = [];
  queryUrls: string[] = [];
  private stop = false;
  private running: Promise<unknown>[] = [];
  private client!: Client;
  private closeTemporal!: () => Promise<void>;
  readonly policy: MigrationPolicy;

  constructor(
    readonly cfg: SwitchyardConfig,
    readonly env: string,
    readonly scale: 'demo' | 'production',
    readonly o: Options,
  ) {
    this.policy = benchPolicy(scale, env, o.errorRollback);
  }

  get dynamoWriters(): PipelineProcess[] {
    return this.procs.filter((p) => p.name.includes(ROLES.writerDynamodb));
  }

  async launch(): Promise<void> {
    const { env, o } = this;
    const pipeline = await launchPipeline(this.cfg, env, {
      aggregators: 1,
      writersPerSink: o.writers,
      writerMode: 'follow',
      writerRetention: RETENTION,
      aggregatorLateness: LATENESS,
    });
    this.procs.push(...pipeline.all);
    const queries = Array.from({ length: o.queryServices }, (_, i) =>
      queryProcess(`${env}-query-${i}`, env, ['--retention', RETENTION, '--settle', `${o.settleMs}ms`]).start(),
    );
    this.procs.push(...queries);
    this.queryUrls = await Promise.all(queries.map(async (q) => `http://127.0.0.1:${await queryPort(q)}`));
    const taskQueue = `switchyard-bench-${env}`;
    this.procs.push(await startControlWorker(env, taskQueue));
    ({ client: this.client, close: this.closeTemporal } = await temporalClient(this.cfg));
    const kafka = createKafka(this.cfg, { clientId: `bench-control-${env}` });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const perBatch = Math.max(1, Math.round(o.obsRate * 2));
    this.running.push(
      runLiveLoad(producer, env, { apps: o.apps, count: perBatch, ratePerSec: o.obsRate, seed: 1, shouldStop: () => this.stop }).finally(() =>
        producer.disconnect(),
      ),
      ...this.queryUrls.map((baseUrl, i) =>
        runReadTraffic({
          baseUrl,
          env,
          apps: o.apps,
          metrics: ['router.service_ms'],
          ratePerSec: o.readRate,
          durationMs: 60 * 60_000,
          seed: 10 + i,
          ranges: DEFAULT_RANGES,
          shouldStop: () => this.stop,
        }),
      ),
    );
    await this.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { workflowId: migrationWorkflowId(env), taskQueue, args: [{ env, policy: this.policy }] });
  }

  private handle() {
    return this.client.workflow.getHandle(migrationWorkflowId(this.env));
  }

  state(): Promise<MigrationState> {
    return this.handle().query(stateQuery);
  }

  /** Sends an update as the bench, with a fresh request id: `input` adds the update's own fields to the actor. */
  update<A extends Actor>(update: UpdateDefinition<UpdateResult, [A]>, input: (actor: Actor) => NoInfer<A>): Promise<UpdateResult> {
    const requestId = randomUUID();
    return this.handle().executeUpdate(update, { args: [input({ identity: 'bench', reason: `bench: ${update.name}`, requestId })], updateId: requestId });
  }

  async waitFor(what: string, pred: (s: MigrationState) => boolean, timeoutMs: number): Promise<MigrationState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.state();
      if (pred(s)) return s;
      if (Date.now() > deadline)
        throw new Error(
          `${this.env}: timed out waiting for ${what}; state: ${JSON.stringify({ stage: s.stage, ramp: s.ramp, gates: s.gates, last: s.evaluations.at(-1) })}`,
        );
      await sleep(500);
    }
  }

  /** Retries an advance until its gate passes. */
  async advanceWhenReady(from: Stage, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.update(advanceUpdate, (a) => ({ ...a, from }));
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(2000);
      }
    }
  }

  /** Every query service's applied control state. */
  async appliedControl(): Promise<{ version: number; sciencePercent: number; cutoverPercent: number }[]> {
    return Promise.all(
      this.queryUrls.map(async (u) => {
        const body = (await (await fetch(`${u}/v1/envs`)).json()) as {
          environments: { env: string; control: { version: number; sciencePercent: number; cutoverPercent: number } }[];
        };
        return body.environments.find((e) => e.env === this.env)!.control;
      }),
    );
  }

  /** Reads served by each store, summed over the query services (from their /metrics). */
  async servedCounts(): Promise<{ old: number; new: number }> {
    const out = { old: 0, new: 0 };
    for (const u of this.queryUrls) {
      const text = await (await fetch(`${u}/metrics`)).text();
      for (const m of text.matchAll(/^switchyard_query_served_total\{([^}]*)\} (\S+)$/gm)) {
        if (!m[1]!.includes(`env="${this.env}"`)) continue;
        const store = /store="(old|new)"/.exec(m[1]!)?.[1] as 'old' | 'new' | undefined;
        if (store) out[store] += Number(m[2]);
      }
    }
    return out;
  }

  /** Waits until the query services have served more than `above` reads from the new store. */
  async waitForServedByNew(above: number, timeoutMs: number): Promise<{ old: number; new: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.servedCounts();
      if (c.new > above) return c;
      if (Date.now() > deadline) throw new Error(`${this.env}: cutover at 100 % but no read was served by the new store within ${timeoutMs / 1000} s`);
      await sleep(500);
    }
  }

  /** Data-plane instances (every process but the control worker). */
  get instances(): number {
    return this.procs.filter((p) => !p.name.endsWith('-worker')).length;
  }

  /** When the first corrupted point was written after `since` (from the writers' log lines), or null. */
  firstCorruptedWriteAt(since: number): number | null {
    let first: number | null = null;
    for (const w of this.dynamoWriters) {
      for (const line of w.log().split('\n')) {
        if (!line.includes('"faults-injected"')) continue;
        const at = Number(/"time":(\d+)/.exec(line)?.[1]);
        if (at >= since && (first === null || at < first)) first = at;
      }
    }
    return first;
  }

  /** Starts the migration and goes to science. */
  async toScience(): Promise<void> {
    await this.update(startUpdate, (a) => a);
    await this.advanceWhenReady(Stage.dualWrite, 180_000);
  }

  /** Waits until the short window holds enough comparisons for a rollback to be judged. */
  async waitForComparisons(timeoutMs: number): Promise<void> {
    const need = this.policy.minSamplesForRollback;
    await this.waitFor(`${need} comparisons in the short window`, (s) => (s.evaluations.at(-1)?.short?.comparisons ?? 0) >= need, timeoutMs);
  }

  /** Turns the fault on and waits for the automatic rollback; returns when the fault reached the new store. */
  async injectFault(): Promise<{ switchAt: number; corruptedAt: number; rolledBackAt: number; reason: string }> {
    const switchAt = Date.now();
    await this.update(setFaultUpdate, (a) => ({ ...a, newWriterCorruptionRate: 0.5 }));
    const rolled = await this.waitFor('the automatic rollback', (s) => s.rolledBack !== null, 240_000);
    const corruptedAt = this.firstCorruptedWriteAt(switchAt);
    if (corruptedAt === null) throw new Error(`${this.env}: rolled back, but no writer logged a corrupted write`);
    return { switchAt, corruptedAt, rolledBackAt: rolled.rolledBack!.at, reason: rolled.rolledBack!.reason };
  }

  /** Stops this scenario's load, workflow and processes and drops its environment; never throws. */
  async close(): Promise<void> {
    this.stop = true;
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        progress(`${this.env}: cleanup could not ${what}: ${innermost(err)}`);
      }
    };
    await Promise.race([Promise.allSettled(this.running), sleep(15_000)]);
    if (this.client) await step('terminate the workflow', () => this.handle().terminate('bench over'));
    await step('close the Temporal client', async () => this.closeTemporal?.());
    await Promise.all(this.procs.map((p) => step(`stop ${p.name}`, () => p.stop('SIGKILL'))));
    await step('drop the environment', () => dropEnv(this.cfg, this.env));
    await step('delete the consumer groups', async () => {
      const admin = createKafka(this.cfg, { clientId: 'bench-control-cleanup' }).admin();
      await admin.connect();
      try {
        await admin.deleteGroups([aggregatorGroup(this.env), writerGroup(this.env, 'cassandra'), writerGroup(this.env, 'dynamodb')]).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
    });
  }
}

/** How one scenario ended: its figures, or the reason it failed. */
type ScenarioOutcome<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Runs one scenario from launch to clean-up. It cleans up only its own processes and
 * environment, whenever it ends, so a scenario beside it keeps measuring; a failure is returned
 * with its reason (the innermost message: a refused update says why), never thrown.
 */
async function runScenario<T>(s: Scenario, measure: (s: Scenario) => Promise<T>): Promise<ScenarioOutcome<T>> {
  try {
    await s.launch();
    return { ok: true, value: await measure(s) };
  } catch (err) {
    progress(`${s.env}: failed: ${innermost(err)}`);
    return { ok: false, reason: innermost(err) };
  } finally {
    progress(`cleaning up ${s.env}`);
    await s.close();
  }
}

/** Ramp steps in science: request → every instance applied; ms each. */
async function timeTransitions(s: Scenario, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const percent = ((i % 10) + 1) * 10;
    const started = performance.now();
    const r = await s.update(setRampUpdate, (a) => ({ ...a, percent }));
    out.push(performance.now() - started);
    // The update answers once every live instance acknowledged; check the query services agree.
    const applied = await s.appliedControl();
    const behind = applied.filter((c) => c.version < r.controlVersion);
    if (behind.length > 0)
      throw new Error(`${s.env}: set_ramp ${percent}% answered, but ${behind.length} query service(s) apply an older version than ${r.controlVersion}`);
    if ((i + 1) % 10 === 0) progress(`${s.env}: ${i + 1}/${n} ramp steps, p50 ${percentile(out, 50).toFixed(0)} ms`);
  }
  return out;
}

/** Science at 100 %, fault: until every query service stopped shadow-reading the new store. */
async function scienceRollback(
  s: Scenario,
  transitions: number,
): Promise<{ reactionS: number; decisionS: number; fromSwitchS: number; transitionsMs: number[] }> {
  await s.toScience();
  progress(`${s.env}: in science; timing ${transitions} ramp steps`);
  const transitionsMs = await timeTransitions(s, transitions);
  await s.update(setRampUpdate, (a) => ({ ...a, percent: 100 })).catch(() => undefined);
  progress(`${s.env}: science at 100 %; waiting for ${s.policy.minSamplesForRollback} comparisons in the short window`);
  await s.waitForComparisons(300_000);
  progress(`${s.env}: fault switch on`);
  const f = await s.injectFault();
  let backAt: number;
  for (;;) {
    const applied = await s.appliedControl();
    if (applied.every((c) => c.sciencePercent === 0)) {
      backAt = Date.now();
      break;
    }
    await sleep(100);
  }
  const reactionS = (backAt - f.corruptedAt) / 1000;
  const decisionS = (f.rolledBackAt - f.corruptedAt) / 1000;
  progress(
    `${s.env}: science rolled back ${reactionS.toFixed(1)} s after the first corrupted write (decided after ${decisionS.toFixed(1)} s: ${f.reason}; ${((backAt - f.switchAt) / 1000).toFixed(1)} s after the switch)`,
  );
  return { reactionS, decisionS, fromSwitchS: (backAt - f.switchAt) / 1000, transitionsMs };
}

/** Cutover at 100 %, fault: until the query services stop serving reads from the new store. */
async function cutoverRollback(s: Scenario): Promise<{ reactionS: number; decisionS: number; fromSwitchS: number }> {
  await s.toScience();
  await s.update(setRampUpdate, (a) => ({ ...a, percent: 100 }));
  progress(`${s.env}: science at 100 %; advancing to cutover once its gate passes`);
  await s.advanceWhenReady(Stage.science, 300_000);
  await s.update(setRampUpdate, (a) => ({ ...a, percent: 100 }));
  const before = await s.servedCounts();
  // The short window may still hold science's comparisons, so it can be full at once: wait for
  // reads the new store served since cutover reached 100 % as well (CI saw none in between).
  await s.waitForComparisons(300_000);
  const after = await s.waitForServedByNew(before.new, 120_000);
  progress(`${s.env}: cutover at 100 % (${after.new - before.new} reads served by the new store meanwhile); fault switch on`);
  const samples: { at: number; new: number; old: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      // A failed sample (a query service restarting) is skipped, never thrown past the scenario.
      const c = await s.servedCounts().catch(() => undefined);
      if (c) samples.push({ at: Date.now(), ...c });
      await sleep(200);
    }
  })();
  let f: Awaited<ReturnType<Scenario['injectFault']>>;
  try {
    f = await s.injectFault();
    // Keep sampling a while after the rollback so "stopped" means stopped.
    await sleep(8_000);
  } finally {
    sampling = false;
    await sampler;
  }
  if (samples.length === 0) throw new Error(`${s.env}: no served-store sample could be read from the query services`);
  const finalNew = samples.at(-1)!.new;
  const back = samples.find((x) => x.at >= f.corruptedAt && x.new === finalNew);
  if (!back) throw new Error(`${s.env}: the new store kept serving reads after the rollback`);
  const last = samples.at(-1)!;
  if (last.old <= back.old) throw new Error(`${s.env}: no read was served by the old store after the rollback`);
  const reactionS = (back.at - f.corruptedAt) / 1000;
  const decisionS = (f.rolledBackAt - f.corruptedAt) / 1000;
  progress(
    `${s.env}: cutover rolled back ${reactionS.toFixed(1)} s after the first corrupted write (decided after ${decisionS.toFixed(1)} s: ${f.reason}; ${((back.at - f.switchAt) / 1000).toFixed(1)} s after the switch)`,
  );
  return { reactionS, decisionS, fromSwitchS: (back.at - f.switchAt) / 1000 };
}

runMain(USAGE, async (argv) => {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const a = parseCommandLine(argv, {
    policy: { type: 'string', default: 'both' },
    transitions: { type: 'string', default: '30' },
    'query-services': { type: 'string', default: '3' },
    writers: { type: 'string', default: '1' },
    'obs-rate': { type: 'string', default: '400' },
    'read-rate': { type: 'string', default: '10' },
    apps: { type: 'string', default: '8' },
    settle: { type: 'string', default: '30s' },
    'error-rollback': { type: 'string', default: '0.5' },
  });
  const scales: ('demo' | 'production')[] | null =
    a.policy === 'both' ? ['demo', 'production'] : a.policy === 'demo' || a.policy === 'production' ? [a.policy] : null;
  if (!scales) throw new Error(`--policy: '${a.policy}' must be demo, production or both\n\n${USAGE}`);
  const o: Options = {
    transitions: parseWhole('transitions', a.transitions!, 1, 10_000),
    queryServices: parseWhole('query-services', a['query-services']!, 1, 50),
    writers: parseWhole('writers', a.writers!, 1, 20),
    obsRate: parseWhole('obs-rate', a['obs-rate']!, 10, 1_000_000),
    readRate: parseWhole('read-rate', a['read-rate']!, 1, 10_000),
    apps: parseWhole('apps', a.apps!, 2, 10_000),
    settleMs: parseDuration('settle', a.settle!),
    errorRollback: a['error-rollback'] === 'policy' ? null : parseFraction('error-rollback', a['error-rollback']!),
  };
  const instances = 1 + 2 * o.writers + o.queryServices;
  if (instances < 6) progress(`note: ${instances} data-plane instances (fewer than 6)`);
  const id = Date.now().toString(36);
  const figures: Record<string, number> = {};
  /** Scenario (stage_policy) → why it failed; reported in the last line, not thrown. */
  const failures: Record<string, string> = {};
  const transitionsMs: number[] = [];
  for (const scale of scales) {
    const scenario = (kind: string): Scenario => {
      const env = `bc${kind}${scale[0]}${id}`;
      return new Scenario(loadConfig({ ...process.env, SWITCHYARD_ENVS: env }), env, scale, o);
    };
    const [sci, cut] = [scenario('s'), scenario('c')];
    progress(
      `${scale} policy shape (evaluation every ${sci.policy.evaluationIntervalMs / 1000} s, short window ${sci.policy.shortWindowMs! / 1000} s, long ${sci.policy.evaluationWindowMs / 1000} s, rollback at ${sci.policy.minSamplesForRollback}+ samples over ${sci.policy.rollbackMismatchRate * 100} %): starting ${sci.env} and ${cut.env} with ${instances} data-plane instances each`,
    );
    // Side by side; each cleans up after itself when it ends, so neither stops the other's processes.
    const [sres, cres] = await Promise.all([
      runScenario(sci, (s) => scienceRollback(s, transitionsMs.length < o.transitions ? o.transitions : 0)),
      runScenario(cut, cutoverRollback),
    ]);
    if (sres.ok) {
      transitionsMs.push(...sres.value.transitionsMs);
      Object.assign(figures, {
        [`rollback_science_${scale}_s`]: Number(sres.value.reactionS.toFixed(1)),
        [`rollback_science_${scale}_decision_s`]: Number(sres.value.decisionS.toFixed(1)),
        [`rollback_science_${scale}_from_switch_s`]: Number(sres.value.fromSwitchS.toFixed(1)),
      });
    } else failures[`science_${scale}`] = sres.reason;
    if (cres.ok) {
      Object.assign(figures, {
        [`rollback_cutover_${scale}_s`]: Number(cres.value.reactionS.toFixed(1)),
        [`rollback_cutover_${scale}_decision_s`]: Number(cres.value.decisionS.toFixed(1)),
        [`rollback_cutover_${scale}_from_switch_s`]: Number(cres.value.fromSwitchS.toFixed(1)),
      });
    } else failures[`cutover_${scale}`] = cres.reason;
  }
  const reactionsOf = (scale: string): number[] =>
    Object.entries(figures)
      .filter(([k]) => new RegExp(`^rollback_(science|cutover)_${scale}_s$`).test(k))
      .map(([, v]) => v);
  const all = [...reactionsOf('demo'), ...reactionsOf('production')];
  // The policy tuned for fast reaction is the production shape (1 % of 200+ comparisons in the
  // last minute, evaluated every 5 s); the demo shape waits for 5 % of a minute's comparisons.
  const fast = reactionsOf('production');
  const failed = Object.keys(failures).length;
  console.log(
    JSON.stringify({
      ...(transitionsMs.length > 0
        ? { advance_to_acked_p50_ms: Math.round(percentile(transitionsMs, 50)), advance_to_acked_p99_ms: Math.round(percentile(transitionsMs, 99)) }
        : {}),
      transitions: transitionsMs.length,
      data_plane_instances: instances,
      ...(all.length > 0 ? { rollback_reaction_s: Math.max(...(fast.length > 0 ? fast : all)), rollback_reaction_slowest_s: Math.max(...all) } : {}),
      ...figures,
      failed_scenarios: failed,
      ...(failed > 0 ? { failures } : {}),
    }),
  );
  // The line is printed either way; the exit code says whether every scenario measured.
  process.exit(failed > 0 ? 1 : 0);
});
