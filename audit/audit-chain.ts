/**
 * The audit log's hash chain: what makes a changed, deleted or inserted entry visible.
 *
 * Each entry of an environment carries `chainHash`, a keyed hash (kit/integrity.ts, purpose
 * `audit`) over its stored fields, the seq of the entry before it (`chainPrevSeq`) and that
 * entry's own `chainHash`. Writing one needs the integrity key; checking one needs it too, so a
 * process that can write the table but does not hold the key cannot make an entry that checks.
 *
 * Invariants:
 *  - the hash is a function of the stored entry and the one before it, nothing else: an activity
 *    retried for the same seq computes the same hash (and the conditional put keeps the first);
 *  - an entry links to the newest entry below its seq that exists when it is written (the
 *    workflow writes an environment's entries one at a time, in seq order). A seq that was never
 *    written (an entry refused as invalid, a workflow terminated before its write) is a gap the
 *    next entry states: reported, not broken;
 *  - entries written before chaining existed carry no hash: "unchained". The chain starts at the
 *    first entry with a hash; any entry without one after that is broken.
 *
 * Pure functions over stored items; audit-log.ts does the reads and writes.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { checkTag, makeTag, type KeyRing, type TagField } from '../kit/integrity.js';

const PURPOSE = 'audit';

/** A chained entry's predecessor: its seq and its hash (null for an entry written before chaining). */
export interface ChainLink {
  seq: number;
  hash: string | null;
}

/** Numbers as DynamoDB gives them back (it normalizes 1.0 to 1), so writer and checker hash the same text. */
const num = (v: AttributeValue | undefined): TagField => (v?.N !== undefined ? String(Number(v.N)) : null);

/** The stored fields an entry's hash covers, in a fixed order. */
function entryFields(item: Record<string, AttributeValue>): TagField[] {
  const s = (k: string): TagField => item[k]?.S ?? null;
  return [
    s('env'),
    num(item.seq),
    num(item.at),
    s('actor'),
    s('action'),
    s('from'),
    s('to'),
    s('reason'),
    s('evidence'),
    s('workflowId'),
    s('runId'),
    num(item.controlVersion),
  ];
}

/** The chain attributes for an item about to be written after `prev` (null: the environment's first entry). */
export function chainAttributes(ring: KeyRing, item: Record<string, AttributeValue>, prev: ChainLink | null): Record<string, AttributeValue> {
  const hash = makeTag(ring, PURPOSE, [...entryFields(item), prev?.seq ?? null, prev?.hash ?? null]);
  return { ...(prev ? { chainPrevSeq: { N: String(prev.seq) } } : {}), chainHash: { S: hash } };
}

/** The link a stored item offers to the entry after it. */
export function linkOf(item: Record<string, AttributeValue>): ChainLink {
  return { seq: Number(item.seq?.N), hash: item.chainHash?.S ?? null };
}

/** What the check of one environment's chain found. */
export interface ChainReport {
  env: string;
  /** Entries read. */
  entries: number;
  /** Entries from before chaining (no hash, all before the first chained entry). */
  unchained: number;
  /** Entries whose hash checked, up to the first broken one. */
  verified: number;
  /** The first chained entry's seq, or null when none is chained. */
  chainStart: number | null;
  /** Seqs that were never written, as the entry after them states (from..to, inclusive). */
  gaps: { from: number; to: number }[];
  /** The first broken link, or null when the whole chain checks. */
  broken: { seq: number; problem: string } | null;
  /** The newest entry's seq, or null for an empty log. */
  lastSeq: number | null;
}

/** A chain report in one line for a person (the CLI and the audit page use it). */
export function describeChain(r: ChainReport): string {
  if (r.entries === 0) return `${r.env}: no audit entries`;
  const before = r.unchained > 0 ? `; ${r.unchained} older entr${r.unchained === 1 ? 'y' : 'ies'} from before chaining (unchained)` : '';
  const gaps = r.gaps.length > 0 ? `; never written: seq ${r.gaps.map((g) => (g.from === g.to ? g.from : `${g.from}-${g.to}`)).join(', ')}` : '';
  if (r.broken) return `${r.env}: BROKEN at seq ${r.broken.seq}: ${r.broken.problem} (${r.verified} entries before it check${before}${gaps})`;
  if (r.chainStart === null) return `${r.env}: ${r.entries} entries, none chained (all written before chaining)`;
  return `${r.env}: intact, ${r.verified} chained entries check (seq ${r.chainStart}-${r.lastSeq})${before}${gaps}`;
}

/** Checks one environment's entries, given in seq order. */
export function verifyChain(env: string, items: readonly Record<string, AttributeValue>[], ring: KeyRing): ChainReport {
  const report: ChainReport = { env, entries: items.length, unchained: 0, verified: 0, chainStart: null, gaps: [], broken: null, lastSeq: null };
  let prev: ChainLink | null = null;
  for (const item of items) {
    const seq = Number(item.seq?.N);
    report.lastSeq = seq;
    const hash = item.chainHash?.S;
    if (hash === undefined) {
      if (report.chainStart !== null) {
        report.broken = { seq, problem: `it has no hash, but the chain began at seq ${report.chainStart} (its hash was removed, or it was inserted)` };
        return report;
      }
      report.unchained++;
      prev = { seq, hash: null };
      continue;
    }
    report.chainStart ??= seq;
    const prevSeq = item.chainPrevSeq?.N !== undefined ? Number(item.chainPrevSeq.N) : null;
    let problem: string | null = null;
    if (prevSeq === null && prev !== null) problem = `it says it is the first entry, but seq ${prev.seq} comes before it (inserted?)`;
    else if (prevSeq !== null && prev === null) problem = `it follows seq ${prevSeq}, which is missing (deleted?)`;
    else if (prevSeq !== null && prev !== null && prevSeq > prev.seq) problem = `it follows seq ${prevSeq}, which is missing (deleted?)`;
    else if (prevSeq !== null && prev !== null && prevSeq < prev.seq)
      problem = `it follows seq ${prevSeq}, but seq ${prev.seq} is there in between (inserted after it was written?)`;
    if (problem === null) {
      const check = checkTag(ring, hash, PURPOSE, [...entryFields(item), prev?.seq ?? null, prev?.hash ?? null]);
      if (check === 'mismatch') problem = 'its content does not match its hash (changed after it was written)';
      else if (check === 'unknown-key')
        problem = `it was hashed with key ${hash.split(':')[0]}, which the integrity key file does not hold (retired, or forged)`;
      else if (check === 'malformed') problem = 'its hash is malformed';
    }
    if (problem !== null) {
      report.broken = { seq, problem };
      return report;
    }
    if (prevSeq !== null && prevSeq < seq - 1) report.gaps.push({ from: prevSeq + 1, to: seq - 1 });
    report.verified++;
    prev = { seq, hash };
  }
  return report;
}
