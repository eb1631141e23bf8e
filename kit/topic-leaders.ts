/**
 * Waiting for a just-created Kafka topic to be usable, for everything that creates topics (the
 * pipeline's environment topics, the control channel's two).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';

/** Waits until every partition of the topics has a leader (a just-created topic may be unknown for a moment). */
export async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      if (meta.length === topics.length && meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      last = new Error(
        `topics without a leader yet: ${
          meta
            .filter((t) => t.partitions.some((p) => p.leader < 0))
            .map((t) => t.name)
            .join(', ') || topics.join(', ')
        }`,
      );
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`the new topics ${topics.join(', ')} have no leader after ${timeoutMs} ms: ${(last as Error).message}`);
    await sleep(200);
  }
}
