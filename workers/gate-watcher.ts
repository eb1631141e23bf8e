/**
 * Tells a person when a stage's exit gate becomes met (an operator may advance). The workflow
 * records no audit entry for that, so the worker looks at each environment's state query every
 * pollMs and notifies once per stage visit (keyed on the stage and when it was entered; the same
 * id after a worker restart, so a receiver de-duplicates); with cohorts, the gate of science is
 * one cohort's at a time, so once per cohort too. Runs beside the worker, never in the workflow.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { migrationWorkflowId, type MigrationStateView } from '../contract/index.js';
import { stateQuery } from '../contract/migration-messages.js';
import { withTimeout } from '../kit/async.js';
import type { Logger } from '../kit/logger.js';
import { notificationFromGate } from '../notify/events.js';
import type { Notifier } from '../notify/notifier.js';

/** What the watcher needs. */
export interface GateWatcherOptions {
  /** Reads an env's migration state (null: no workflow). */
  readState: (env: string) => Promise<MigrationStateView | null>;
  environments: string[];
  notifier: Notifier;
  consoleUrl: string | null;
  logger?: Logger;
  now?: () => number;
}

/** One look at every environment: notifies each newly met gate. Returns the keys notified. */
export function createGateWatcher(o: GateWatcherOptions): { check(): Promise<string[]> } {
  const notified = new Set<string>();
  const now = o.now ?? Date.now;
  return {
    async check() {
      const sent: string[] = [];
      for (const env of o.environments) {
        let s: MigrationStateView | null;
        try {
          s = await o.readState(env);
        } catch (err) {
          o.logger?.debug({ action: 'gate-watch', env, err: (err as Error).message }, 'could not read the migration state');
          continue;
        }
        if (!s || s.gates.length === 0 || !s.gates.every((g) => g.passed) || s.rolledBack) continue;
        const workflowId = migrationWorkflowId(env);
        // In science with cohorts the gate is that of the cohort the next advance moves.
        const name = s.gates.length === 1 ? s.gates[0]!.evidence.cohort : undefined;
        const c = typeof name === 'string' ? s.cohorts?.find((x) => x.name === name && x.stage === s.stage) : undefined;
        const cohort = c ? { name: c.name, enteredAt: c.stageEnteredAt } : undefined;
        const key = `${workflowId}:${s.stage}:${s.stageEnteredAt}${cohort ? `:${cohort.name}:${cohort.enteredAt}` : ''}`;
        if (notified.has(key)) continue;
        notified.add(key);
        sent.push(key);
        const n = notificationFromGate(
          { env, stage: s.stage, stageEnteredAt: s.stageEnteredAt, workflowId, gate: s.gates[0]!, at: now(), ...(cohort ? { cohort } : {}) },
          o.consoleUrl,
        );
        void o.notifier.send(n);
      }
      return sent;
    },
  };
}

/** The state of env's migration workflow through a Temporal client (null: none). */
export function stateReader(client: Client): (env: string) => Promise<MigrationStateView | null> {
  return async (env) => {
    try {
      return await withTimeout(client.workflow.getHandle(migrationWorkflowId(env)).query(stateQuery), 5000, 'the state query');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  };
}

/** Runs check() every pollMs until stopped. */
export function runGateWatcher(watcher: { check(): Promise<string[]> }, pollMs: number): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void watcher.check().finally(() => (running = false));
  }, pollMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
