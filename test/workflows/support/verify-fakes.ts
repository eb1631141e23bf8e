/**
 * In-memory fakes of the verify and repair activities for workflow tests: a plan of a fixed
 * range and series, slices that answer in chunks with given counts, a replay that counts, and a
 * recordOperation that sends the real update to the env's migration workflow (as the real
 * activity does), so the migration's audit history and latest verify are the workflow's own.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import {
  migrationWorkflowId,
  UPDATE_NAMES,
  VerifyFailureType,
  type RepairPlan,
  type ReplayChunkInput,
  type ReplayChunkResult,
  type ReplayResult,
  type VerifyActivities,
  type VerifyCounts,
  type VerifyPlan,
  type VerifySliceInput,
  type VerifySliceResult,
  type VerifySlicePosition,
} from '../../../contract/index.js';
import { MINUTE } from './test-policy.js';

export const RANGE = { fromMinute: 100 * MINUTE, toMinute: 159 * MINUTE };

export function counts(c: Partial<VerifyCounts> = {}): VerifyCounts {
  return { series: 0, oldPoints: 0, newPoints: 0, compared: 0, matched: 0, missing: 0, extra: 0, value_drift: 0, expired_returned: 0, unsettled: 0, ...c };
}

/** A slice position in a phase, at a cursor. */
export function at(phase: VerifySlicePosition['phase'], cursor: string | null, oldListed: number): VerifySlicePosition {
  return { phase, cursor, doneInPage: [], lastOfPrevPage: null, oldListed, oldSeries: 0, newSeries: 0 };
}

/** What the fake verify and repair activities did, and what they answer. */
export class FakeVerifyWorld {
  /** Per slice, the chunks it answers in order (the last one done). */
  chunks: VerifySliceResult[][] = [
    [
      {
        position: at('old', 'tok-a', 0.5),
        done: false,
        progress: 0.4,
        visited: 3,
        counts: counts({ series: 3, oldPoints: 180, newPoints: 180, compared: 180, matched: 180 }),
        samples: [],
        extraItems: [],
      },
      {
        position: at('done', null, 1),
        done: true,
        progress: 1,
        visited: 2,
        counts: counts({ series: 2, oldPoints: 120, newPoints: 120, compared: 120, matched: 120 }),
        samples: [],
        extraItems: [],
      },
    ],
    [
      {
        position: at('done', null, 1),
        done: true,
        progress: 1,
        visited: 5,
        counts: counts({ series: 5, oldPoints: 300, newPoints: 300, compared: 300, matched: 300 }),
        samples: [],
        extraItems: [],
      },
    ],
  ];
  sliceCalls: VerifySliceInput[] = [];
  records: { operation: string; event: string; workflowId: string }[] = [];
  replays = 0;
  replayCalls: ReplayChunkInput[] = [];
  /** When set, planRepair refuses with this type and message. */
  refuseRepair: { type: string; message: string } | null = null;
  /** Differences the verify run after a replay finds (value drift). */
  driftAfterRepair = 0;

  constructor(private readonly client: () => Client) {}

  activities(): VerifyActivities {
    return {
      planVerify: async ({ env, range, slices }): Promise<VerifyPlan> => ({
        env,
        range: range ?? RANGE,
        requested: range ?? null,
        horizon: RANGE.fromMinute,
        newestSettledMinute: RANGE.toMinute,
        unsettledMinutesLeftOut: 0,
        retentionMs: 7 * 1440 * MINUTE,
        tolerance: { relative: 1e-9, absolute: 0 },
        settleMs: MINUTE,
        slices,
        plannedAt: 0,
      }),
      verifySlice: async (input): Promise<VerifySliceResult> => {
        this.sliceCalls.push(input);
        const done = this.sliceCalls.filter((c) => c.workflowId === input.workflowId && c.slice === input.slice).length - 1;
        const chunk = this.chunks[input.slice]![done]!;
        if (this.replays > 0 && this.driftAfterRepair > 0 && input.slice === 0 && chunk.done)
          return { ...chunk, counts: { ...chunk.counts, value_drift: this.driftAfterRepair, matched: chunk.counts.matched - this.driftAfterRepair } };
        return chunk;
      },
      planRepair: async (input): Promise<RepairPlan> => {
        if (this.refuseRepair) throw ApplicationFailure.create({ ...this.refuseRepair, nonRetryable: true });
        return {
          env: input.env,
          requested: input.range,
          range: input.range,
          uncovered: null,
          topic: `${input.env}.metrics`,
          oldestCoveredMinute: 0,
          partitions: [{ partition: 0, start: '10', end: '610' }],
          messages: 600,
          deleteExtras: input.deleteExtras === true,
          extrasFoundBy: input.verifyWorkflowId ?? null,
          extrasFound: input.deleteExtras ? 1 : 0,
          extraItems: input.deleteExtras ? [{ app: 'a', metric: 'm', minute: input.range.fromMinute }] : [],
        };
      },
      // The replay answers in two chunks of 300 messages.
      replayIntoNewStore: async (input): Promise<ReplayChunkResult> => {
        this.replayCalls.push(input);
        const first = input.positions === null;
        if (!first) this.replays++;
        const half: ReplayResult = { read: 300, written: 300, outOfRange: 0, invalid: 0, rejected: 0, expired: 0, deleted: 0, keptExtras: 0 };
        return { positions: [{ partition: 0, start: first ? '310' : '610', end: '610' }], done: !first, counts: half, seenExtras: [] };
      },
      deleteExtraItems: async ({ plan }) => ({ deleted: plan.extraItems.length, kept: 0 }),
      recordOperation: async (input) => {
        this.records.push({ operation: input.operation, event: input.event, workflowId: input.workflowId });
        try {
          await this.client()
            .workflow.getHandle(migrationWorkflowId(input.env))
            .executeUpdate(UPDATE_NAMES.record_operation, { args: [{ ...input, requestId: `${input.workflowId}:${input.event}` }] });
        } catch (err) {
          throw ApplicationFailure.create({ type: VerifyFailureType.invalidInput, message: String(err), nonRetryable: true });
        }
      },
    };
  }
}
