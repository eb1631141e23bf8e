/**
 * The audit family: appendAudit (writes an entry of the environment's audit log, chained by keyed
 * hash, and hands it to the notifier when it needs a person) and lastAuditSeq (where a fresh run
 * of the workflow numbers from). An entry is keyed on (env, seq) and its chain hash is a function
 * of the entry and the one before it, so a retried append writes nothing new; a retried
 * notification carries the same id, for receivers to de-duplicate.
 */
import type { AuditEntry, MigrationActivities } from '../contract/index.js';
import { appendAuditEntry, ensureAuditTable, readAudit } from '../audit/audit-log.js';
import { notificationFromAudit } from '../notify/events.js';
import { activityContext } from './activity-context.js';
import type { ActivityDeps } from './activity-deps.js';

/** Builds the audit family on ready clients. */
export function createAuditActivities(deps: ActivityDeps) {
  const { dynamo } = deps;
  const { logFor, run, checkEnv } = activityContext(deps);

  // The audit table is created once per process, on first use; a failed attempt is tried again next time.
  let auditTableReady: Promise<void> | undefined;
  const ensureAuditTableOnce = (): Promise<void> =>
    (auditTableReady ??= ensureAuditTable(dynamo).catch((err: unknown) => {
      auditTableReady = undefined;
      throw err;
    }));

  return {
    /** Appends an audit entry; a repeat of the same (env, seq) by the same workflow and action is a no-op, a different entry on that seq a non-retryable failure. */
    async appendAudit(entry: AuditEntry): Promise<void> {
      const env = checkEnv(entry.env);
      const log = logFor(env, 'append-audit');
      await run(log, async () => {
        await ensureAuditTableOnce();
        const { written } = await appendAuditEntry(dynamo, entry, deps.integrityKeys());
        log.info(
          { seq: entry.seq, auditAction: entry.action, from: entry.from, to: entry.to, actor: entry.actor, written },
          written ? 'audit entry written' : 'audit entry already written',
        );
        // Notify in the background, so a slow webhook never holds the transition (the notifier
        // retries on its own and never throws). A retried activity notifies again with the same
        // id (workflow id + seq): at least once, and receivers de-duplicate on the id.
        const notifier = deps.notifier;
        const notification = notifier ? notificationFromAudit(entry, deps.consoleUrl ?? null) : null;
        if (notifier && notification) void notifier.send(notification);
      });
    },

    /**
     * The highest audit seq of the env, 0 when it has none (a missing table reads as an empty
     * log). A fresh run of the env's workflow (e.g. one started again after a termination)
     * numbers its entries and transition ids after it instead of from 1.
     */
    async lastAuditSeq(input: { env: string }): Promise<{ seq: number }> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'last-audit-seq');
      return run(log, async () => {
        const [newest] = await readAudit(dynamo, { env, newestFirst: true, limit: 1 });
        const seq = newest?.seq ?? 0;
        log.info({ seq }, 'last audit seq');
        return { seq };
      });
    },
  } satisfies Pick<MigrationActivities, 'appendAudit' | 'lastAuditSeq'>;
}
