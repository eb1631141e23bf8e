import { humanizeTimes, Stage, STAGES, type AuditEntry, type CohortState, type MigrationStateView } from '../../contract/index.js';
import { readsAfterRollback } from '../../notify/events.js';

// The environment's status in plain words: where reads and writes go right now, and, after
// completion, what happened when. Pure functions of the state query and the audit entries.

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/** Where one cohort's reads go, in a few words. */
function cohortReads(c: CohortState): string {
  const held = c.rolledBack ? ', rolled back' : c.paused ? ', paused' : '';
  if (c.stage === Stage.cutover) return `${c.name} ${c.ramp} % DynamoDB${held}`;
  return c.ramp === 0 ? `${c.name} Cassandra, not compared yet${held}` : `${c.name} Cassandra, ${c.ramp} % compared${held}`;
}

/** Where reads and writes go, as the stage table (control/model.ts) publishes them (per cohort, with cohorts). */
export function routingWords(s: MigrationStateView): { reads: string; writes: string; rollback: string | null } {
  const both = 'both stores (Cassandra and DynamoDB)';
  let reads: string;
  let writes = both;
  switch (s.stage) {
    case Stage.planned:
      reads = '100 % Cassandra';
      writes = 'Cassandra only';
      break;
    case Stage.dualWrite:
      reads = '100 % Cassandra (DynamoDB is filled but not read)';
      break;
    case Stage.science:
      reads =
        s.ramp === 0
          ? '100 % Cassandra; no shadow reads of DynamoDB'
          : `100 % served by Cassandra; ${s.ramp} % of reads also read from DynamoDB in the shadow and compared`;
      break;
    case Stage.cutover:
      reads =
        s.ramp === 0 ? '100 % Cassandra (every read still compared with DynamoDB)' : `${s.ramp} % DynamoDB, ${100 - s.ramp} % Cassandra (every read compared)`;
      break;
    case Stage.ttlWait:
      reads = '100 % DynamoDB (Cassandra still written, so a rollback stays possible)';
      break;
    case Stage.decommission:
      reads = '100 % DynamoDB';
      writes = s.pendingApproval ? both : 'DynamoDB only (the old store is being dropped)';
      break;
    case Stage.complete:
      reads = '100 % DynamoDB';
      writes = 'DynamoDB only';
      break;
  }
  // With cohorts, science and cutover are each cohort's own: say where each one's reads go.
  if (s.cohorts && (s.stage === Stage.science || s.stage === Stage.cutover)) reads = `by cohort: ${s.cohorts.map(cohortReads).join('; ')}`;
  // The first words of what the notification says too ("reads back on Cassandra ..."), without its parenthesis.
  const back = readsAfterRollback(s.stage).split(/[;(]/)[0]!.trim();
  const rollback = s.rolledBack ? `${back}: rolled back automatically at ${hhmm(s.rolledBack.at)} UTC because ${humanizeTimes(s.rolledBack.reason)}` : null;
  return { reads, writes, rollback };
}

/** One stage's visit: when it began and ended (null: still in it). */
export interface StageSpan {
  stage: string;
  from: number;
  to: number | null;
}

/** The stage spans the audit entries show (oldest first), ending with the current stage. */
export function stageSpans(entries: AuditEntry[], current: { stage: string; stageEnteredAt: number } | null): StageSpan[] {
  const moves = entries.filter((e) => e.from !== e.to && (STAGES as readonly string[]).includes(e.to)).sort((a, b) => a.at - b.at || a.seq - b.seq);
  const spans: StageSpan[] = [];
  for (const m of moves) {
    const last = spans.at(-1);
    if (last) last.to = m.at;
    else spans.push({ stage: m.from, from: 0, to: m.at });
    spans.push({ stage: m.to, from: m.at, to: null });
  }
  if (spans.length === 0 && current) spans.push({ stage: current.stage, from: current.stageEnteredAt, to: null });
  return spans.filter((sp) => sp.from > 0);
}

/** What a completed migration's summary shows. */
export interface MigrationSummary {
  spans: StageSpan[];
  rollbacks: { at: number; actor: string; stage: string; reason: string }[];
  approvedBy: string | null;
  requestedBy: string | null;
  completedAt: number | null;
}

/** The summary of a migration from its audit entries (newest first or not). */
export function migrationSummary(entries: AuditEntry[]): MigrationSummary {
  const sorted = [...entries].sort((a, b) => a.at - b.at || a.seq - b.seq);
  const spans = stageSpans(sorted, null);
  return {
    spans,
    rollbacks: sorted
      .filter((e) => e.action === 'rollback' || e.action === 'automatic_rollback')
      .map((e) => ({ at: e.at, actor: e.actor, stage: e.from, reason: e.reason })),
    approvedBy: sorted.findLast((e) => e.action === 'approve_decommission')?.actor ?? null,
    requestedBy: sorted.findLast((e) => e.action === 'advance' && e.to === Stage.decommission)?.actor ?? null,
    completedAt: sorted.findLast((e) => e.to === Stage.complete && e.from !== Stage.complete)?.at ?? null,
  };
}

/** What instanceWords needs of a live instance and of the control state. */
interface InstanceLike {
  role: string;
  appliedVersion: number;
  current: boolean;
}

/**
 * The live data-plane instances in words, each with the control-state version it applies; a
 * writer whose store the control state no longer writes (or does not write yet) is called idle,
 * so a finished migration does not list the Cassandra writer as if it still wrote.
 */
export function instanceWords(instances: readonly InstanceLike[], control: { oldWriter: boolean; newWriter: boolean } | undefined): string {
  if (instances.length === 0) return 'none live';
  const idle = (role: string): string | null => {
    if (!control) return null;
    if (role === 'writer-cassandra' && !control.oldWriter) return 'idle: Cassandra is not written';
    if (role === 'writer-dynamodb' && !control.newWriter) return 'idle: DynamoDB is not written yet';
    return null;
  };
  const byRole = new Map<string, InstanceLike[]>();
  for (const i of instances) byRole.set(i.role, [...(byRole.get(i.role) ?? []), i]);
  return [...byRole.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([role, list]) => {
      const versions = [...new Set(list.map((i) => i.appliedVersion))].sort((a, b) => b - a).map((v) => `v${v}`);
      const behind = list.filter((i) => !i.current).length;
      const notes = [idle(role), behind > 0 ? `${behind} behind` : null].filter((x): x is string => x !== null);
      return `${list.length > 1 ? `${list.length}× ` : ''}${role} ${versions.join('/')}${notes.length ? ` (${notes.join('; ')})` : ''}`;
    })
    .join(', ');
}
