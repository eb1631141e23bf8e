/**
 * The gates of the migration and the evaluation behind automatic ramping and rollback: pure
 * functions of the workflow state, the policy, the time and the figures activities read. Each
 * verdict carries the numbers it used, so a rejected advance tells the operator exactly what is
 * missing, and the audit log records the evidence.
 *
 * A gate has local conditions (bake times, ramp at 100%, the TTL timer), which need only the
 * state, the policy and the time (localGateFailures), and observed conditions (writer health,
 * science figures, old-store age), which need an activity. The update handler checks both, under
 * the transition lock, and the loop refreshes the exit gate with them.
 */
import type { ScienceFigures, WriterHealth, WriterLag } from '../contract/index.js';
import { NOT_STARTED, Stage, STAGES, type StageOrNotStarted } from '../contract/index.js';
import { formatDuration, MINUTE_MS, nextStage } from '../contract/index.js';
import type { Evaluation, GateStatus, MigrationPolicy, MigrationState, VerifyOutcome, WindowFigures } from '../contract/index.js';

/** Shared with the console and the CLI (contract/format.ts). */
export { formatDuration, nextStage } from '../contract/index.js';

/** Evaluations kept in the state (newest last). */
export const MAX_EVALUATIONS = 20;

/** Coverage horizon for a new writer acknowledged at `acknowledgedAt`: the first full minute after it. */
export function coverageHorizonAfter(acknowledgedAt: number): number {
  return Math.floor(acknowledgedAt / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
}

/** Position of a stage in the migration (not_started = -1). */
export function stageIndex(stage: StageOrNotStarted): number {
  return stage === NOT_STARTED ? -1 : STAGES.indexOf(stage);
}

/** The first ramp step above `ramp`, or null at the top. */
export function nextRampStep(steps: readonly number[], ramp: number): number | null {
  return steps.find((s) => s > ramp) ?? null;
}

/** Ramp steps of a ramped stage. */
export function rampSteps(stage: typeof Stage.science | typeof Stage.cutover, policy: MigrationPolicy): number[] {
  return stage === Stage.science ? policy.scienceSteps : policy.cutoverSteps;
}

/** Whether the stage has a ramp (science percent or cutover percent). */
export function isRamped(stage: Stage): stage is typeof Stage.science | typeof Stage.cutover {
  return stage === Stage.science || stage === Stage.cutover;
}

/** Science window a science/cutover gate reads: at least the bake time, at least the evaluation window. */
export function gateWindowMs(stage: typeof Stage.science | typeof Stage.cutover, policy: MigrationPolicy): number {
  return Math.max(stage === Stage.science ? policy.bakeMs.science : policy.bakeMs.cutover, policy.evaluationWindowMs);
}

/** Parts of the TTL gate time: old data aged out, and the rollback window after cutover reached 100%. */
export function ttlGateParts(
  state: Pick<MigrationState, 'coverageHorizon' | 'fullRampSince'>,
  policy: MigrationPolicy,
): { agedOutAt: number | null; rollbackWindowEndsAt: number | null } {
  return {
    agedOutAt: state.coverageHorizon === null ? null : state.coverageHorizon + policy.retentionMs + policy.ttlGraceMs,
    rollbackWindowEndsAt: state.fullRampSince === null ? null : state.fullRampSince + policy.rollbackWindowMs,
  };
}

/** When the TTL gate's timer fires: max(H + retention + grace, cutover at 100% + rollback window). */
export function ttlGateAt(state: Pick<MigrationState, 'coverageHorizon' | 'fullRampSince'>, policy: MigrationPolicy): number | null {
  const { agedOutAt, rollbackWindowEndsAt } = ttlGateParts(state, policy);
  if (agedOutAt === null || rollbackWindowEndsAt === null) return null;
  return Math.max(agedOutAt, rollbackWindowEndsAt);
}

/** A rate in [0, 1] as a percentage with enough digits for thresholds like 0.1%. */
export function formatRate(rate: number): string {
  return `${(rate * 100).toFixed(3).replace(/\.?0+$/, '')}%`;
}

/** An epoch-ms time as ISO-8601 (UTC). */
export function formatTime(ms: number | null): string {
  return ms === null ? 'unknown' : new Date(ms).toISOString();
}

/** What an exit gate observes through an activity. */
export type GateObservation =
  | { kind: 'writers'; health: WriterHealth }
  | { kind: 'science'; figures: ScienceFigures }
  | { kind: 'old_store'; agedOut: boolean; oldestMinute: number | null };

/** The observation each exit gate needs. */
export function observationKind(stage: Stage): GateObservation['kind'] | null {
  switch (stage) {
    case Stage.dualWrite:
      return 'writers';
    case Stage.science:
    case Stage.cutover:
      return Stage.science;
    case Stage.ttlWait:
      return 'old_store';
    default:
      return null;
  }
}

interface Check {
  ok: boolean;
  text: string;
}

/** What a gate is evaluated against. */
export interface GateContext {
  state: MigrationState;
  policy: MigrationPolicy;
  now: number;
}

type Evidence = GateStatus['evidence'];

function gateName(stage: Stage): string {
  return `${stage}->${nextStage(stage) ?? 'none'}`;
}

function localChecks(ctx: GateContext): { checks: Check[]; evidence: Evidence } {
  const { state, policy, now } = ctx;
  switch (state.stage) {
    case Stage.dualWrite: {
      const baked = now - state.stageEnteredAt;
      return {
        checks: [
          {
            ok: state.coverageHorizon !== null,
            text: `coverage horizon ${state.coverageHorizon === null ? 'not recorded' : formatTime(state.coverageHorizon)}`,
          },
          { ok: baked >= policy.bakeMs.dualWrite, text: `dual write for ${formatDuration(baked)} of ${formatDuration(policy.bakeMs.dualWrite)} bake time` },
        ],
        evidence: { coverageHorizon: state.coverageHorizon, dualWriteSince: state.stageEnteredAt, bakedMs: baked, bakeMs: policy.bakeMs.dualWrite },
      };
    }
    case Stage.science:
    case Stage.cutover: {
      const bake = state.stage === Stage.science ? policy.bakeMs.science : policy.bakeMs.cutover;
      const atFull = state.fullRampSince === null ? null : now - state.fullRampSince;
      const checks: Check[] = [];
      if (state.rolledBack)
        checks.push({ ok: false, text: `automatic rollback in effect since ${formatTime(state.rolledBack.at)} (${state.rolledBack.reason}); resume first` });
      checks.push({ ok: state.ramp === 100, text: `${state.stage} at ${state.ramp}% (must be 100%)` });
      checks.push({
        ok: atFull !== null && atFull >= bake,
        text:
          atFull === null
            ? `not yet at 100% (bake time ${formatDuration(bake)})`
            : `at 100% for ${formatDuration(atFull)} of ${formatDuration(bake)} bake time`,
      });
      const evidence: Evidence = {
        ramp: state.ramp,
        fullRampSince: state.fullRampSince,
        atFullMs: atFull,
        bakeMs: bake,
        rolledBack: state.rolledBack !== null,
      };
      if (state.stage === Stage.science && policy.verifyBeforeCutover) {
        const v = verifyCheck(state.lastVerify ?? null, policy.verifyBeforeCutover.maxAgeMs, now, state.coverageHorizon, policy.retentionMs);
        checks.push(v.check);
        Object.assign(evidence, v.evidence);
      }
      return { checks, evidence };
    }
    case Stage.ttlWait: {
      const { agedOutAt, rollbackWindowEndsAt } = ttlGateParts(state, policy);
      return {
        checks: [
          {
            ok: agedOutAt !== null && now >= agedOutAt,
            text: `old data ages out at ${formatTime(agedOutAt)} (H ${formatTime(state.coverageHorizon)} + retention ${formatDuration(policy.retentionMs)} + grace ${formatDuration(policy.ttlGraceMs)})${agedOutAt !== null && now < agedOutAt ? `, ${formatDuration(agedOutAt - now)} from now` : ''}`,
          },
          {
            ok: rollbackWindowEndsAt !== null && now >= rollbackWindowEndsAt,
            text: `rollback window ends at ${formatTime(rollbackWindowEndsAt)}${rollbackWindowEndsAt !== null && now < rollbackWindowEndsAt ? `, ${formatDuration(rollbackWindowEndsAt - now)} from now` : ''}`,
          },
        ],
        evidence: { coverageHorizon: state.coverageHorizon, agedOutAt, rollbackWindowEndsAt, ttlGateAt: ttlGateAt(state, policy), now },
      };
    }
    default:
      return { checks: [{ ok: false, text: `no gate leads out of ${state.stage}` }], evidence: {} };
  }
}

/**
 * The cutover gate's verify requirement: a clean full verify whose range ends at most maxAgeMs ago
 * and starts no later than the oldest minute the new store must hold (the coverage horizon, or the
 * oldest minute still within retention when the run ended): a verify of only part of the data does
 * not count.
 */
function verifyCheck(
  v: VerifyOutcome | null,
  maxAgeMs: number,
  now: number,
  horizon: number | null,
  retentionMs: number,
): { check: Check; evidence: Evidence } {
  const evidence: Evidence = {
    verifyWorkflowId: v?.workflowId ?? null,
    verifyClean: v?.clean ?? null,
    verifyRangeStart: v?.range.fromMinute ?? null,
    verifyRangeEnd: v?.range.toMinute ?? null,
    verifyCompared: v?.compared ?? null,
    verifyMismatches: v?.mismatches ?? null,
    verifyMaxAgeMs: maxAgeMs,
  };
  if (v === null)
    return { check: { ok: false, text: `no verify run yet (a clean verify of data no older than ${formatDuration(maxAgeMs)} is required)` }, evidence };
  if (!v.clean)
    return {
      check: { ok: false, text: `latest verify ${v.workflowId} found ${v.mismatches} differences in ${v.compared} minutes: repair and verify again` },
      evidence,
    };
  const mustStart = Math.max(horizon ?? 0, Math.ceil((v.finishedAt - retentionMs) / MINUTE_MS) * MINUTE_MS);
  if (v.range.fromMinute > mustStart)
    return {
      check: {
        ok: false,
        text: `latest verify ${v.workflowId} began at ${formatTime(v.range.fromMinute)}, after ${formatTime(mustStart)}: verify the whole range the new store holds`,
      },
      evidence,
    };
  const age = now - (v.range.toMinute + MINUTE_MS);
  return {
    check: {
      ok: age <= maxAgeMs,
      text: `latest verify ${v.workflowId} clean over ${v.compared} minutes up to ${formatTime(v.range.toMinute)} (${formatDuration(Math.max(0, age))} old, max ${formatDuration(maxAgeMs)})`,
    },
    evidence,
  };
}

function observedChecks(ctx: GateContext, observation: GateObservation): { checks: Check[]; evidence: Evidence } {
  const { state, policy } = ctx;
  switch (observation.kind) {
    case 'writers': {
      const h = observation.health;
      return {
        checks: [
          { ok: h.cassandraWriters >= 1, text: `${h.cassandraWriters} live Cassandra writer(s) (need at least 1)` },
          { ok: h.dynamodbWriters >= 1, text: `${h.dynamodbWriters} live DynamoDB writer(s) (need at least 1)` },
          { ok: h.dynamodbLag <= policy.maxWriterLag, text: `DynamoDB writer lag ${h.dynamodbLag} (max ${policy.maxWriterLag})` },
          { ok: h.parityGap <= policy.maxWriterLag, text: `write parity gap ${h.parityGap} (max ${policy.maxWriterLag})` },
        ],
        evidence: { ...h, maxWriterLag: policy.maxWriterLag },
      };
    }
    case 'science': {
      const f = observation.figures;
      const checks: Check[] = [
        {
          ok: f.comparisons >= policy.minComparisons,
          text: `${f.comparisons} comparisons over ${formatDuration(f.windowMs)} (need at least ${policy.minComparisons})`,
        },
        { ok: f.mismatchRate <= policy.maxMismatchRate, text: `mismatch rate ${formatRate(f.mismatchRate)} (max ${formatRate(policy.maxMismatchRate)})` },
      ];
      const evidence: Evidence = {
        windowMs: f.windowMs,
        comparisons: f.comparisons,
        minComparisons: policy.minComparisons,
        mismatches: f.mismatches,
        mismatchRate: f.mismatchRate,
        maxMismatchRate: policy.maxMismatchRate,
      };
      if (state.stage === Stage.cutover) {
        checks.push({
          ok: f.newStoreErrorRate <= policy.maxNewStoreErrorRate,
          text: `new-store error rate ${formatRate(f.newStoreErrorRate)}${f.newStoreReads !== undefined ? ` over ${f.newStoreReads} new-store reads` : ''} (max ${formatRate(policy.maxNewStoreErrorRate)})`,
        });
        evidence.newStoreErrorRate = f.newStoreErrorRate;
        evidence.maxNewStoreErrorRate = policy.maxNewStoreErrorRate;
        if (policy.minNewStoreReads !== undefined) {
          // The cutover is only proven by reads the new store actually served.
          const queries = f.queries ?? f.servedOld + f.servedNew;
          const share = queries === 0 ? 0 : f.servedNew / queries;
          const needShare = newStoreShareNeeded(state.ramp, policy);
          checks.push({
            ok: f.servedNew >= policy.minNewStoreReads,
            text: `${f.servedNew} reads served by the new store over ${formatDuration(f.windowMs)} (need at least ${policy.minNewStoreReads})`,
          });
          checks.push({
            ok: queries > 0 && share >= needShare,
            text: `new store served ${formatShare(share)} of ${queries} queries (need at least ${formatShare(needShare)} at cutover ${state.ramp}%)`,
          });
          Object.assign(evidence, {
            servedNew: f.servedNew,
            servedOld: f.servedOld,
            queries,
            newStoreShare: share,
            minNewStoreReads: policy.minNewStoreReads,
            minNewStoreShare: needShare,
          });
        }
      }
      return { checks, evidence };
    }
    case 'old_store':
      return {
        checks: [
          {
            ok: observation.agedOut,
            text: observation.agedOut
              ? `old store holds nothing older than H ${formatTime(state.coverageHorizon)}`
              : `old store still holds data from ${formatTime(observation.oldestMinute)}, older than H ${formatTime(state.coverageHorizon)}`,
          },
        ],
        evidence: { agedOut: observation.agedOut, oldestMinute: observation.oldestMinute },
      };
  }
}

function verdict(name: string, checks: Check[], evidence: Evidence, complete: boolean): GateStatus {
  const failing = checks.filter((c) => !c.ok);
  if (failing.length > 0) return { name, passed: false, detail: `not met: ${failing.map((c) => c.text).join('; ')}`, evidence };
  if (!complete) return { name, passed: false, detail: `not checked yet: ${checks.map((c) => c.text).join('; ')}; figures not read`, evidence };
  return { name, passed: true, detail: `met: ${checks.map((c) => c.text).join('; ')}`, evidence };
}

/**
 * The exit gate of the current stage. Without an observation only the local conditions are
 * judged (a gate that needs figures then never passes).
 */
export function exitGate(ctx: GateContext, observation: GateObservation | null): GateStatus {
  const name = gateName(ctx.state.stage);
  const local = localChecks(ctx);
  const needs = observationKind(ctx.state.stage);
  if (observation === null || observation.kind !== needs) return verdict(name, local.checks, local.evidence, needs === null);
  const observed = observedChecks(ctx, observation);
  return verdict(name, [...local.checks, ...observed.checks], { ...local.evidence, ...observed.evidence }, true);
}

/** The failing local conditions of the current stage's exit gate (empty when only figures remain to be checked). */
export function localGateFailures(ctx: GateContext): string[] {
  return localChecks(ctx)
    .checks.filter((c) => !c.ok)
    .map((c) => c.text);
}

/** Judges science figures for automatic rollback: enough samples, and rates against the rollback thresholds. */
export function judgeWindow(
  stage: typeof Stage.science | typeof Stage.cutover,
  ramp: number,
  figures: ScienceFigures,
  policy: MigrationPolicy,
  now: number,
): Evaluation {
  let result: Evaluation['verdict'] = 'healthy';
  if (figures.comparisons < policy.minSamplesForRollback) result = 'insufficient_samples';
  else if (figures.mismatchRate > policy.rollbackMismatchRate || (stage === Stage.cutover && figures.newStoreErrorRate > policy.rollbackErrorRate))
    result = 'rollback';
  return {
    at: now,
    stage,
    ramp,
    comparisons: figures.comparisons,
    mismatches: figures.mismatches,
    mismatchRate: figures.mismatchRate,
    newStoreErrorRate: figures.newStoreErrorRate,
    verdict: result,
  };
}

/** Why an evaluation calls for a rollback, with its figures. */
export function rollbackReason(e: Evaluation, policy: MigrationPolicy): string {
  const reasons: string[] = [];
  if (e.mismatchRate > policy.rollbackMismatchRate)
    reasons.push(`mismatch rate ${formatRate(e.mismatchRate)} > rollback threshold ${formatRate(policy.rollbackMismatchRate)}`);
  if (e.stage === Stage.cutover && e.newStoreErrorRate > policy.rollbackErrorRate) {
    reasons.push(`new-store error rate ${formatRate(e.newStoreErrorRate)} > rollback threshold ${formatRate(policy.rollbackErrorRate)}`);
  }
  return `${reasons.join(' and ')} over ${e.comparisons} comparisons in the last ${formatDuration(policy.evaluationWindowMs)} at ${e.stage} ${e.ramp}%`;
}

/**
 * Whether an evaluation allows the next automatic ramp step: enough samples and rates within
 * the gate thresholds (not merely below the rollback thresholds: a step that the gate would
 * reject later is not worth taking).
 */
export function allowsRampUp(e: Evaluation, policy: MigrationPolicy): boolean {
  if (e.verdict !== 'healthy') return false;
  if (e.mismatchRate > policy.maxMismatchRate) return false;
  return e.stage !== Stage.cutover || e.newStoreErrorRate <= policy.maxNewStoreErrorRate;
}

// ---- two-window evaluation (gates-v2) -------------------------------------------------------

/** The short (burst) window of a policy. */
export function shortWindowMs(policy: MigrationPolicy): number {
  return policy.shortWindowMs ?? Math.min(policy.evaluationWindowMs, MINUTE_MS);
}

/** The share of queries the new store must serve at a cutover ramp (fraction of the ramp). */
export function newStoreShareNeeded(ramp: number, policy: MigrationPolicy): number {
  return ((policy.minNewStoreShare ?? 0.8) * ramp) / 100;
}

function formatShare(share: number): string {
  return `${(share * 100).toFixed(1).replace(/\.0$/, '')}%`;
}

function windowFigures(f: ScienceFigures): WindowFigures {
  return { windowMs: f.windowMs, comparisons: f.comparisons, mismatches: f.mismatches, mismatchRate: f.mismatchRate, newStoreErrorRate: f.newStoreErrorRate };
}

function breaches(stage: typeof Stage.science | typeof Stage.cutover, w: WindowFigures, policy: MigrationPolicy): boolean {
  if (w.comparisons < policy.minSamplesForRollback) return false;
  return w.mismatchRate > policy.rollbackMismatchRate || (stage === Stage.cutover && w.newStoreErrorRate > policy.rollbackErrorRate);
}

/** The figures an evaluation reads: the long window, the short (burst) window, and since the ramp step began. */
export interface EvaluationWindows {
  long: ScienceFigures;
  short: ScienceFigures;
  step: ScienceFigures;
}

/**
 * Two-window evaluation, as multi-window burn-rate alerting does: either window with enough
 * samples above a rollback threshold rolls back (the short one catches a burst the long one
 * dilutes, the long one a trickle the short one has too few samples for). The verdict is
 * healthy when the current step has gathered enough comparisons since it began.
 */
export function judgeWindows(
  stage: typeof Stage.science | typeof Stage.cutover,
  ramp: number,
  w: EvaluationWindows,
  policy: MigrationPolicy,
  now: number,
): Evaluation {
  const long = windowFigures(w.long);
  const short = windowFigures(w.short);
  const step = windowFigures(w.step);
  let verdict: Evaluation['verdict'] = 'healthy';
  let rollbackWindow: Evaluation['rollbackWindow'];
  if (breaches(stage, short, policy)) [verdict, rollbackWindow] = ['rollback', 'short'];
  else if (breaches(stage, long, policy)) [verdict, rollbackWindow] = ['rollback', 'long'];
  else if (step.comparisons < policy.minSamplesForRollback) verdict = 'insufficient_samples';
  return {
    at: now,
    stage,
    ramp,
    comparisons: long.comparisons,
    mismatches: long.mismatches,
    mismatchRate: long.mismatchRate,
    newStoreErrorRate: long.newStoreErrorRate,
    verdict,
    short,
    step,
    ...(rollbackWindow ? { rollbackWindow } : {}),
  };
}

/** Why a two-window evaluation calls for a rollback, with the figures of the window that did. */
export function windowRollbackReason(e: Evaluation, policy: MigrationPolicy): string {
  const w: WindowFigures =
    e.rollbackWindow === 'short' && e.short
      ? e.short
      : {
          windowMs: policy.evaluationWindowMs,
          comparisons: e.comparisons,
          mismatches: e.mismatches,
          mismatchRate: e.mismatchRate,
          newStoreErrorRate: e.newStoreErrorRate,
        };
  const reasons: string[] = [];
  if (w.mismatchRate > policy.rollbackMismatchRate)
    reasons.push(`mismatch rate ${formatRate(w.mismatchRate)} > rollback threshold ${formatRate(policy.rollbackMismatchRate)}`);
  // Reads served by the new store (cutover, and ttl_wait's watch): its errors count too.
  if (e.stage !== Stage.science && w.newStoreErrorRate > policy.rollbackErrorRate) {
    reasons.push(`new-store error rate ${formatRate(w.newStoreErrorRate)} > rollback threshold ${formatRate(policy.rollbackErrorRate)}`);
  }
  return `${reasons.join(' and ')} over ${w.comparisons} comparisons in the last ${formatDuration(w.windowMs)} (${e.rollbackWindow ?? 'long'} window) at ${e.stage} ${e.ramp}%`;
}

/** The window that keeps a ramp step from being taken, if any (rates above the gate's thresholds). */
function blockingWindow(e: Evaluation, policy: MigrationPolicy): string | null {
  const windows: [string, WindowFigures | undefined][] = [
    ['short window', e.short],
    [
      'long window',
      {
        windowMs: policy.evaluationWindowMs,
        comparisons: e.comparisons,
        mismatches: e.mismatches,
        mismatchRate: e.mismatchRate,
        newStoreErrorRate: e.newStoreErrorRate,
      },
    ],
    ['this step', e.step],
  ];
  for (const [name, w] of windows) {
    if (!w) continue;
    if (w.mismatchRate > policy.maxMismatchRate)
      return `mismatch rate ${formatRate(w.mismatchRate)} in the ${name} (${formatDuration(w.windowMs)}) is above the gate's ${formatRate(policy.maxMismatchRate)}`;
    if (e.stage === Stage.cutover && w.newStoreErrorRate > policy.maxNewStoreErrorRate) {
      return `new-store error rate ${formatRate(w.newStoreErrorRate)} in the ${name} (${formatDuration(w.windowMs)}) is above the gate's ${formatRate(policy.maxNewStoreErrorRate)}`;
    }
  }
  return null;
}

/**
 * Whether a two-window evaluation allows the next automatic ramp step: enough comparisons since
 * the step began, and every window (short, long, this step) within the gate's thresholds.
 */
export function allowsRampUpWindows(e: Evaluation, policy: MigrationPolicy): boolean {
  return e.verdict === 'healthy' && blockingWindow(e, policy) === null;
}

/**
 * What the next automatic ramp step waits for, in words and numbers, e.g. "12 of 20 comparisons
 * since 5% began, at about 1.2 a minute: about 7m"; null when nothing is waited for.
 */
export function rampWaitText(
  e: Evaluation,
  ctx: {
    policy: MigrationPolicy;
    paused: boolean;
    rolledBack: boolean;
    rampSince: number;
    next: number | null;
    faultRate?: number;
    writerBehind?: WriterBehind | null;
  },
): string | null {
  const { policy } = ctx;
  if (ctx.next === null) return null;
  if (ctx.rolledBack) return `rolled back automatically: ramping resumes after an operator resumes`;
  if (ctx.paused) return `paused: no automatic step to ${ctx.next}% until resumed`;
  if (!policy.autoRamp) return `automatic ramping is off: set the ramp to ${ctx.next}% by hand`;
  if ((ctx.faultRate ?? 0) > 0)
    return `the fault switch is on (the new-store writer corrupts ${formatRate(ctx.faultRate!)} of points): no automatic step to ${ctx.next}% until it is off`;
  if (ctx.writerBehind) return `${writerBehindText(ctx.writerBehind, policy)}: no automatic step to ${ctx.next}% until it catches up`;
  const parts: string[] = [];
  const elapsed = Math.max(0, e.at - ctx.rampSince);
  const need = policy.minSamplesForRollback;
  const have = e.step?.comparisons ?? e.comparisons;
  if (have < need) {
    const perMinute = elapsed > 0 ? (have * MINUTE_MS) / elapsed : 0;
    const eta = perMinute > 0 ? `: about ${formatDuration(((need - have) / perMinute) * MINUTE_MS)}` : ': none yet, so no estimate';
    parts.push(`${have} of ${need} comparisons since ${e.ramp}% began, at about ${perMinute.toFixed(1)} a minute${eta}`);
  }
  if (elapsed < policy.autoRampIntervalMs) parts.push(`${formatDuration(elapsed)} of ${formatDuration(policy.autoRampIntervalMs)} at ${e.ramp}%`);
  const blocked = blockingWindow(e, policy);
  if (blocked) parts.push(blocked);
  return parts.length === 0 ? `ready: the next evaluation steps to ${ctx.next}%` : `to step to ${ctx.next}%: ${parts.join('; ')}`;
}

/** A store's writer behind beyond the policy's limit (or its lag unknown: behindMs null). */
export interface WriterBehind {
  store: 'old' | 'new';
  /** null: the lag could not be measured. */
  behindMs: number | null;
}

/** Ramps hold while a writer is behind by more than this, when the policy does not say. */
export const DEFAULT_MAX_WRITER_BEHIND_MS = 30_000;

/** A hold this long is an outage (audited and notified), when the policy does not say. */
export const DEFAULT_WRITER_OUTAGE_MS = 5 * 60_000;

/** The policy's limit on writer lag for automatic ramping. */
export function maxWriterBehindMs(policy: MigrationPolicy): number {
  return policy.maxWriterBehindMs ?? DEFAULT_MAX_WRITER_BEHIND_MS;
}

/** How long a hold lasts before it is an outage. */
export function writerOutageMs(policy: MigrationPolicy): number {
  return policy.writerOutageMs ?? DEFAULT_WRITER_OUTAGE_MS;
}

/** The store's writer in words. */
export function writerName(store: 'old' | 'new'): string {
  return store === 'old' ? 'the Cassandra (old-store) writer' : 'the DynamoDB (new-store) writer';
}

/**
 * Which writer holds automatic ramping: the one furthest behind beyond the limit, or, when the
 * lag could not be measured, both unknown (reported as the new store's, behindMs null). Null when
 * both are within the limit.
 */
export function writerBehind(lag: WriterLag | null, policy: MigrationPolicy): WriterBehind | null {
  if (lag === null || lag.old === null || lag.new === null) return { store: 'new', behindMs: null };
  const limit = maxWriterBehindMs(policy);
  const worst: 'old' | 'new' = lag.new.behindMs >= lag.old.behindMs ? 'new' : 'old';
  const behindMs = lag[worst]!.behindMs;
  return behindMs > limit ? { store: worst, behindMs } : null;
}

/** "the DynamoDB (new-store) writer is behind by 34 s (limit 30 s)", or why it is not known. */
export function writerBehindText(b: WriterBehind, policy: MigrationPolicy): string {
  if (b.behindMs === null) return `the writers\u2019 lag could not be measured (Kafka unreachable)`;
  return `${writerName(b.store)} is behind by ${formatDuration(b.behindMs)} (limit ${formatDuration(maxWriterBehindMs(policy))})`;
}

/**
 * The one rule behind every automatic step (the environment's and each cohort's): what an
 * evaluation calls for. A rollback when a window breaches its threshold with the ramp above 0 and
 * no rollback in effect; a ramp step (or, for a cohort whose turn came, its first step) when
 * automatic ramping is on, nothing is paused or rolled back, the step has held for
 * autoRampIntervalMs and every window allows it, and nothing else holds it; otherwise a wait.
 * `holds` is asked last, only when everything else allows a step (it may consult workflow patches).
 */
export type AutomaticStep = { kind: 'rollback'; figures: ScienceFigures } | { kind: 'ramp'; to: number; begins: boolean } | { kind: 'wait' };

/** What the rule looks at besides the evaluation. */
export interface StepContext {
  policy: MigrationPolicy;
  ramp: number;
  rampSince: number;
  /** The next ramp step, null at the last. */
  next: number | null;
  now: number;
  paused: boolean;
  rolledBack: boolean;
  /** A cohort at 0 % whose turn has come begins at its first step without an evaluation of its own. */
  beginsAtZero?: boolean;
  /** Whatever else holds a step (the fault switch, a lagging writer, a cohort's place in the order). */
  holds: () => boolean;
}

/** The automatic step an evaluation (null: none made) of the windows `w` calls for. */
export function automaticStep(e: Evaluation | null, w: EvaluationWindows | null, x: StepContext): AutomaticStep {
  if (e !== null && w !== null && e.verdict === 'rollback' && x.ramp > 0 && !x.rolledBack) {
    return { kind: 'rollback', figures: e.rollbackWindow === 'short' ? w.short : w.long };
  }
  const free = x.policy.autoRamp && !x.paused && !x.rolledBack && x.next !== null;
  if (free && x.beginsAtZero === true && x.ramp === 0 && !x.holds()) return { kind: 'ramp', to: x.next!, begins: true };
  if (free && e !== null && w !== null && x.now - x.rampSince >= x.policy.autoRampIntervalMs && allowsRampUpWindows(e, x.policy) && !x.holds()) {
    return { kind: 'ramp', to: x.next!, begins: false };
  }
  return { kind: 'wait' };
}

/** Why an automatic ramp step was taken, in words: how long the step held and what its windows saw. */
export function rampStepReason(stage: string, ramp: number, rampSince: number, now: number, w: EvaluationWindows): string {
  return `${stage} healthy at ${ramp}% for ${formatDuration(now - rampSince)}: ${w.step.comparisons} comparisons since the step began, mismatch rate ${formatRate(w.step.mismatchRate)}; last ${formatDuration(w.short.windowMs)}: ${w.short.comparisons} comparisons, ${formatRate(w.short.mismatchRate)}`;
}

/** The evidence of an automatic ramp step: the long window's figures, the step's and the short window's. */
export function rampStepEvidence(from: number, to: number, w: EvaluationWindows): Record<string, unknown> {
  return {
    from,
    to,
    ...w.long,
    stepComparisons: w.step.comparisons,
    stepMismatches: w.step.mismatches,
    stepWindowMs: w.step.windowMs,
    shortComparisons: w.short.comparisons,
    shortMismatches: w.short.mismatches,
    shortWindowMs: w.short.windowMs,
  };
}
