import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { chainAttributes, describeChain, linkOf, verifyChain } from '../../../audit/audit-chain.js';
import { auditItem } from '../../../audit/audit-log.js';
import type { AuditEntry } from '../../../contract/index.js';
import { testKeyRing } from '../../support/integrity.js';

const keys = testKeyRing('k1');

const entry = (seq: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  env: 'production',
  seq,
  at: 1_800_000_000_000 + seq * 1000,
  actor: 'olivia',
  action: 'set_ramp',
  from: 'science',
  to: 'science',
  reason: `ramp step ${seq}`,
  evidence: { percent: seq },
  workflowId: 'switchyard-migration-production',
  runId: 'run-1',
  controlVersion: seq,
  ...over,
});

/** Items as appendAuditEntry stores them: each chained to the one before (the first `unchained` without a hash). */
function log(seqs: number[], unchained = 0): Record<string, AttributeValue>[] {
  const out: Record<string, AttributeValue>[] = [];
  for (const [i, seq] of seqs.entries()) {
    const item = auditItem(entry(seq));
    const prev = out.at(-1);
    out.push(i < unchained ? item : { ...item, ...chainAttributes(keys, item, prev ? linkOf(prev) : null) });
  }
  return out;
}

describe('audit chain', () => {
  it('checks an intact chain, and says so in words', () => {
    const r = verifyChain('production', log([1, 2, 3, 4]), keys);
    assert.deepEqual(r, { env: 'production', entries: 4, unchained: 0, verified: 4, chainStart: 1, gaps: [], broken: null, lastSeq: 4 });
    assert.equal(describeChain(r), 'production: intact, 4 chained entries check (seq 1-4)');
    assert.equal(describeChain(verifyChain('staging', [], keys)), 'staging: no audit entries');
  });

  it('finds an entry changed after it was written', () => {
    const items = log([1, 2, 3, 4]);
    items[2] = { ...items[2]!, reason: { S: 'nothing to see here' } };
    const r = verifyChain('production', items, keys);
    assert.deepEqual(r.broken, { seq: 3, problem: 'its content does not match its hash (changed after it was written)' });
    assert.equal(r.verified, 2);
    assert.match(describeChain(r), /^production: BROKEN at seq 3: its content does not match its hash/);
  });

  it('finds a deleted entry, an inserted one, and a hash made without the key', () => {
    const deleted = log([1, 2, 3, 4]).filter((i) => i.seq?.N !== '2');
    assert.deepEqual(verifyChain('production', deleted, keys).broken, { seq: 3, problem: 'it follows seq 2, which is missing (deleted?)' });
    const newest = log([1, 2, 3]);
    assert.deepEqual(verifyChain('production', newest.slice(1), keys).broken?.seq, 2, 'the first entry deleted');

    // An entry slipped in between, hashed with a key of the attacker's own.
    const items = log([1, 2, 4]);
    const other = testKeyRing('k1');
    const forged = auditItem(entry(3, { actor: 'alma', action: 'approve_decommission' }));
    const withForged = [items[0]!, items[1]!, { ...forged, ...chainAttributes(other, forged, linkOf(items[1]!)) }, items[2]!];
    assert.deepEqual(verifyChain('production', withForged, keys).broken, {
      seq: 3,
      problem: 'its content does not match its hash (changed after it was written)',
    });
    const stranger = testKeyRing('k9');
    const unknown = [items[0]!, { ...items[1]!, ...chainAttributes(stranger, items[1]!, linkOf(items[0]!)) }];
    assert.match(verifyChain('production', unknown, keys).broken?.problem ?? '', /hashed with key k9, which the integrity key file does not hold/);
    // A hash removed from an entry after the chain began.
    const stripped = log([1, 2, 3]);
    delete stripped[1]!.chainHash;
    assert.match(verifyChain('production', stripped, keys).broken?.problem ?? '', /no hash, but the chain began at seq 1/);
  });

  it('reports entries from before chaining as unchained and never-written seqs as gaps, not as broken', () => {
    const r = verifyChain('production', log([1, 2, 3, 5, 6, 9], 2), keys);
    assert.equal(r.broken, null);
    assert.deepEqual([r.unchained, r.verified, r.chainStart], [2, 4, 3]);
    assert.deepEqual(r.gaps, [
      { from: 4, to: 4 },
      { from: 7, to: 8 },
    ]);
    assert.equal(
      describeChain(r),
      'production: intact, 4 chained entries check (seq 3-9); 2 older entries from before chaining (unchained); never written: seq 4, 7-8',
    );
    assert.equal(describeChain(verifyChain('production', log([1, 2], 2), keys)), 'production: 2 entries, none chained (all written before chaining)');
  });

  it('checks hashes made with an older key of the ring after a rotation', () => {
    const before = testKeyRing('k1');
    const items = [auditItem(entry(1))];
    items[0] = { ...items[0]!, ...chainAttributes(before, items[0]!, null) };
    const rotated = { current: { ...before.current, id: 'k2', secret: Buffer.alloc(32, 7) }, keys: new Map(before.keys) };
    rotated.keys.set('k2', rotated.current);
    const second = auditItem(entry(2));
    items.push({ ...second, ...chainAttributes(rotated, second, linkOf(items[0]!)) });
    assert.match(items[1]!.chainHash?.S ?? '', /^k2:/);
    assert.equal(verifyChain('production', items, rotated).broken, null);
  });
});
