/**
 * Which events need a person, in words: a notification from an audit entry (automatic rollback,
 * stage entered, a cohort moved to cutover, approval requested, migration complete) or from a newly
 * met exit gate. With cohorts, each names the cohort it is about. Pure functions; the notifier
 * posts what these return.
 */
import {
  AuditAction,
  AUTOMATIC_ACTOR,
  formatCount,
  formatDurationWords,
  formatPercent,
  formatUtc,
  gateDetailWords,
  humanizeTimes,
  NotificationKind,
  Stage,
  type AuditEntry,
  type GateStatus,
  type NotificationPayload,
} from '../contract/index.js';

/** Where reads are served from after an automatic rollback, in the words the console uses too. */
export function readsAfterRollback(stage: string): string {
  if (stage === Stage.cutover) return 'reads back on Cassandra (the old store serves 100% of reads); both stores are still written';
  if (stage === Stage.science) return 'shadow reads of DynamoDB stopped; Cassandra serves every read; both stores are still written';
  return 'exposure to the new store back to 0%';
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A rollback's figures in the units the console uses: percents with their sample, the window in words. */
function rollbackFigures(ev: Record<string, unknown>): string {
  const comparisons = num(ev.comparisons);
  const mismatchRate = num(ev.mismatchRate);
  if (comparisons === null || mismatchRate === null) return '';
  const parts = [
    `mismatch rate ${formatPercent(mismatchRate)} of ${formatCount(comparisons)} comparisons (${formatCount(num(ev.mismatches) ?? 0)} mismatches; rollback above ${formatPercent(num(ev.rollbackMismatchRate) ?? 0)})`,
  ];
  const errorRate = num(ev.newStoreErrorRate);
  if (errorRate !== null) parts.push(`new-store error rate ${formatPercent(errorRate)} (rollback above ${formatPercent(num(ev.rollbackErrorRate) ?? 0)})`);
  const windowMs = num(ev.windowMs);
  return ` Figures${windowMs !== null ? ` over the last ${formatDurationWords(windowMs)}` : ''}: ${parts.join('; ')}.`;
}
/** Where a cohort's reads are served from after its automatic rollback. */
function cohortReadsAfterRollback(cohort: string, stage: string): string {
  if (stage === Stage.cutover)
    return `reads of cohort ${cohort}'s apps back on Cassandra; the other cohorts stay where they were; both stores are still written`;
  return `shadow reads of cohort ${cohort}'s apps stopped; the other cohorts stay where they were; both stores are still written`;
}

/** The notification of an audit entry, or null when the entry needs nobody. */
export function notificationFromAudit(e: AuditEntry, consoleUrl: string | null): NotificationPayload | null {
  const base = {
    schema: 'switchyard.notification/v1' as const,
    id: `${e.workflowId}:${e.seq}`,
    env: e.env,
    at: e.at,
    time: new Date(e.at).toISOString(),
    stage: e.to,
    fromStage: e.from,
    actor: e.actor,
    reason: e.reason,
    evidence: e.evidence,
    workflowId: e.workflowId,
    consoleUrl: consoleUrl ? `${consoleUrl}/envs/${encodeURIComponent(e.env)}` : null,
  };
  const cohort = typeof e.evidence.cohort === 'string' ? e.evidence.cohort : null;
  if (e.action === 'automatic_rollback' && cohort !== null) {
    const ev = e.evidence;
    const now = cohortReadsAfterRollback(cohort, e.to);
    return {
      ...base,
      kind: NotificationKind.automaticRollback,
      title: `${e.env}: automatic rollback of cohort ${cohort} in ${e.to} at ${num(ev.ramp) ?? '?'}%: ${now.split(';')[0]}`,
      text: `The ${e.env} migration rolled cohort ${cohort} back by itself in ${e.to} at ${formatUtc(e.at)} (${e.from === e.to ? 'its own comparisons failed' : `from ${e.from}`}): ${humanizeTimes(e.reason)}. Now: ${now}; the cohort's ramping is paused.${rollbackFigures(ev)} Fix the cause, then resume the cohort in the console.`,
    };
  }
  if (e.action === 'automatic_rollback') {
    const ev = e.evidence;
    return {
      ...base,
      kind: NotificationKind.automaticRollback,
      title: `${e.env}: automatic rollback in ${e.to} at ${num(ev.ramp) ?? '?'}%: ${readsAfterRollback(e.to).split(';')[0]}`,
      text: `The ${e.env} migration rolled itself back in ${e.to} at ${formatUtc(e.at)}: ${humanizeTimes(e.reason)}. Now: ${readsAfterRollback(e.to)}; ramping is paused.${rollbackFigures(ev)} Fix the cause, then resume in the console.`,
    };
  }
  if (e.action === AuditAction.writerOutage) {
    return {
      ...base,
      kind: NotificationKind.writerOutage,
      title: `${e.env}: a writer is down or far behind (${e.to})`,
      text: `${e.reason}. Reads are not affected: cutover serves the new store only up to what its writer has written, and nothing rolls back on a lagging writer. Automatic ramping holds until it catches up.`,
    };
  }
  if (e.action === AuditAction.advance && cohort !== null && e.from === e.to) {
    return {
      ...base,
      kind: NotificationKind.stageEntered,
      title: `${e.env}: cohort ${cohort} ${String(e.evidence.cohortFrom ?? e.from)} → ${String(e.evidence.cohortTo ?? e.to)}`,
      text: `Cohort ${cohort} of the ${e.env} migration entered ${String(e.evidence.cohortTo ?? e.to)} (by ${e.actor}: ${e.reason}); the environment stays in ${e.to} until its last cohort follows.`,
    };
  }
  if (e.from === e.to) return null;
  if (e.to === Stage.complete) {
    return {
      ...base,
      kind: NotificationKind.migrationComplete,
      title: `${e.env}: migration complete`,
      text: `The ${e.env} migration is complete: DynamoDB serves every read and takes every write; the old store was ${e.evidence.dropped === false ? 'kept' : 'decommissioned'}.`,
    };
  }
  if (e.to === Stage.decommission) {
    return {
      ...base,
      kind: NotificationKind.approvalRequested,
      title: `${e.env}: decommission waits for approval`,
      text: `${e.actor} asked to decommission the old store of ${e.env} (${e.reason}). An approver other than ${e.actor} must approve it in the console.`,
    };
  }
  const who = e.actor === AUTOMATIC_ACTOR ? 'the workflow' : e.actor;
  return {
    ...base,
    kind: NotificationKind.stageEntered,
    title: `${e.env}: ${e.from} → ${e.to}`,
    text: `The ${e.env} migration entered ${e.to} (from ${e.from}, by ${who}: ${humanizeTimes(e.reason)})${cohort !== null ? `; cohort ${cohort} ${e.action === AuditAction.automaticRollback ? 'was rolled back' : 'moved with it'}` : ''}.`,
  };
}

/**
 * The notification of a newly met exit gate. `stageEnteredAt` keys it: one per gate per stage
 * visit; a cohort's gate (science -> cutover of one cohort) also by the cohort and when it entered
 * science.
 */
export function notificationFromGate(
  o: {
    env: string;
    stage: string;
    stageEnteredAt: number;
    workflowId: string;
    gate: GateStatus;
    at: number;
    cohort?: { name: string; enteredAt: number };
  },
  consoleUrl: string | null,
): NotificationPayload {
  const c = o.cohort;
  return {
    schema: 'switchyard.notification/v1',
    id: `${o.workflowId}:gate:${o.stage}:${o.stageEnteredAt}${c ? `:cohort:${c.name}:${c.enteredAt}` : ''}`,
    kind: NotificationKind.gateMet,
    env: o.env,
    at: o.at,
    time: new Date(o.at).toISOString(),
    title: c ? `${o.env}: gate ${o.gate.name} met: an operator may move cohort ${c.name} on` : `${o.env}: gate ${o.gate.name} met: an operator may advance`,
    text: c
      ? `The gate of cohort ${c.name} in ${o.stage} (${o.gate.name}) is met: ${gateDetailWords(o.gate)}. An operator may move cohort ${c.name} on (advance ${o.env}) in the console.`
      : `The exit gate of ${o.stage} (${o.gate.name}) is met: ${gateDetailWords(o.gate)}. An operator may advance ${o.env} in the console.`,
    stage: o.stage,
    fromStage: o.stage,
    actor: AUTOMATIC_ACTOR,
    reason: o.gate.detail,
    evidence: o.gate.evidence,
    workflowId: o.workflowId,
    consoleUrl: consoleUrl ? `${consoleUrl}/envs/${encodeURIComponent(o.env)}` : null,
  };
}

/** The console's test notification. */
export function testNotification(env: string, identity: string, at: number, consoleUrl: string | null): NotificationPayload {
  return {
    schema: 'switchyard.notification/v1',
    id: `test:${env}:${at}`,
    kind: NotificationKind.test,
    env,
    at,
    time: new Date(at).toISOString(),
    title: `${env}: test notification from ${identity}`,
    text: `${identity} sent this from the Switchyard console to check the ${env} route. Nothing happened to the migration.`,
    stage: '',
    fromStage: '',
    actor: identity,
    reason: 'send test notification',
    evidence: {},
    workflowId: '',
    consoleUrl: consoleUrl ? `${consoleUrl}/envs/${encodeURIComponent(env)}` : null,
  };
}
