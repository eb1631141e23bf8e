/**
 * How far behind a consumer group is, in time as well as in messages: the age of the oldest
 * record it has not consumed (committed) yet. "The DynamoDB writer is behind by 34 s" is what an
 * operator can act on; "1 200 messages" is not.
 *
 * From one snapshot of the topic's end offsets and the group's committed offsets: partitions the
 * group has caught up on are 0 s behind. For the others, the record at the group's position is
 * found by time with ListOffsets (the earliest offset whose timestamp is at or after t, which
 * Kafka answers from its time index): the largest t at which every lagging partition's answer is
 * at or before the group's position is the timestamp of the oldest unconsumed record. Found by
 * doubling back from now, then bisecting, to `resolutionMs`; a few ListOffsets round trips.
 * Record timestamps are the producer's clock (the aggregator's), so the figure is as good as the
 * hosts' clock sync: right for a console and a ramp hold, never used to judge data.
 */
import type { Admin } from 'kafkajs';
import { groupPosition } from './consumer-lag.js';

/** How far behind one group is on one topic. */
export interface GroupLag {
  /** Records not yet committed, summed over partitions. */
  messages: number;
  /** Age of the oldest record not yet committed, ms (0 when caught up). */
  behindMs: number;
  /** Partitions the group has not caught up on. */
  laggingPartitions: number;
}

/** Options of measureGroupLag. */
export interface GroupLagOptions {
  now?: number;
  /** Precision of behindMs (default 250 ms). */
  resolutionMs?: number;
  /** Longest lag looked for (default 7 days): a group further behind is reported as this. */
  maxMs?: number;
}

/** The group's lag on the topic, in messages and in time. */
export async function measureGroupLag(admin: Admin, topic: string, groupId: string, o: GroupLagOptions = {}): Promise<GroupLag> {
  const now = o.now ?? Date.now();
  const resolution = o.resolutionMs ?? 250;
  const maxMs = o.maxMs ?? 7 * 86_400_000;
  // A topic that does not exist yet (an environment whose pipeline never ran) would have the
  // client retry its metadata for tens of seconds on every call below: say so at once instead.
  if (!(await admin.listTopics()).includes(topic)) throw new Error(`topic ${topic} does not exist (no pipeline has run for it)`);
  const [ends, fetched] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committed = new Map<number, number>();
  for (const t of fetched) if (t.topic === topic) for (const p of t.partitions) committed.set(p.partition, Number(p.offset));
  const lagging = new Map<number, number>(); // partition -> position
  let messages = 0;
  for (const e of ends) {
    const position = groupPosition(committed.get(e.partition) ?? -1, Number(e.low));
    const lag = Math.max(0, Number(e.high) - position);
    messages += lag;
    if (lag > 0) lagging.set(e.partition, position);
  }
  if (lagging.size === 0) return { messages: 0, behindMs: 0, laggingPartitions: 0 };
  // written(t): every record with a timestamp before t is at an offset below the group's position.
  const written = async (t: number): Promise<boolean> => {
    const at = await admin.fetchTopicOffsetsByTimestamp(topic, t);
    return at.every((p) => !lagging.has(p.partition) || Number(p.offset) <= lagging.get(p.partition)!);
  };
  // Doubling back from now until written(t) holds, then bisect between it and the last that did not.
  let notYet = now;
  let back = resolution;
  let yes = now - back;
  while (!(await written(yes))) {
    notYet = yes;
    if (back >= maxMs) return { messages, behindMs: maxMs, laggingPartitions: lagging.size };
    back = Math.min(maxMs, back * 2);
    yes = now - back;
  }
  while (notYet - yes > resolution) {
    const mid = Math.floor((yes + notYet) / 2);
    if (await written(mid)) yes = mid;
    else notYet = mid;
  }
  return { messages, behindMs: Math.max(0, now - yes), laggingPartitions: lagging.size };
}
