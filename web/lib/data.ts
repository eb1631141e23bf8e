import 'server-only';
import { cache } from 'react';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ChainReport } from '../../audit/audit-chain';
import { readAudit, verifyAuditChain, type AuditQuery } from '../../audit/audit-log';
import { createDynamoClient } from '../../config/clients';
import { loadIntegrityKeys } from '../../config/integrity-keys';
import { scienceStatsKey } from '../../pipeline/kernel/science/control-tables';
import {
  finiteP99,
  p99,
  readMismatchSamples,
  readScienceSummary,
  readScienceStats,
  summarizeScience,
  type ScienceStatsRow,
  type ScienceSummary,
} from '../../pipeline/kernel/science/science-stats-reader';
import type { MismatchSample } from '../../pipeline/kernel/science/control-tables';
import type { ControlState, Heartbeat } from '../../control/model';
import {
  migrationWorkflowId,
  nextStep,
  Stage,
  STAGES,
  type AuditEntry,
  type CohortState,
  type ControlCohort,
  type MigrationStateView,
  type NextStep,
  MINUTE_MS,
} from '../../contract';
import { consoleSettings } from './console-settings';
import { fleet, type PipelineFigures } from './fleet';
import { lookupMigration, temporalUiLink, type MigrationLookup } from './temporal';
import { withTimeout } from '../../kit/async';

// Reads for the pages (writes are server actions in actions.ts). Every read degrades to a value
// that says what is unreachable instead of throwing, so a dead dependency shows as a banner.

const g = globalThis as unknown as { switchyardDynamo?: DynamoDBClient };
function dynamo(): DynamoDBClient {
  g.switchyardDynamo ??= createDynamoClient(consoleSettings().cfg);
  return g.switchyardDynamo;
}

/** A dependency the console could not reach, for the banner. */
export interface Outage {
  service: 'Temporal' | 'Kafka' | 'DynamoDB' | 'query service';
  message: string;
}

async function attempt<T>(service: Outage['service'], outages: Outage[], fn: () => Promise<T>): Promise<T | null> {
  try {
    return await withTimeout(fn(), 5000, service);
  } catch (err) {
    if (!outages.some((o) => o.service === service)) outages.push({ service, message: (err as Error).message });
    return null;
  }
}

/** The environments the console manages, in promotion order. */
export function environments(): string[] {
  return consoleSettings().cfg.environments;
}

/** Per-minute figures for the charts. */
export interface MinutePoint {
  minute: number;
  comparisons: number;
  mismatchRate: number | null;
  /** Reads served per store (null: no figures for the minute, drawn as a gap). */
  servedOld: number | null;
  servedNew: number | null;
  p99OldMs: number | null;
  p99NewMs: number | null;
}

/** A minute's p99 for the chart: the open-ended last bucket is drawn at its lower bound. */
function p99FromHistogram(hist: number[]): number | null {
  return finiteP99(p99(hist), (fromMs) => fromMs);
}

function toMinutePoints(rows: ScienceStatsRow[], from: number, to: number): MinutePoint[] {
  const byMinute = new Map(rows.map((r) => [r.minute, r]));
  const out: MinutePoint[] = [];
  for (let m = from; m <= to; m += MINUTE_MS) {
    const r = byMinute.get(m);
    const c = r?.counters;
    out.push({
      minute: m,
      comparisons: c?.comparisons ?? 0,
      mismatchRate: c && c.comparisons > 0 ? c.mismatches / c.comparisons : null,
      servedOld: c ? c.servedOld : null,
      servedNew: c ? c.servedNew : null,
      p99OldMs: r ? p99FromHistogram(r.latency.old) : null,
      p99NewMs: r ? p99FromHistogram(r.latency.new) : null,
    });
  }
  return out;
}

/** Instances of an env grouped for display, with whether each applies the latest control state. */
export interface InstanceView extends Heartbeat {
  current: boolean;
}

/** Everything the overview shows for one environment. */
export interface EnvOverview {
  env: string;
  migration: MigrationLookup;
  last5m: ScienceSummary | null;
  lastHour: ScienceSummary | null;
  instances: InstanceView[];
  /** False until the heartbeat topic has been read to its end once (the instance list is partial until then). */
  instancesKnown: boolean;
  control: ControlState | undefined;
  /** What happens next, automatic or by whom (contract/next-step.ts). */
  nextStep: NextStep;
  /** Set when this env is further along than the one before it in the promotion order (the order was overridden). */
  aheadOf: { predecessor: string; predecessorStage: string } | null;
}

/** The migration of an env, looked up once per request (the env's card and its successor's, the advance checks, share it). */
export const lookupMigrationOnce = cache(lookupMigration);

const stageIndex = (m: MigrationLookup): number | null =>
  m.kind === 'running' ? (STAGES as readonly string[]).indexOf(m.state.stage) : m.kind === 'none' ? -1 : null;

/** Whether env is ahead of its predecessor in the promotion order (it entered a stage the predecessor has not). */
async function aheadOfPredecessor(env: string, migration: MigrationLookup): Promise<EnvOverview['aheadOf']> {
  const order = environments();
  const predecessor = order[order.indexOf(env) - 1];
  if (predecessor === undefined) return null;
  const mine = stageIndex(migration);
  if (mine === null || mine <= 0) return null;
  const pred = await lookupMigrationOnce(predecessor);
  const theirs = stageIndex(pred);
  if (theirs === null || theirs >= mine) return null;
  return { predecessor, predecessorStage: pred.kind === 'running' ? pred.state.stage : 'not started' };
}

function instanceViews(env: string): InstanceView[] {
  const f = fleet();
  const latest = f.controlState(env)?.version;
  return f.instances(env).map((hb) => ({ ...hb, current: latest === undefined || hb.appliedVersion >= latest }));
}

/** The outages known before any read: Kafka, when the fleet watcher cannot read it. */
function initialOutages(): Outage[] {
  const kafkaProblem = fleet().problem();
  return kafkaProblem ? [{ service: 'Kafka', message: kafkaProblem }] : [];
}

function noteTemporal(outages: Outage[], migration: MigrationLookup): void {
  if (migration.kind === 'unreachable' && !outages.some((o) => o.service === 'Temporal')) outages.push({ service: 'Temporal', message: migration.message });
}

/** What the heartbeat and control topics say about an env. */
function fleetView(env: string): Pick<EnvOverview, 'instances' | 'instancesKnown' | 'control'> {
  return { instances: instanceViews(env), instancesKnown: fleet().caughtUp(), control: fleet().controlState(env) };
}

/** An env's overview from its migration and its science-stats rows of the hour up to minute `to` (null: unreadable). */
function envOverview(env: string, migration: MigrationLookup, rows: ScienceStatsRow[] | null, to: number, aheadOf: EnvOverview['aheadOf']): EnvOverview {
  const fiveMinutesFrom = to - 4 * MINUTE_MS;
  const last5m = rows
    ? summarizeScience(
        rows.filter((r) => r.minute >= fiveMinutesFrom),
        fiveMinutesFrom,
        to,
      )
    : null;
  // The reads of the last five minutes (the current one partly), a minute: the ramp's estimate before its first evaluation.
  const readsPerMinute = last5m ? (last5m.counters.servedOld + last5m.counters.servedNew) / 4.5 : undefined;
  return {
    env,
    migration,
    last5m,
    lastHour: rows ? summarizeScience(rows, to - 59 * MINUTE_MS, to) : null,
    ...fleetView(env),
    nextStep: nextStep(migration, Date.now(), { readsPerMinute }),
    aheadOf,
  };
}

/** The current minute and the first minute of the hour the pages show. */
function hourWindow(): { from: number; to: number } {
  const to = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  return { from: to - 59 * MINUTE_MS, to };
}

/** One environment's overview with what it could not reach; cached per request, so the overview's cards and banner share one read. */
export const loadEnvOverview = cache(async (env: string): Promise<{ overview: EnvOverview; outages: Outage[] }> => {
  const outages = initialOutages();
  const { from, to } = hourWindow();
  const [migration, rows] = await Promise.all([lookupMigrationOnce(env), attempt('DynamoDB', outages, () => readScienceStats(dynamo(), env, from, to))]);
  noteTemporal(outages, migration);
  return { overview: envOverview(env, migration, rows, to, await aheadOfPredecessor(env, migration)), outages };
});

/** Outages of several reads, each service named once. */
function mergeOutages(lists: Outage[][]): Outage[] {
  const out: Outage[] = [];
  for (const o of lists.flat()) if (!out.some((x) => x.service === o.service)) out.push(o);
  return out;
}

/** The overview of every environment. */
export async function loadOverview(): Promise<{ envs: EnvOverview[]; outages: Outage[] }> {
  const loaded = await Promise.all(environments().map((env) => loadEnvOverview(env)));
  return { envs: loaded.map((l) => l.overview), outages: mergeOutages(loaded.map((l) => l.outages)) };
}

/** Everything the environment page shows at once (the slower panels load on their own: loadEnvSamples, loadEnvAudit). */
export interface EnvDetail extends EnvOverview {
  series: MinutePoint[];
  temporalLink: string | null;
  /** The env's migration workflow id (for the Temporal CLI when no UI is linked). */
  workflowId: string;
}

/**
 * The environment page's data (the last hour); null when env is not one the console manages.
 * Cached per request: the page's status, actions and charts panels share one read.
 */
export const loadEnvDetail = cache(async (env: string): Promise<{ detail: EnvDetail; outages: Outage[] } | null> => {
  if (!environments().includes(env)) return null;
  const outages = initialOutages();
  const { from, to } = hourWindow();
  const [migration, rows] = await Promise.all([lookupMigrationOnce(env), attempt('DynamoDB', outages, () => readScienceStats(dynamo(), env, from, to))]);
  noteTemporal(outages, migration);
  return {
    detail: {
      ...envOverview(env, migration, rows, to, await aheadOfPredecessor(env, migration)),
      series: toMinutePoints(rows ?? [], from, to),
      temporalLink: temporalUiLink(env),
      workflowId: migrationWorkflowId(env),
    },
    outages,
  };
});

/** The mismatch explorer's time ranges, minutes back from now. */
export const SAMPLE_RANGES = { '15m': 15, '1h': 60, '6h': 360, '24h': 1440 } as const;

/** One of SAMPLE_RANGES' keys. */
export type SampleRange = keyof typeof SAMPLE_RANGES;

/** How many sampled differences the explorer shows (the newest of the range: enough to see a pattern, short enough for the page). */
export const EXPLORER_SAMPLES = 10;

/** The mismatch samples of an env's last `range` (the newest EXPLORER_SAMPLES), for the explorer panel. */
export async function loadEnvSamples(env: string, range: SampleRange = '1h'): Promise<{ samples: MismatchSample[]; outages: Outage[] }> {
  const outages: Outage[] = [];
  const to = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  const from = to - (SAMPLE_RANGES[range] - 1) * MINUTE_MS;
  const samples = await attempt('DynamoDB', outages, () => readMismatchSamples(dynamo(), env, from, to, EXPLORER_SAMPLES));
  return { samples: samples ?? [], outages };
}

/** An env's newest 200 audit entries, for the timeline, the charts' stage bands and the summary (one read per request). */
export const loadEnvAudit = cache(async (env: string): Promise<{ entries: AuditEntry[]; outages: Outage[] }> => {
  const outages: Outage[] = [];
  const entries = await attempt('DynamoDB', outages, () => readAudit(dynamo(), { env, limit: 200, newestFirst: true }));
  return { entries: entries ?? [], outages };
});

/** Audit entries across environments, filtered (newest first). */
export async function loadAudit(q: AuditQuery): Promise<{ entries: AuditEntry[]; outages: Outage[] }> {
  const outages: Outage[] = [];
  const entries = await attempt('DynamoDB', outages, () => readAudit(dynamo(), { ...q, newestFirst: true }));
  return { entries: entries ?? [], outages };
}

/**
 * The hash chain of every environment's audit log, checked with the integrity key (the audit
 * page's tamper check). A key file that cannot be read is a problem of its own, not an outage.
 */
export async function loadAuditChains(): Promise<{ reports: ChainReport[]; outages: Outage[]; keyProblem: string | null }> {
  const outages: Outage[] = [];
  let keys: ReturnType<typeof loadIntegrityKeys>;
  try {
    keys = loadIntegrityKeys(consoleSettings().integrityKeyFile, { create: true });
  } catch (err) {
    return { reports: [], outages, keyProblem: (err as Error).message };
  }
  const reports = await Promise.all(environments().map((env) => attempt('DynamoDB', outages, () => verifyAuditChain(dynamo(), env, keys))));
  return { reports: reports.filter((r): r is ChainReport => r !== null), outages, keyProblem: null };
}

/** Pipeline figures per env and the instances. */
export async function loadPipeline(): Promise<{
  envs: ({ env: string; figures: PipelineFigures | null } & Pick<EnvOverview, 'instances' | 'instancesKnown' | 'control'>)[];
  outages: Outage[];
}> {
  const outages = initialOutages();
  const envs = await Promise.all(
    environments().map(async (env) => ({
      env,
      figures: await attempt('Kafka', outages, () => fleet().pipelineFigures(env)),
      ...fleetView(env),
    })),
  );
  return { envs, outages };
}

/** One point of the Metrics tab preview, as the query service serves it. */
export interface PreviewPoint {
  time: number;
  median: number;
  p99: number;
  count: number;
}

/** The query service's bearer token, when one is configured (SWITCHYARD_QUERY_TOKEN). */
function queryAuthHeaders(): Record<string, string> {
  const token = process.env.SWITCHYARD_QUERY_TOKEN?.trim();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** An app's median and p99 over the last `minutes`, through the query service (what users see). */
export async function loadMetricsPreview(
  env: string,
  app: string,
  metric: string,
  minutes: number,
): Promise<{ points: PreviewPoint[]; servedBy: string | null; outages: Outage[]; error: string | null }> {
  const outages: Outage[] = [];
  const to = Date.now();
  const from = to - minutes * MINUTE_MS;
  const url = `${consoleSettings().queryUrl}/v1/envs/${encodeURIComponent(env)}/apps/${encodeURIComponent(app)}/metrics/${encodeURIComponent(metric)}?from=${from}&to=${to}&stats=median,p99,count`;
  const res = await attempt('query service', outages, () => fetch(url, { cache: 'no-store', headers: queryAuthHeaders() }));
  if (!res) return { points: [], servedBy: null, outages, error: null };
  const body = (await res.json().catch(() => ({}))) as { points?: PreviewPoint[]; error?: string; problems?: string[] };
  if (!res.ok) return { points: [], servedBy: null, outages, error: `${res.status}: ${body.error ?? ''} ${(body.problems ?? []).join('; ')}`.trim() };
  return { points: body.points ?? [], servedBy: res.headers.get('x-switchyard-served-by'), outages, error: null };
}

export { STAGES };
export type { Stage };

/** The science stats of an env's last `windowMs` (null when DynamoDB cannot be read). */
export async function loadScienceWindow(env: string, windowMs: number): Promise<ScienceSummary | null> {
  return attempt('DynamoDB', [], () => readScienceSummary(dynamo(), env, windowMs));
}

/** What the environment page's Cohorts panel shows: each cohort's state, selector and own figures over the last `windowMs`. */
export interface CohortRows {
  state: MigrationStateView;
  cohorts: CohortState[];
  /** The cohorts' selectors as the control state carries them (by name). */
  specs: Map<string, ControlCohort>;
  /** Each cohort's science stats (its own rows, `<env>#<cohort>`); null where they cannot be read. */
  figures: Map<string, ScienceSummary | null>;
}

/** The Cohorts panel's data, or null when the env's migration has no cohorts (yet) or cannot be read. */
export async function loadCohortRows(env: string, windowMs: number): Promise<CohortRows | null> {
  const migration = await lookupMigration(env);
  if (migration.kind !== 'running' || !migration.state.cohorts || migration.state.cohorts.length === 0) return null;
  const { state } = migration;
  const cohorts = state.cohorts!;
  const figures = await Promise.all(cohorts.map((c) => attempt('DynamoDB', [], () => readScienceSummary(dynamo(), scienceStatsKey(env, c.name), windowMs))));
  return {
    state,
    cohorts,
    specs: new Map((fleet().controlState(env)?.cohorts ?? []).map((c) => [c.name, c])),
    figures: new Map(cohorts.map((c, i) => [c.name, figures[i] ?? null])),
  };
}
