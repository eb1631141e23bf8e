/**
 * The control family: publishControl, the one activity that changes what the data plane does. It
 * publishes the environment's next control-state version and waits until every live data-plane
 * instance applies it. Idempotent per transition id: a control state carries the transition that
 * published it, so a retried attempt publishes nothing and only waits again (control-transition.ts
 * derives the next state).
 */
import type { MigrationActivities, PublishControlInput, PublishControlResult } from '../contract/index.js';
import { publishAndAwait, readLatestControlState, watchAcknowledgements } from '../control/publisher.js';
import type { ControlState, Heartbeat } from '../control/index.js';
import { activityContext } from './activity-context.js';
import type { ActivityDeps } from './activity-deps.js';
import { invalidInput } from './activity-failures.js';
import { alreadyPublished, baseControlState, nextControlState } from '../control/publisher.js';

/** The instance ids of heartbeats, sorted. */
const ids = (hbs: Heartbeat[]): string[] => hbs.map((h) => h.instanceId).sort();

/** Builds the control family on ready clients. */
export function createControlActivities(deps: ActivityDeps) {
  const { kafka, producer } = deps;
  const { logFor, activityQueuedMs, run, checkEnv, readTimeoutMs, now } = activityContext(deps);

  return {
    /**
     * Publishes the newest control state with the patch applied, as version latest + 1, and waits
     * until every live data-plane instance of the env applies it. Idempotent per transitionId:
     * when the newest state on the topic already carries this transition (an earlier attempt
     * published it), nothing is published again; the call only waits for its acknowledgement
     * and returns published=false.
     *
     * Not every instance acknowledging in time fails with a *retryable* ApplicationFailure
     * (type AcknowledgementTimeout) naming the laggards: they may catch up, or die and stop
     * counting, before the next attempt, which will then only wait. The workflow's retry policy
     * (maximumAttempts / scheduleToCloseTimeout) bounds how long. Note that once published, a
     * version stays published: if the workflow gives up, the data plane still converges on it.
     */
    async publishControl(input: PublishControlInput): Promise<PublishControlResult> {
      const env = checkEnv(input.env);
      const log = logFor(env, 'publish-control');
      if (typeof input.transitionId !== 'string' || input.transitionId.length === 0) throw invalidInput('transitionId must be a non-empty string');
      if (!(input.ackTimeoutMs > 0)) throw invalidInput(`ackTimeoutMs must be positive, got ${input.ackTimeoutMs}`);
      return run(log, async () => {
        const startedAt = Date.now();
        // Waiting in the task queue under load is part of how long a rollback takes: say how long.
        const queuedMs = activityQueuedMs(startedAt);
        // The heartbeat reader joins its group while the latest state is read: one join, not two, before the publish.
        const watch = watchAcknowledgements(kafka, { env, logger: log });
        try {
          const latest = await readLatestControlState(kafka, env, readTimeoutMs, { logger: log });
          const readLatestMs = Date.now() - startedAt;
          if (alreadyPublished(latest, input.transitionId)) {
            log.info(
              { version: latest.version, transitionId: input.transitionId },
              'transition already published by an earlier attempt; waiting for acknowledgement only',
            );
            const acknowledged = await watch.until(latest.version, input.ackTimeoutMs);
            return { version: latest.version, acknowledged: ids(acknowledged), acknowledgedAt: now(), published: false };
          }
          const next: ControlState = nextControlState(baseControlState(latest, input), input, new Date(now()));
          const res = await publishAndAwait({ kafka, producer }, next, { timeoutMs: input.ackTimeoutMs, logger: log, watch });
          log.info(
            {
              version: next.version,
              transitionId: input.transitionId,
              acknowledged: ids(res.acknowledged),
              elapsedMs: res.elapsedMs,
              readLatestMs,
              ...(queuedMs === undefined ? {} : { queuedMs }),
              reason: input.reason,
            },
            'published control state',
          );
          return { version: next.version, acknowledged: ids(res.acknowledged), acknowledgedAt: now(), published: true };
        } finally {
          await watch.stop();
        }
      });
    },
  } satisfies Pick<MigrationActivities, 'publishControl'>;
}
