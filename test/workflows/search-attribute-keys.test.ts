import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SEARCH_ATTRIBUTES } from '../../contract/index.js';
import { SWITCHYARD_ENV, SWITCHYARD_RAMP_PERCENT, SWITCHYARD_STAGE } from '../../workflows/search-attribute-keys.js';

describe('search attribute keys', () => {
  it('match the registered names and index types', () => {
    const keys = [SWITCHYARD_ENV, SWITCHYARD_STAGE, SWITCHYARD_RAMP_PERCENT];
    assert.deepEqual(
      keys.map((k) => [k.name, k.type]),
      Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [name, type.toUpperCase()]),
    );
  });
});
