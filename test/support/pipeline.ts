/**
 * Helpers for pipeline tests on the real stack: pipeline processes as children, an independent
 * batch computation of the expected points, and polling the stores until they match.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createCassandraClient, createDynamoClient, createKafka } from '../../config/clients.js';
import { REPO_ROOT, type SwitchyardConfig } from '../../config/config.js';
import type { MetricPoint } from '../../pipeline/kernel/model/metric-point.js';
import type { Observation } from '../../pipeline/kernel/model/observation.js';
import { createMetricStore } from '../../pipeline/kernel/stores/create-metric-store.js';
import type { MetricStore } from '../../pipeline/kernel/stores/metric-store.js';

const LOG_DIR = path.join(REPO_ROOT, 'test-results', 'logs');

/** A pipeline process started by a test. */
export class PipelineProcess {
  child: ChildProcess | undefined;
  readonly logFile: string;
  /** Flags for node itself, before the script (e.g. --cpu-prof for a benchmark). */
  nodeFlags: string[] = [];
  constructor(
    readonly name: string,
    protected readonly script: string,
    protected readonly args: string[],
    protected readonly env: Record<string, string>,
  ) {
    fs.mkdirSync(LOG_DIR, { recursive: true });
    this.logFile = path.join(LOG_DIR, `${name}.log`);
  }

  /** What node runs: the TypeScript entry point through tsx. */
  protected nodeArgs(): string[] {
    return [...this.nodeFlags, '--import', 'tsx', this.script, ...this.args];
  }

  /** Starts (or restarts) the process, appending its output to its log file. */
  start(): this {
    const fd = fs.openSync(this.logFile, 'a');
    this.child = spawn(process.execPath, this.nodeArgs(), {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...this.env },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    return this;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** The process's output so far. */
  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  /** Waits until a line of the log matches. */
  async waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log())) {
      if (!this.running) throw new Error(`${this.name} exited before logging ${pattern}:\n${this.log().slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not log ${pattern} within ${timeoutMs} ms:\n${this.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** An aggregator process for env. Test workloads compress event time (minutes of events a second), so the lateness allowed is a minute. */
export function aggregatorProcess(name: string, env: string, extra: string[] = []): PipelineProcess {
  return new PipelineProcess(
    name,
    'pipeline/jobs/cli/aggregator.ts',
    ['--env', env, '--partitions', '4', '--lateness', '60s', '--idle', '3s', '--session-timeout', '6s', ...extra],
    { SWITCHYARD_ENVS: env },
  );
}

/** A writer process for env and sink. */
export function writerProcess(name: string, env: string, sink: 'cassandra' | 'dynamodb', extra: string[] = []): PipelineProcess {
  return new PipelineProcess(
    name,
    'pipeline/jobs/cli/writer.ts',
    ['--env', env, '--sink', sink, '--partitions', '4', '--retention', '7d', '--session-timeout', '6s', ...extra],
    { SWITCHYARD_ENVS: env },
  );
}

/** Key of a point in maps. */
export function keyOf(p: Pick<MetricPoint, 'app' | 'metric' | 'minute'>): string {
  return `${p.app}|${p.metric}|${p.minute}`;
}

/**
 * The expected points, computed in one batch over all observations, independently of the
 * pipeline's code: group by (app, metric, minute), sort, sum in ascending order, nearest rank.
 */
export function batchCompute(observations: Iterable<Observation>): Map<string, MetricPoint> {
  const groups = new Map<string, { app: string; metric: string; minute: number; values: number[] }>();
  for (const o of observations) {
    const minute = o.time - (o.time % 60_000);
    const k = `${o.app}|${o.metric}|${minute}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { app: o.app, metric: o.metric, minute, values: [] }));
    g.values.push(o.value);
  }
  const out = new Map<string, MetricPoint>();
  for (const [k, g] of groups) {
    const v = g.values.sort((a, b) => a - b);
    const rank = (p: number): number => v[Math.max(1, Math.ceil((p / 100) * v.length)) - 1]!;
    out.set(k, {
      app: g.app,
      metric: g.metric,
      minute: g.minute,
      count: v.length,
      min: v[0]!,
      max: v[v.length - 1]!,
      sum: v.reduce((s, x) => s + x, 0),
      median: rank(50),
      p95: rank(95),
      p99: rank(99),
    });
  }
  return out;
}

/** Both real stores of an environment, for reading back what the writers stored. */
export function openStores(cfg: SwitchyardConfig, env: string): { cassandra: MetricStore; dynamodb: MetricStore; close(): Promise<void> } {
  const cassandra = createMetricStore('cassandra', { env, retentionMs: 7 * 86_400_000, cassandraClient: createCassandraClient(cfg) });
  const dynamodb = createMetricStore('dynamodb', { env, retentionMs: 7 * 86_400_000, dynamoClient: createDynamoClient(cfg) });
  return {
    cassandra,
    dynamodb,
    async close() {
      await cassandra.close();
      await dynamodb.close();
    },
  };
}

/** Reads every series named in `expected` from a store, over the expected minutes. */
export async function readStored(store: MetricStore, expected: Map<string, MetricPoint>): Promise<Map<string, MetricPoint>> {
  const series = new Map<string, { app: string; metric: string; from: number; to: number }>();
  for (const p of expected.values()) {
    const k = `${p.app}|${p.metric}`;
    const s = series.get(k);
    if (!s) series.set(k, { app: p.app, metric: p.metric, from: p.minute, to: p.minute });
    else {
      s.from = Math.min(s.from, p.minute);
      s.to = Math.max(s.to, p.minute);
    }
  }
  const out = new Map<string, MetricPoint>();
  // Sixteen series at a time: a wide minute (thousands of series) is read in seconds, not minutes.
  const pending = [...series.values()];
  const readNext = async (): Promise<void> => {
    for (let s = pending.pop(); s !== undefined; s = pending.pop()) {
      // One minute either side: a point filed under a wrong minute would show up as extra.
      for (const p of await store.readSeries({ app: s.app, metric: s.metric, fromMinute: s.from - 60_000, toMinute: s.to + 60_000 })) out.set(keyOf(p), p);
    }
  };
  await Promise.all(Array.from({ length: 16 }, readNext));
  return out;
}

/** Each way stored points differ from expected ones, with the point's key. */
function pointProblems(expected: Map<string, MetricPoint>, actual: Map<string, MetricPoint>, percentileTolerance = 0): { key: string; problem: string }[] {
  const problems: { key: string; problem: string }[] = [];
  for (const [key, e] of expected) {
    const a = actual.get(key);
    if (!a) problems.push({ key, problem: `missing ${key}` });
    else {
      for (const f of ['count', 'min', 'max', 'sum'] as const) if (a[f] !== e[f]) problems.push({ key, problem: `${key}: ${f} ${a[f]} != ${e[f]}` });
      for (const f of ['median', 'p95', 'p99'] as const) {
        if (Math.abs(a[f] - e[f]) > percentileTolerance * Math.abs(e[f])) problems.push({ key, problem: `${key}: ${f} ${a[f]} != ${e[f]}` });
      }
    }
  }
  for (const key of actual.keys()) if (!expected.has(key)) problems.push({ key, problem: `extra ${key}` });
  return problems;
}

function describeProblems(problems: { problem: string }[]): string {
  const shown = problems.slice(0, 20).map((p) => p.problem);
  return shown.join('\n') + (problems.length > 20 ? `\n... and ${problems.length - 20} more` : '');
}

/** Describes how stored points differ from expected ones ('' when equal). */
export function diffPoints(expected: Map<string, MetricPoint>, actual: Map<string, MetricPoint>, percentileTolerance = 0): string {
  return describeProblems(pointProblems(expected, actual, percentileTolerance));
}

/** Polls both stores until each holds exactly the expected points; throws with the difference on timeout. */
export async function waitForStores(
  stores: { cassandra: MetricStore; dynamodb: MetricStore },
  expected: Map<string, MetricPoint>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A point's key is app|metric|minute: its series is the key without the minute.
  const seriesOf = (key: string): string => key.slice(0, key.lastIndexOf('|'));
  // Each series is read until it matches exactly (no point missing, differing or extra); then it is
  // not read again: points are final per minute, so a wide minute's thousands of series are read
  // about once, not on every pass.
  const all = new Set([...expected.keys()].map(seriesOf));
  const waiting = { cassandra: all, dynamodb: all };
  const check = async (kind: 'cassandra' | 'dynamodb'): Promise<string> => {
    const wanted = new Map([...expected].filter(([key]) => waiting[kind].has(seriesOf(key))));
    const problems = pointProblems(wanted, await readStored(stores[kind], wanted));
    waiting[kind] = new Set(problems.map((p) => seriesOf(p.key)));
    return problems.length > 0 ? `${kind}:\n${describeProblems(problems)}` : '';
  };
  for (;;) {
    const diffs = (await Promise.all([check('cassandra'), check('dynamodb')])).filter((d) => d !== '');
    if (diffs.length === 0) return;
    if (Date.now() > deadline) throw new Error(`stores do not match the batch computation after ${timeoutMs} ms:\n${diffs.join('\n')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Reads every record of a topic from the beginning (for dead-letter checks). */
export async function readTopic(
  cfg: SwitchyardConfig,
  topic: string,
  expectAtLeast: number,
  timeoutMs = 30_000,
): Promise<{ key: string | null; value: Buffer | null; headers: Record<string, string> }[]> {
  const kafka = createKafka(cfg, { clientId: 'test-reader' });
  const consumer = kafka.consumer({ groupId: `test-reader-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 500 });
  const out: { key: string | null; value: Buffer | null; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    void consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({ key: message.key?.toString() ?? null, value: message.value, headers });
        if (out.length >= expectAtLeast) {
          clearTimeout(timer);
          setTimeout(resolve, 1000); // a little longer, to catch duplicates
        }
      },
    });
  });
  await consumer.disconnect();
  return out;
}

/** A fresh environment name for one test run. */
export function testEnv(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

/** Removes an environment's topics, consumer groups, keyspace and table (best effort, at the end of a test or benchmark). */
export async function dropEnv(cfg: SwitchyardConfig, env: string): Promise<void> {
  const admin = createKafka(cfg, { clientId: 'test-cleanup', quiet: true }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${env}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    // And its consumer groups (jobs', repairs', a benchmark's own): every group named after the env.
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.split(/[.-]/).includes(env));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } catch {
    /* best effort */
  } finally {
    await admin.disconnect();
  }
  const cass = createCassandraClient(cfg);
  await cass.execute(`DROP KEYSPACE IF EXISTS switchyard_${env.replace(/-/g, '_')}`).catch(() => undefined);
  await cass.shutdown();
  const ddb = createDynamoClient(cfg);
  const { DeleteTableCommand } = await import('@aws-sdk/client-dynamodb');
  await ddb.send(new DeleteTableCommand({ TableName: `switchyard-${env}-metric-points` })).catch(() => undefined);
  ddb.destroy();
}

/** The processes of a pipeline started by launchPipeline. */
export interface LaunchedPipeline {
  aggregators: PipelineProcess[];
  writers: Record<'cassandra' | 'dynamodb', PipelineProcess[]>;
  all: PipelineProcess[];
}

/** Creates the environment's topics, starts aggregators and writers, and waits until all run. */
export async function launchPipeline(
  cfg: SwitchyardConfig,
  env: string,
  opts: { aggregators?: number; writersPerSink?: number; writerMode?: 'on' | 'follow'; writerRetention?: string; aggregatorLateness?: string } = {},
): Promise<LaunchedPipeline> {
  const admin = createKafka(cfg, { clientId: 'test-launch' }).admin();
  await admin.connect();
  const { ensureTopics } = await import('../../pipeline/kernel/topics.js');
  await ensureTopics(admin, env, 4);
  await admin.disconnect();
  const suffix = (i: number, n: number): string => (n > 1 ? `-${String.fromCharCode(97 + i)}` : '');
  const nAgg = opts.aggregators ?? 1;
  const nW = opts.writersPerSink ?? 1;
  const aggExtra = opts.aggregatorLateness ? ['--lateness', opts.aggregatorLateness] : [];
  const aggregators = Array.from({ length: nAgg }, (_, i) => aggregatorProcess(`${env}-aggregator${suffix(i, nAgg)}`, env, aggExtra).start());
  const mode = ['--mode', opts.writerMode ?? 'on', ...(opts.writerRetention ? ['--retention', opts.writerRetention] : [])];
  const writers = {
    cassandra: Array.from({ length: nW }, (_, i) => writerProcess(`${env}-writer-cassandra${suffix(i, nW)}`, env, 'cassandra', mode).start()),
    dynamodb: Array.from({ length: nW }, (_, i) => writerProcess(`${env}-writer-dynamodb${suffix(i, nW)}`, env, 'dynamodb', mode).start()),
  };
  const all = [...aggregators, ...writers.cassandra, ...writers.dynamodb];
  await Promise.all(all.map((p) => p.waitForLog(/running/)));
  return { aggregators, writers, all };
}

/** A query service process for env (any free port; read the port with queryPort()). */
export function queryProcess(name: string, env: string, extra: string[] = []): PipelineProcess {
  return new PipelineProcess(name, 'pipeline/jobs/cli/query-service.ts', ['--port', '0', '--envs', env, '--flush-interval', '500ms', ...extra], {
    SWITCHYARD_ENVS: env,
  });
}

/** The port a started query service listens on (after it logged it). */
export async function queryPort(p: PipelineProcess): Promise<number> {
  await p.waitForLog(/query service on http:\/\/127\.0\.0\.1:\d+/);
  return Number(/query service on http:\/\/127\.0\.0\.1:(\d+)/.exec(p.log())![1]);
}
