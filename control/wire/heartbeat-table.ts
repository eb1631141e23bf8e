/**
 * The newest heartbeat of every instance, built from heartbeat-topic records, and the liveness
 * rule everything that waits on instances uses.
 */
import type { KafkaMessage } from 'kafkajs';
import { decodeHeartbeat } from './codec.js';
import type { Heartbeat } from './schema.js';

/** An instance silent for this many of its own heartbeat intervals is no longer live. */
export const LIVENESS_INTERVALS = 3;

/**
 * Whether an instance whose newest heartbeat is `hb` is live at `now` (epoch ms): it did not say
 * goodbye (alive=false) and was heard from within LIVENESS_INTERVALS of its interval. Judged on
 * the sender's clock, so hosts' clocks must agree to well within one interval (NTP does).
 */
export function isLive(hb: Heartbeat, now: number): boolean {
  return hb.alive && hb.at >= now - LIVENESS_INTERVALS * hb.intervalMs;
}

/** Which instances to look at: one env (or all) and, optionally, some roles only. */
export interface InstanceFilter {
  env?: string;
  roles?: readonly string[];
}

/** The newest heartbeat per instance. */
export class HeartbeatTable {
  private readonly latest = new Map<string, Heartbeat>();
  private invalid = 0;

  /** Takes heartbeat-topic records in topic order; invalid ones are counted and skipped, tombstones forget the instance. */
  addMessages(messages: readonly KafkaMessage[]): void {
    for (const m of messages) {
      const key = m.key?.toString('utf8');
      if (m.value === null) {
        if (key !== undefined) this.latest.delete(key);
        continue;
      }
      const decoded = decodeHeartbeat(m.value);
      // A heartbeat filed under another instance's key would be compacted away wrongly: not trusted.
      if (!decoded.ok || decoded.value.instanceId !== key) {
        this.invalid++;
        continue;
      }
      this.add(decoded.value);
    }
  }

  /** Keeps hb if it is the instance's newest (by send time; a tie goes to the later record). */
  add(hb: Heartbeat): void {
    const prev = this.latest.get(hb.instanceId);
    if (!prev || hb.at >= prev.at) this.latest.set(hb.instanceId, hb);
  }

  /** How many records were not valid heartbeats. */
  invalidCount(): number {
    return this.invalid;
  }

  /** The newest heartbeat of every live instance matching the filter, by instance id. */
  live(now: number, filter: InstanceFilter = {}): Heartbeat[] {
    return [...this.latest.values()]
      .filter((hb) => (filter.env === undefined || hb.env === filter.env) && (filter.roles === undefined || filter.roles.includes(hb.role)) && isLive(hb, now))
      .sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }
}
