/**
 * Typed keys of the Switchyard search attributes (names and index types from contract/names.ts),
 * for upsertSearchAttributes in the workflow and typedSearchAttributes on the client.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES, SearchAttribute, type SearchAttributeName } from '../contract/index.js';

/** The Temporal index type of each of the contract's index type names. */
const INDEX_TYPES = { Keyword: SearchAttributeType.KEYWORD, Int: SearchAttributeType.INT } as const;

/** The typed key of one search attribute, with the index type the contract gives it. */
function key<N extends SearchAttributeName>(name: N) {
  return defineSearchAttributeKey(name, INDEX_TYPES[SEARCH_ATTRIBUTES[name]] as (typeof INDEX_TYPES)[(typeof SEARCH_ATTRIBUTES)[N]]);
}

/** Environment of the migration (Keyword). */
export const SWITCHYARD_ENV = key(SearchAttribute.env);
/** Current stage (Keyword). */
export const SWITCHYARD_STAGE = key(SearchAttribute.stage);
/** Current science or cutover percent, 0 elsewhere (Int). */
export const SWITCHYARD_RAMP_PERCENT = key(SearchAttribute.rampPercent);
