/**
 * What happens next in an environment's migration, in plain words: either the workflow does it
 * by itself (with about how long it takes) or a person must act (who, and where). One pure
 * function of the workflow's state query (stage, ramp, gates, pause, automatic rollback,
 * decommission request and approval, the latest evaluations, the policy it carries) and the time,
 * used by the console's environment page and overview and by `npm run ops -- status`, so they
 * never disagree.
 *
 * Invariants: every state has an answer, including the moments between two refreshes of the
 * workflow's own figures (right after a stage is entered, right after the approval while the old
 * store is dropped, a gate whose last check predates its bake time ending); "automatic" is said
 * only when the workflow will act without anyone (its loop ticks, a timer, a ramp step); an
 * estimate is coarse (formatEta) and is given only when the figures allow one.
 */
import { formatCount, formatDurationWords, formatEta, formatPercent, formatUtc, formatUtcClock, humanizeTimes } from './format.js';
import type { Evaluation, GateStatus, MigrationPolicy, MigrationStateView } from './migration.js';
import { nextStage, Stage } from './names.js';

/** Who takes the next step. */
export type NextActor = 'automatic' | 'operator' | 'approver' | 'nobody' | 'unknown';

/** The next step of an environment. */
export interface NextStep {
  actor: NextActor;
  /** One sentence: what happens next (and, for a person, what to do). */
  text: string;
  /** About how long until the automatic step (or the whole automatic stretch) is done; null: no estimate. */
  etaMs: number | null;
  /** The button (console) for a person's step, when there is one. */
  action: string | null;
  /** For a ramp: what the next ramp step waits for, with the figures. */
  detail: string | null;
}

/** What the caller may know besides the state: the reads the query service served lately, a minute (for an estimate before the first evaluation). */
export interface NextStepHints {
  readsPerMinute?: number;
}

/** The migration as the console and the CLI look it up. */
export type MigrationLookupView =
  { kind: 'running'; state: MigrationStateView } | { kind: 'none' } | { kind: 'closed'; status: string } | { kind: 'unreachable'; message: string };

const step = (actor: NextActor, text: string, o: Partial<Pick<NextStep, 'etaMs' | 'action' | 'detail'>> = {}): NextStep => ({
  actor,
  text,
  etaMs: o.etaMs ?? null,
  action: o.action ?? null,
  detail: o.detail ?? null,
});

/** A stage in words: "ttl wait", "dual write". */
const stageWords = (stage: Stage): string => stage.replace('_', ' ');

/** "Advance to cutover" / "Advance to ttl wait": the console's button for leaving `stage`. */
export function advanceLabel(stage: Stage): string {
  const next = nextStage(stage);
  return next ? `Advance to ${stageWords(next)}` : 'Advance';
}

/** A gate's detail without its verdict prefix ("met: ", "not met: "), its times in UTC words. */
export function gateDetailWords(g: Pick<GateStatus, 'detail'>): string {
  return humanizeTimes(g.detail.replace(/^(not met|met|not checked yet): /, ''));
}

/** The share of reads compared in a stage at a ramp (science compares ramp %, cutover and ttl_wait every read). */
const comparedPercent = (stage: Stage, ramp: number): number => (stage === Stage.science ? ramp : 100);

/** Comparisons per ms at 100 % compared, estimated from the newest evaluation that has figures (null: none yet). */
function comparisonsPerMsAtFull(s: MigrationStateView): number | null {
  for (let i = s.evaluations.length - 1; i >= 0; i--) {
    const e = s.evaluations[i]!;
    const pct = comparedPercent(e.stage, e.ramp);
    if (pct <= 0) continue;
    // The step's own window when it has figures (it is the current step's rate); else the short one, else the long one.
    for (const w of [e.step, e.short]) {
      if (w && w.comparisons > 0 && w.windowMs > 0) return ((w.comparisons / w.windowMs) * 100) / pct;
    }
    if (e.comparisons > 0) return null; // a long-window count without its window length: no estimate
  }
  return null;
}

/** The newest evaluation of the current ramp step (null: none yet). */
function currentStepEvaluation(s: MigrationStateView): Evaluation | null {
  const e = s.evaluations.at(-1);
  return e && e.stage === s.stage && e.ramp === s.ramp && e.at >= s.rampSince ? e : null;
}

/** The window (short, long, this step) whose rates keep the next ramp step from being taken, in words; null: none. */
function heldBy(s: MigrationStateView, e: Evaluation, p: MigrationPolicy): string | null {
  const windows: [string, { comparisons: number; mismatches: number; mismatchRate: number; newStoreErrorRate: number } | undefined][] = [
    ['the last minute', e.short],
    ['the evaluation window', e],
    ['this step', e.step],
  ];
  for (const [name, w] of windows) {
    if (!w || w.comparisons === 0) continue;
    if (w.mismatchRate > p.maxMismatchRate)
      return `the mismatch rate in ${name} is ${formatPercent(w.mismatchRate)} of ${formatCount(w.comparisons)} comparisons, above the gate's ${formatPercent(p.maxMismatchRate)}`;
    if (s.stage === Stage.cutover && w.newStoreErrorRate > p.maxNewStoreErrorRate)
      return `the new store's error rate in ${name} is ${formatPercent(w.newStoreErrorRate)}, above the gate's ${formatPercent(p.maxNewStoreErrorRate)}`;
  }
  return null;
}

/**
 * The automatic ramp from the current percent to 100 %: the steps left and about how long they
 * take (each step waits at least autoRampIntervalMs and until it has minSamplesForRollback
 * comparisons since it began; a science step compares its share of reads, a cutover step every
 * read), and what the next step waits for.
 */
export function rampOutlook(
  s: MigrationStateView,
  p: MigrationPolicy,
  now: number,
  hints: NextStepHints = {},
): { steps: number[]; etaMs: number | null; waitingFor: string; comparisonsSoFar: number | null } {
  const all = s.stage === Stage.science ? p.scienceSteps : p.cutoverSteps;
  const steps = all.filter((x) => x > s.ramp);
  // Before the first evaluation with figures, the reads the service serves stand in (at 100 % every read is compared).
  const perMsAtFull = comparisonsPerMsAtFull(s) ?? (hints.readsPerMinute && hints.readsPerMinute > 0 ? hints.readsPerMinute / 60_000 : null);
  const need = p.minSamplesForRollback;
  const e = currentStepEvaluation(s);
  const have = e ? (e.step?.comparisons ?? null) : 0;
  const sinceStep = Math.max(0, now - s.rampSince);
  // The current step: the interval from when it began, and the comparisons still missing at the current rate.
  const rateNow = perMsAtFull === null ? null : (perMsAtFull * comparedPercent(s.stage, s.ramp)) / 100;
  const missing = have === null ? need : Math.max(0, need - have);
  // Counted from the evaluation that saw `have` (comparisons keep arriving after it), so the estimate counts down between evaluations.
  const seenAt = e?.at ?? s.rampSince;
  const samplesWait = missing === 0 ? 0 : rateNow && rateNow > 0 ? Math.max(0, missing / rateNow - Math.max(0, now - seenAt)) : null;
  const intervalWait = Math.max(0, p.autoRampIntervalMs - sinceStep);
  const tick = p.evaluationIntervalMs / 2;
  let etaMs: number | null = samplesWait === null ? null : Math.max(intervalWait, samplesWait) + tick;
  // The steps after it: each its interval, or the time to gather its comparisons at its share.
  for (const next of steps.slice(0, -1)) {
    if (etaMs === null || perMsAtFull === null || perMsAtFull <= 0) {
      etaMs = null;
      break;
    }
    const rate = (perMsAtFull * comparedPercent(s.stage, next)) / 100;
    etaMs += Math.max(p.autoRampIntervalMs, need / rate) + tick;
  }
  const parts: string[] = [];
  if (missing > 0) parts.push(`${have === null ? '?' : formatCount(have)} of ${formatCount(need)} comparisons since ${s.ramp}% began`);
  if (intervalWait > 0) parts.push(`${formatDurationWords(Math.ceil(intervalWait / 1000) * 1000)} more at ${s.ramp}%`);
  const next = steps[0];
  const waitingFor =
    next === undefined
      ? 'at 100%: the exit gate decides'
      : parts.length === 0
        ? `ready: the next evaluation steps to ${next}%`
        : `to step to ${next}%: ${parts.join(', ')}`;
  return { steps, etaMs, waitingFor, comparisonsSoFar: have };
}

/** The gate has no figures past its local conditions (bake, ramp, timers): its last check stopped there. */
function onlyLocal(g: GateStatus): boolean {
  return !('comparisons' in g.evidence) && !('cassandraWriters' in g.evidence) && !('agedOut' in g.evidence);
}

/** What the exit gate of a stage with figures (science, cutover at 100 %) waits for, once its bake time is over. */
function gateAtFull(s: MigrationStateView, g: GateStatus | undefined, p: MigrationPolicy | undefined, then: string): NextStep {
  const nextAction = advanceLabel(s.stage);
  if (g?.passed) return step('operator', `The exit gate is met: an operator advances to ${stageWords(nextStage(s.stage)!)}.`, { action: nextAction });
  const every = p ? ` (it checks every ${formatDurationWords(p.evaluationIntervalMs)})` : '';
  if (!g || onlyLocal(g))
    return step('automatic', `Nothing to do: the workflow checks the exit gate's figures next${every}; ${then}.`, { etaMs: p?.evaluationIntervalMs ?? null });
  const ev = g.evidence;
  const n = (k: string): number | null => (typeof ev[k] === 'number' ? (ev[k] as number) : null);
  const comparisons = n('comparisons');
  const minComparisons = n('minComparisons') ?? p?.minComparisons ?? null;
  if (typeof ev.verifyWorkflowId !== 'undefined' && ev.verifyClean !== true)
    return step('operator', `The gate needs a clean verify of the new store: an operator starts one (Verify & repair below). ${gateDetailWords(g)}.`, {
      action: 'Start verify',
    });
  const rate = n('mismatchRate');
  const maxRate = n('maxMismatchRate');
  if (comparisons !== null && minComparisons !== null && comparisons >= minComparisons && rate !== null && maxRate !== null && rate > maxRate)
    return step(
      'operator',
      `The gate is not met: the mismatch rate is ${formatPercent(rate)} of ${formatCount(comparisons)} comparisons, above its ${formatPercent(maxRate)}. An operator looks at the mismatch explorer, and rolls back if it stays.`,
      { action: 'Roll back' },
    );
  const errRate = n('newStoreErrorRate');
  const maxErr = n('maxNewStoreErrorRate');
  if (errRate !== null && maxErr !== null && errRate > maxErr)
    return step(
      'operator',
      `The gate is not met: the new store's error rate is ${formatPercent(errRate)}, above its ${formatPercent(maxErr)}. An operator looks at the new store, and rolls back if it stays.`,
      { action: 'Roll back' },
    );
  if (comparisons !== null && minComparisons !== null && comparisons < minComparisons)
    return step(
      'automatic',
      `Nothing to do: the gate gathers comparisons (${formatCount(comparisons)} of ${formatCount(minComparisons)} so far); ${then}.`,
      {},
    );
  return step('automatic', `Nothing to do yet: the workflow re-checks the gate (${gateDetailWords(g)}); ${then}.`, {});
}

function dualWrite(s: MigrationStateView, p: MigrationPolicy | undefined, now: number): NextStep {
  if (s.coverageHorizon === null) return step('automatic', 'Nothing to do: the workflow records the coverage horizon (seconds).', { etaMs: 5_000 });
  const then = 'then an operator advances to science';
  if (p) {
    const left = s.stageEnteredAt + p.bakeMs.dualWrite - now;
    if (left > 0) return step('automatic', `Nothing to do: dual write bakes (the writers must stay healthy); ${then}.`, { etaMs: left });
  }
  const g = s.gates[0];
  if (g?.passed)
    return step('operator', 'The exit gate is met (both writers live and caught up): an operator advances to science.', { action: 'Advance to science' });
  if (!g || onlyLocal(g)) {
    const every = p ? `within ${formatDurationWords(p.evaluationIntervalMs)}` : 'shortly';
    return step('automatic', `Nothing to do: the workflow checks the writers ${every}; ${then}.`, { etaMs: p?.evaluationIntervalMs ?? null });
  }
  const writers = ['cassandraWriters', 'dynamodbWriters'].map((k) => g.evidence[k]);
  if (writers.some((w) => typeof w === 'number' && w < 1))
    return step('operator', `The gate is not met: ${gateDetailWords(g)}. An operator starts the missing writer (see the Pipeline page).`, {});
  return step('automatic', `Nothing to do yet: the writers catch up (${gateDetailWords(g)}); ${then}.`, {});
}

function ramped(s: MigrationStateView, p: MigrationPolicy | undefined, now: number, hints: NextStepHints): NextStep {
  const next = nextStage(s.stage)!;
  const then = `then an operator advances to ${stageWords(next)}`;
  if (s.rolledBack)
    return step(
      'operator',
      `Rolled back automatically at ${formatUtcClock(s.rolledBack.at)} (${humanizeTimes(s.rolledBack.reason)}). An operator fixes the cause, then resumes; ramping waits until then.`,
      { action: 'Resume' },
    );
  if (s.ramp < 100) {
    if (s.paused) return step('operator', `Paused at ${s.ramp}%: automatic ramping waits until an operator resumes.`, { action: 'Resume' });
    if (!p) return step('automatic', `Nothing to do: ${s.stage} ramps by itself to 100%; ${then}.`, {});
    const outlook = rampOutlook(s, p, now, hints);
    const upNext = outlook.steps[0]!;
    if (!p.autoRamp)
      return step('operator', `Automatic ramping is off: an operator sets the ramp to ${upNext}%.`, { action: 'Set ramp', detail: outlook.waitingFor });
    if ((s.faultRate ?? 0) > 0)
      return step(
        'operator',
        `The fault switch is on (the new-store writer corrupts ${formatPercent(s.faultRate!)} of points): ramping holds until an operator turns it off (npm run ops -- fault ${s.env} 0).`,
        { detail: outlook.waitingFor },
      );
    const e = currentStepEvaluation(s) ?? s.evaluations.at(-1);
    const held = e && e.stage === s.stage ? heldBy(s, e, p) : null;
    if (held)
      return step('operator', `Ramping holds: ${held}. An operator looks at the mismatch explorer, and rolls back if it stays.`, {
        action: 'Roll back',
        detail: outlook.waitingFor,
      });
    const bake = s.stage === Stage.science ? p.bakeMs.science : p.bakeMs.cutover;
    const path = [s.ramp, ...outlook.steps].map((x) => `${x}%`).join(' → ');
    const eta = outlook.etaMs === null ? null : outlook.etaMs + bake;
    return step('automatic', `Nothing to do: ${s.stage} ramps by itself (${path}), then bakes at 100%; ${then}.`, { etaMs: eta, detail: outlook.waitingFor });
  }
  if (p) {
    const bake = s.stage === Stage.science ? p.bakeMs.science : p.bakeMs.cutover;
    const left = s.fullRampSince === null ? bake : s.fullRampSince + bake - now;
    if (left > 0) return step('automatic', `Nothing to do: ${s.stage} bakes at 100%; ${then}.`, { etaMs: left });
  }
  return gateAtFull(s, s.gates[0], p, then);
}

function ttlWait(s: MigrationStateView, p: MigrationPolicy | undefined, now: number): NextStep {
  const then = 'then an operator asks to decommission and an approver approves';
  const g = s.gates[0];
  if (g?.passed)
    return step('operator', 'The TTL gate is met: an operator asks to decommission the old store (an approver then approves).', {
      action: 'Advance to decommission',
    });
  if (s.ttlGateAt !== null && s.ttlGateAt > now)
    return step('automatic', `Nothing to do: the old store's data ages out; the TTL gate opens at ${formatUtc(s.ttlGateAt)}; ${then}.`, {
      etaMs: s.ttlGateAt - now,
    });
  const every = p ? formatDurationWords(p.ttlCheckIntervalMs ?? p.evaluationIntervalMs) : 'few seconds';
  if (g && g.evidence.agedOut === false) {
    const oldest = typeof g.evidence.oldestMinute === 'number' ? ` from ${formatUtc(g.evidence.oldestMinute)}` : '';
    return step(
      'automatic',
      `Nothing to do yet: the old store still holds data${oldest}, older than the coverage horizon; the workflow checks again every ${every}.`,
      {},
    );
  }
  return step('automatic', `Nothing to do: the workflow checks that the old store holds nothing older than the coverage horizon (every ${every}); ${then}.`, {
    etaMs: p ? (p.ttlCheckIntervalMs ?? p.evaluationIntervalMs) : null,
  });
}

/** The next step of a migration as the console and the CLI look it up. */
export function nextStep(m: MigrationLookupView, now: number, hints: NextStepHints = {}): NextStep {
  if (m.kind === 'none') return step('operator', 'No migration yet: an operator creates one on the environment page.', { action: 'Create migration' });
  if (m.kind === 'closed') return step('operator', `The workflow ended (${m.status.toLowerCase()}): an operator creates a new one to migrate again.`, {});
  if (m.kind === 'unreachable') return step('unknown', `Unknown: Temporal is unreachable (${m.message}).`, {});
  const s = m.state;
  const p = s.policy;
  switch (s.stage) {
    case Stage.planned:
      return step('operator', 'An operator starts dual write (both stores written from then on).', { action: 'Start dual write' });
    case Stage.dualWrite:
      return dualWrite(s, p, now);
    case Stage.science:
    case Stage.cutover:
      return ramped(s, p, now, hints);
    case Stage.ttlWait:
      return ttlWait(s, p, now);
    case Stage.decommission:
      if (s.pendingApproval)
        return step('approver', `An approver other than ${s.approvalRequestedBy ?? 'the requester'} approves dropping the old store (it cannot be undone).`, {
          action: 'Approve decommission',
        });
      return step(
        'automatic',
        p?.keepOldTables
          ? 'Nothing to do: approved; the workflow detaches the old store (its tables are kept) and completes.'
          : "Nothing to do: approved; the workflow drops the old store's data and completes.",
        { etaMs: 10_000 },
      );
    case Stage.complete:
      return step('nobody', 'Nothing: the migration is complete. DynamoDB serves every read and takes every write.', {});
  }
}

/** Who acts, as a short tag: "automatic", "operator", "approver". */
export function nextActorWords(n: NextStep): string {
  switch (n.actor) {
    case 'automatic':
      return 'automatic';
    case 'operator':
      return 'an operator must act';
    case 'approver':
      return 'an approver must act';
    case 'nobody':
      return 'done';
    default:
      return 'unknown';
  }
}

/** The next step as one line of text: "automatic: Nothing to do: … (about 3 min)". */
export function nextStepLine(n: NextStep): string {
  const eta = n.etaMs === null ? '' : ` (${formatEta(n.etaMs)})`;
  return `${nextActorWords(n)}: ${n.text}${eta}`;
}
