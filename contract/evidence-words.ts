/**
 * Evidence for a person: the figures behind a gate, a rollback or an audit entry as labelled
 * facts in human units (UTC date-times, percents, durations in words, counts with separators),
 * and an audit entry's change in words ("science 5% → 25%", not "science → science"). Shared by
 * the console, the notifications and the CLI, so every surface says a figure the same way. Pure
 * functions; the raw evidence is left untouched for the disclosures and the exports.
 *
 * Invariant: a number is never shown as a bare fraction or an epoch: a known field says its unit;
 * an unknown one is judged by its name (…Rate, …Share, …Ms, …At, …Since) and, for times, by its
 * size (an integer in the epoch-ms range of 2001–2100 is a time).
 */
import { formatCount, formatDurationWords, formatPercent, formatUtc } from './format.js';

/** How a field's value reads. */
type Unit = 'time' | 'duration' | 'fraction' | 'percent' | 'count' | 'version' | 'text' | 'bool';

/** The known evidence fields: a label and a unit each. */
const FIELDS: Record<string, [label: string, unit: Unit]> = {
  // times
  at: ['at', 'time'],
  now: ['evaluated at', 'time'],
  coverageHorizon: ['coverage horizon', 'time'],
  dualWriteSince: ['dual write since', 'time'],
  fullRampSince: ['at 100% since', 'time'],
  cutoverAt100Since: ['cutover at 100% since', 'time'],
  agedOutAt: ['old data aged out at', 'time'],
  rollbackWindowEndsAt: ['rollback window ends at', 'time'],
  ttlGateAt: ['TTL gate at', 'time'],
  acknowledgedAt: ['acknowledged at', 'time'],
  oldestMinute: ['oldest minute in the old store', 'time'],
  verifyRangeStart: ['verified from', 'time'],
  verifyRangeEnd: ['verified up to', 'time'],
  finishedAt: ['finished at', 'time'],
  fromMinute: ['from minute', 'time'],
  toMinute: ['to minute', 'time'],
  // durations
  bakedMs: ['baked for', 'duration'],
  bakeMs: ['bake time', 'duration'],
  atFullMs: ['at 100% for', 'duration'],
  windowMs: ['window', 'duration'],
  stepWindowMs: ['this step’s window', 'duration'],
  shortWindowMs: ['short window', 'duration'],
  rollbackWindowMs: ['rollback window', 'duration'],
  verifyMaxAgeMs: ['verify may be at most', 'duration'],
  // fractions (0..1), said as percents
  mismatchRate: ['mismatch rate', 'fraction'],
  maxMismatchRate: ['gate’s mismatch-rate limit', 'fraction'],
  rollbackMismatchRate: ['rollback mismatch-rate threshold', 'fraction'],
  newStoreErrorRate: ['new-store error rate', 'fraction'],
  maxNewStoreErrorRate: ['gate’s new-store error-rate limit', 'fraction'],
  rollbackErrorRate: ['rollback error-rate threshold', 'fraction'],
  newStoreShare: ['share of queries the new store served', 'fraction'],
  minNewStoreShare: ['share needed', 'fraction'],
  newWriterCorruptionRate: ['new-store writer corrupts', 'fraction'],
  // percents (already 0..100)
  ramp: ['ramp', 'percent'],
  restartAt: ['restart at', 'percent'],
  percent: ['percent', 'percent'],
  sciencePercent: ['science reads', 'percent'],
  cutoverPercent: ['cutover reads', 'percent'],
  // counts
  comparisons: ['comparisons', 'count'],
  minComparisons: ['comparisons needed', 'count'],
  mismatches: ['mismatches', 'count'],
  minSamplesForRollback: ['comparisons needed to judge a rollback', 'count'],
  stepComparisons: ['comparisons this step', 'count'],
  stepMismatches: ['mismatches this step', 'count'],
  shortComparisons: ['comparisons in the short window', 'count'],
  shortMismatches: ['mismatches in the short window', 'count'],
  servedNew: ['reads served by the new store', 'count'],
  servedOld: ['reads served by the old store', 'count'],
  queries: ['queries', 'count'],
  minNewStoreReads: ['new-store reads needed', 'count'],
  candidateErrors: ['shadow-read errors', 'count'],
  candidateTimeouts: ['shadow-read timeouts', 'count'],
  cassandraWriters: ['live Cassandra writers', 'count'],
  dynamodbWriters: ['live DynamoDB writers', 'count'],
  cassandraLag: ['Cassandra writer lag (records)', 'count'],
  dynamodbLag: ['DynamoDB writer lag (records)', 'count'],
  parityGap: ['write parity gap (records)', 'count'],
  maxWriterLag: ['most writer lag allowed (records)', 'count'],
  verifyCompared: ['minutes verified', 'count'],
  verifyMismatches: ['differences found by verify', 'count'],
  compared: ['compared', 'count'],
  controlVersion: ['control state', 'version'],
  version: ['control state', 'version'],
  published: ['control state published', 'version'],
  // words
  passed: ['met', 'bool'],
  agedOut: ['old store aged out', 'bool'],
  rolledBack: ['rolled back', 'bool'],
  keepOldTables: ['keep the old tables', 'bool'],
  keepTables: ['keep the old tables', 'bool'],
  dropped: ['old tables dropped', 'bool'],
  overridden: ['promotion order overridden', 'bool'],
  verifyClean: ['latest verify clean', 'bool'],
  name: ['gate', 'text'],
  detail: ['detail', 'text'],
  window: ['window that called it', 'text'],
  requestedBy: ['requested by', 'text'],
  startedBy: ['started by', 'text'],
  predecessor: ['environment before it', 'text'],
  predecessorStage: ['its stage', 'text'],
  entering: ['entering', 'text'],
  overrideReason: ['override reason', 'text'],
  requestReason: ['the request’s reason', 'text'],
  request: ['request', 'text'],
  error: ['error', 'text'],
};

/** Prefixes of nested evidence said in words ("gate.evidence.bakeMs" → "gate: bake time"). */
const GROUPS: Record<string, string> = {
  gate: 'gate',
  'gate.evidence': 'gate',
  promotionOrder: 'promotion order',
  patch: 'control change',
  rolledBack: 'rollback',
  'rolledBack.evidence': 'rollback',
};

/** The epoch-ms range a bare number is taken for a time in (2001-09-09 .. 2100-01-01). */
const EPOCH_MS_MIN = 1e12;
const EPOCH_MS_MAX = 4_102_444_800_000;

/** The unit of a field by its name, for fields not in FIELDS. */
function unitByName(leaf: string, v: number): Unit {
  if (/(rate|share|ratio)$/i.test(leaf) && v >= 0 && v <= 1) return 'fraction';
  if (/percent$/i.test(leaf)) return 'percent';
  if (/ms$/i.test(leaf)) return 'duration';
  if (Number.isInteger(v) && v >= EPOCH_MS_MIN && v <= EPOCH_MS_MAX) return 'time';
  if (/(^at|At|Since|Minute|[Hh]orizon|Time)$/.test(leaf) && v >= EPOCH_MS_MIN) return 'time';
  return 'count';
}

/** One field's value in words. `context` tells set_fault's from/to (fractions) from a ramp's (percents). */
export function evidenceValueText(key: string, v: unknown, context: { action?: string } = {}): string {
  const leaf = key.split('.').at(-1) ?? key;
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') {
    let unit: Unit | undefined = FIELDS[leaf]?.[1];
    if ((leaf === 'from' || leaf === 'to') && !key.includes('.')) unit = context.action === 'set_fault' ? 'fraction' : 'percent';
    unit ??= unitByName(leaf, v);
    switch (unit) {
      case 'time':
        return formatUtc(v);
      case 'duration':
        return v >= Number.MAX_SAFE_INTEGER ? 'no limit' : formatDurationWords(v);
      case 'fraction':
        return formatPercent(v);
      case 'percent':
        return `${Number(v.toPrecision(4))}%`;
      case 'version':
        return `v${v}`;
      default:
        return Number.isInteger(v) ? formatCount(v) : String(Number(v.toPrecision(4)));
    }
  }
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A field's label: the known one, or its name split into words ("newStoreReads" → "new store reads"), after its group's. */
export function evidenceLabel(key: string): string {
  const parts = key.split('.');
  const leaf = parts.at(-1) ?? key;
  const group = GROUPS[parts.slice(0, -1).join('.')] ?? (parts.length > 1 ? parts.slice(0, -1).join(' ') : '');
  const label =
    FIELDS[leaf]?.[0] ??
    leaf
      .replace(/Ms$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase();
  return group ? `${group}: ${label}` : label;
}

/** One labelled fact of the evidence. */
export interface EvidenceFact {
  /** The raw dotted key ("gate.evidence.bakeMs"). */
  key: string;
  label: string;
  text: string;
}

/** Nested evidence flattened to dotted keys, at most `depth` levels deep. */
function flatten(value: Record<string, unknown>, prefix = '', depth = 3): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth > 1) out.push(...flatten(v as Record<string, unknown>, key, depth - 1));
    else out.push([key, v]);
  }
  return out;
}

/** Fields that repeat what a fact already says, or are for machines (the raw disclosure keeps them). */
const HIDDEN = /(^|\.)(patch|acknowledgedBy|input|requestId|workflowId|runId)(\.|$)/;

/** The evidence as labelled facts in human units, in its own order (machine-only fields left to the raw view). */
export function evidenceFacts(evidence: Record<string, unknown> | null | undefined, context: { action?: string } = {}): EvidenceFact[] {
  if (!evidence) return [];
  return flatten(evidence)
    .filter(([k]) => !HIDDEN.test(k))
    .map(([key, v]) => ({ key, label: evidenceLabel(key), text: evidenceValueText(key, v, context) }));
}

/** What an audit entry changed, in words: "planned → dual_write", "science 5% → 25%", "fault switch 0% → 50%", "science (no stage change)". */
export function auditChangeText(e: { action: string; from: string; to: string; evidence: Record<string, unknown> }): string {
  const ev = e.evidence ?? {};
  const pct = (v: unknown): string | null => (typeof v === 'number' ? `${Number(v.toPrecision(4))}%` : null);
  if (e.action === 'set_fault') {
    const from = typeof ev.from === 'number' ? formatPercent(ev.from) : 'off';
    const to = typeof ev.to === 'number' ? formatPercent(ev.to) : '?';
    return `${e.to}: fault switch ${from} → ${to}`;
  }
  if ((e.action === 'auto_ramp' || e.action === 'set_ramp') && pct(ev.from) !== null && pct(ev.to) !== null) return `${e.to} ${pct(ev.from)} → ${pct(ev.to)}`;
  if (e.action === 'automatic_rollback' || e.action === 'rollback') {
    const ramp = pct(ev.ramp);
    if (e.from === e.to) return `${e.to}${ramp ? ` ${ramp}` : ''} → 0%`;
  }
  if (e.action === 'resume' && typeof ev.restartAt === 'number') return `${e.to} → ${pct(ev.restartAt)}`;
  return e.from === e.to ? `${e.to} (stage unchanged)` : `${e.from} → ${e.to}`;
}
