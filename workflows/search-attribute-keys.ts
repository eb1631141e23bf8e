/**
 * Typed keys of the Switchyard search attributes (names and index types from
 * search-attributes.ts), for upsertSearchAttributes in the workflow and typedSearchAttributes
 * on the client.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SearchAttributeName } from '../contract/index.js';

const name = (n: SearchAttributeName): SearchAttributeName => n;

/** Environment of the migration (Keyword). */
export const SWITCHYARD_ENV = defineSearchAttributeKey(name('SwitchyardEnv'), SearchAttributeType.KEYWORD);
/** Current stage (Keyword). */
export const SWITCHYARD_STAGE = defineSearchAttributeKey(name('SwitchyardStage'), SearchAttributeType.KEYWORD);
/** Current science or cutover percent, 0 elsewhere (Int). */
export const SWITCHYARD_RAMP_PERCENT = defineSearchAttributeKey(name('SwitchyardRampPercent'), SearchAttributeType.INT);
