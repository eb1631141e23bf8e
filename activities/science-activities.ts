/**
 * The science family: readScience, the figures the gates and the automatic rollback judge (the
 * query services' science stats over a window, of an environment or of one cohort), and their
 * conversion into the contract's ScienceFigures. A read only: retrying it is always safe.
 */
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { COHORT_NAME_PATTERN, type MigrationActivities, type ScienceFigures } from '../contract/index.js';
import { finiteP99, readScienceSummary, summarizeScience, type ScienceSummary } from '../pipeline/kernel/science/science-stats-reader.js';
import { MINUTE_MS } from '../contract/index.js';
import { scienceStatsKey } from '../pipeline/kernel/science/control-tables.js';
import { activityContext } from './activity-context.js';
import type { ActivityDeps } from './activity-deps.js';
import { invalidInput } from './activity-failures.js';

/** Reported for a p99 above the largest latency bucket (JSON has no Infinity: Temporal would turn it into null, i.e. "no data"). */
export const P99_OVER_LARGEST_BUCKET_MS = Number.MAX_SAFE_INTEGER;

/** Science figures for gates and automatic rollback, from a summary of the stats tables. */
export function toScienceFigures(summary: ScienceSummary, windowMs: number): ScienceFigures {
  const p99 = (v: number | null): number | null => finiteP99(v, () => P99_OVER_LARGEST_BUCKET_MS);
  const c = summary.counters;
  return {
    windowMs,
    comparisons: c.comparisons,
    mismatches: c.mismatches,
    mismatchRate: summary.mismatchRate,
    newStoreErrorRate: summary.newStoreErrorRate,
    servedOld: c.servedOld,
    servedNew: c.servedNew,
    queries: c.queries,
    splitQueries: c.splitQueries,
    newStoreReads: summary.newStoreReads,
    unjudged: c.unjudged,
    freshSplits: c.freshSplits,
    candidateErrors: c.candidateErrors,
    candidateTimeouts: c.candidateTimeouts,
    p99OldMs: p99(summary.p99Ms.old),
    p99NewMs: p99(summary.p99Ms.new),
  };
}

/** Builds the science family on ready clients. */
export function createScienceActivities(deps: ActivityDeps) {
  const { dynamo } = deps;
  const { logFor, run, checkEnv, now } = activityContext(deps);

  return {
    /**
     * Science figures of the env over the last windowMs, or, given a cohort, of that cohort's apps
     * only (their own rows, `<env>#<cohort>`); zeros when no query service has recorded any yet.
     */
    async readScience(input: { env: string; windowMs: number; cohort?: string }): Promise<ScienceFigures> {
      const env = checkEnv(input.env);
      if (!(input.windowMs > 0)) throw invalidInput(`windowMs must be positive, got ${input.windowMs}`);
      const cohort = input.cohort;
      if (cohort !== undefined && (typeof cohort !== 'string' || !COHORT_NAME_PATTERN.test(cohort)))
        throw invalidInput(`cohort ${JSON.stringify(cohort)} must match ${COHORT_NAME_PATTERN}`);
      const log = logFor(env, 'read-science');
      return run(log, async () => {
        const at = now();
        try {
          return toScienceFigures(await readScienceSummary(dynamo, scienceStatsKey(env, cohort), input.windowMs, at), input.windowMs);
        } catch (err) {
          // No stats table yet: science mode has not recorded anything anywhere. The gates need
          // minimum sample counts, so zeros can never pass one.
          if (!(err instanceof ResourceNotFoundException)) throw err;
          const to = Math.floor(at / MINUTE_MS) * MINUTE_MS;
          return toScienceFigures(summarizeScience([], to, to), input.windowMs);
        }
      });
    },
  } satisfies Pick<MigrationActivities, 'readScience'>;
}
